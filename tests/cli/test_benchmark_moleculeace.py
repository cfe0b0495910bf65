"""`chemtl benchmark moleculeace`: the quick smoke run end to end (chemtl, RF-ECFP, SVM-ECFP on one
set's shipped split, cliff RMSE), reuse of finished runs, MoleculeACE's own hyperparameters, the
published table, and one-line errors for bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("moleculeace", benchmarks_dir())


def test_quick_moleculeace_run_writes_result_and_reuses_runs(chemtl, tiny_smiles_model, tmp_path, bench):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "moleculeace", "--quick", "--model", tiny_smiles_model, "--cliff-check", "on",
        "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    result_path = results / "moleculeace.quick.json"
    assert out.splitlines() == [f"result: {result_path}", f"docs: {docs}"]

    r = json.loads(result_path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "machine", "versions", "git_commit", "peer_versions"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "moleculeace" and r["quick"] is True and r["seed"] == [0]
    assert r["peer_versions"]["MoleculeACE"] == "3.0.0"
    data = r["data"]
    assert data["full_protocol"] is False and data["size_cap"] == 100 and data["rf_trees"] == 20
    info = data["sets"]["CHEMBL4616_EC50"]
    assert (info["rows"], info["rows_used"], info["cliff_molecules"]) == (682, 100, 59)
    # the shipped cliff labels, recomputed on the whole set with chemtl.evaluate.cliffs
    assert info["cliff_labels_differing"] == 0
    assert (
        "Cliff labels recomputed with chemtl.evaluate.cliffs on every set: 682 of 682 molecules agree "
        "with the shipped cliff_mol column." in r["notes"]
    )
    assert info["moleculeace_params"] == {
        "RF_ECFP": {"n_estimators": 20},  # MoleculeACE's 500, replaced by the quick run's --rf-trees
        "SVM_ECFP": {"C": 10, "epsilon": 0.1, "gamma": 0.01, "kernel": "rbf"},
    }
    [run] = data["runs"]
    # the shipped train/test sides; chemtl's validation rows are 10% of the training rows
    assert run["sizes"] == {"train": 75, "val": 8, "test": 17} and run["test_cliffs"] == 11
    assert list(run["methods"]) == ["chemtl", "rf", "svm", "blend"]
    c, rf, svm, bl = (run["methods"][m] for m in ("chemtl", "rf", "svm", "blend"))
    assert (c["n_train"], c["n_val"], c["n_test"], c["epochs_run"], c["reused"]) == (75, 8, 17, 2, False)
    assert c["rmse"] > 0 and c["cliff_rmse"] > 0
    assert (rf["n_train"], rf["n_test"], svm["n_train"], svm["n_test"]) == (83, 17, 83, 17)
    # fixed rows, seeded forest, deterministic SVR: the same numbers every run
    assert round(rf["rmse"], 6) == 0.650457 and round(rf["cliff_rmse"], 6) == 0.700848
    assert round(svm["rmse"], 6) == 0.702122 and round(svm["cliff_rmse"], 6) == 0.705641
    assert data["means"]["rf"] == data["summary"]["CHEMBL4616_EC50"]["rf"]
    assert data["published_means_same_sets"]["svm"] == {"rmse": 0.635267778, "cliff_rmse": 0.692430037}
    # the blend: an SVR on chemtl's 75 training rows only, the weight chosen on its 8 validation rows
    assert (bl["n_train"], bl["n_val"], bl["n_test"]) == (75, 8, 17)
    assert round(bl["svm_train_rows_rmse"], 6) == 0.707749 and bl["weight"] in [i / 10 for i in range(11)]
    assert round(bl["val_rmse"], 6) == min(bl["val_rmse_by_weight"].values())
    assert_blend_recomputes(bench, bl, work / "CHEMBL4616_EC50" / "seed0_cap100", tiny_smiles_model)
    assert data["summary"]["CHEMBL4616_EC50"]["blend_weights"] == [bl["weight"]]
    assert r["tables"][1]["columns"][-1] == "blend weight on chemtl"
    assert [t["pass"] for t in r["targets"]] == [None, None, None]  # a smoke run claims no target
    assert r["targets"][2]["name"].startswith("blend mean test RMSE over the 1 sets at or below its control")
    assert r["targets"][0]["target"] == 0.6505 and r["targets"][1]["target"] == 0.7021
    assert r["tables"][1]["rows"][0][:2] == ["CHEMBL4616_EC50", "75/8/17"]
    page = docs.read_text()
    assert (
        "## moleculeace (30 ChEMBL activity sets" in page and "(quick smoke run: not the benchmark)" in page
    )

    # the same command again reuses every run, even from a moved work directory
    moved = tmp_path / "moved-work"
    work.rename(moved)
    code, _, err = chemtl(*argv[:-1], moved)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]["runs"][0]["methods"]
    assert all(again[m]["reused"] is True for m in ("chemtl", "rf", "svm"))
    assert [again[m]["rmse"] for m in ("chemtl", "rf", "svm")] == [c["rmse"], rf["rmse"], svm["rmse"]]
    assert Path(moved / "CHEMBL4616_EC50" / "seed0_cap100" / "split.json").is_file()


def assert_blend_recomputes(bench, bl, base, model):
    """The blend's numbers, computed again here from chemtl's predictions.csv and a fresh SVR."""
    import csv

    from sklearn.svm import SVR

    from chemtl.data import load_dataset
    from chemtl.evaluate.baselines import morgan_features

    ds = load_dataset("moleculeace_CHEMBL4616_EC50")
    sub = ds.subset(bench.capped_rows(len(ds), 100, "CHEMBL4616_EC50"))
    split = bench.make_split(sub, "CHEMBL4616_EC50", 0)
    y, x = np.asarray(sub.targets, dtype=np.float64), morgan_features(sub.inputs, 2, 1024)
    with (base / f"chemtl-{Path(model).name}" / "predictions.csv").open(newline="") as handle:
        kept = {(row["split"], int(row["row"])): float(row["prediction"]) for row in csv.DictReader(handle)}
    svm = SVR(C=10, epsilon=0.1, gamma=0.01, kernel="rbf").fit(x[split.train], y[split.train])
    for side, rows in (("val", split.val), ("test", split.test)):
        mine = np.array([kept[(side, int(i))] for i in rows])
        pred = bl["weight"] * mine + (1 - bl["weight"]) * svm.predict(x[rows])
        rmse = float(np.sqrt(np.mean((pred - y[rows]) ** 2)))
        assert rmse == pytest.approx(bl["val_rmse"] if side == "val" else bl["rmse"], abs=1e-12)


def quick_variant(chemtl, model, tmp_path, *flags):
    """A quick run of one chemtl variant (``flags``) into tmp_path's r/, B.md and work/: its exit
    code, its stderr, and the result (None when it failed)."""
    code, _, err = chemtl(
        "benchmark", "moleculeace", "--quick", "--model", model, *flags,
        "--results-dir", tmp_path / "r", "--docs", tmp_path / "B.md", "--work-dir", tmp_path / "work",
    )  # fmt: skip
    result = json.loads((tmp_path / "r" / "moleculeace.quick.json").read_text()) if code == 0 else None
    return code, err, result


def test_features_variant_trains_the_hybrid_head_in_its_own_run_dir(chemtl, tiny_smiles_model, tmp_path):
    work = tmp_path / "work"
    code, err, r = quick_variant(chemtl, tiny_smiles_model, tmp_path, "--features", "morgan")
    assert code == 0, err
    assert r["data"]["methods"]["chemtl"]["label"] == (
        f"chemtl {Path(tiny_smiles_model).name} / full + morgan features"
    )
    run_dir = work / "CHEMBL4616_EC50" / "seed0_cap100" / f"chemtl-{Path(tiny_smiles_model).name}+morgan"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["features"], metrics["n_features"], metrics["n_train"]) == ("morgan", 2048, 75)


def test_a_recipe_run_is_its_own_run_with_the_recipes_settings(chemtl, tiny_smiles_model, tmp_path):
    work = tmp_path / "work"
    code, err, r = quick_variant(chemtl, tiny_smiles_model, tmp_path, "--recipe", "molecule")
    assert code == 0, err
    assert (
        r["data"]["methods"]["chemtl"]["label"]
        == f"chemtl {Path(tiny_smiles_model).name} / full, recipe molecule"
    )
    # the quick run's 2 epochs replace the recipe's 20, as a given --epochs does; the rest is the recipe's
    assert r["data"]["recipe"] == {
        "name": "molecule",
        "train": {"loss": "l1", "scheduler": "onecycle", "lr": 5e-4, "head_lr": 5e-3, "max_epochs": 2,
                  "patience": None},
        "augment": "none",
    }  # fmt: skip
    cfg = r["data"]["train_config"]
    assert (cfg["loss"], cfg["scheduler"], cfg["lr"], cfg["max_epochs"], cfg["patience"]) == (
        "l1", "onecycle", 5e-4, 2, None,
    )  # fmt: skip
    run_dir = work / "CHEMBL4616_EC50" / "seed0_cap100" / f"chemtl-{Path(tiny_smiles_model).name}@molecule"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["loss"], metrics["epochs_run"], metrics["stopped_early"]) == ("l1", 2, False)
    code, err, _ = quick_variant(chemtl, "none", tmp_path, "--recipe", "nope")
    assert (
        code == 2 and err == "error: unknown recipe 'nope'; choose one of converge, molecule, molecule-long\n"
    )
    code, err, _ = quick_variant(chemtl, "none", tmp_path, "--recipe", "molecule,converge")
    assert code == 2 and err == "error: --recipe 'molecule,converge': this benchmark takes one recipe\n"
    # 'none' is the training flags: the plain run, in its own directory
    code, err, r = quick_variant(chemtl, tiny_smiles_model, tmp_path, "--recipe", "None")
    assert code == 0, err
    assert r["data"]["recipe"] is None and r["data"]["train_config"]["loss"] == "mse"
    assert (work / "CHEMBL4616_EC50" / "seed0_cap100" / f"chemtl-{Path(tiny_smiles_model).name}").is_dir()


def test_bad_sets_are_one_line_errors(chemtl, tmp_path):
    common = ("--quick", "--model", "none", "--results-dir", tmp_path, "--docs", tmp_path / "B.md")
    code, _, err = chemtl("benchmark", "moleculeace", "--datasets", "CHEMBL1_Ki", *common)
    assert code == 2
    assert err.strip() == (
        "error: --datasets 'CHEMBL1_Ki': not a MoleculeACE set (chemtl datasets list --family moleculeace)"
    )
    code, _, err = chemtl("benchmark", "moleculeace", "--datasets", "chembl204_ki,CHEMBL204_Ki", *common)
    assert code == 2 and err.strip() == "error: --datasets 'CHEMBL204_Ki': given twice"


def test_set_names_take_any_case_and_prefix(bench):
    assert bench.parse_sets("moleculeace_chembl204_ki, CHEMBL2835_Ki") == ["CHEMBL204_Ki", "CHEMBL2835_Ki"]
    assert len(bench.all_sets()) == 30 and set(bench.all_sets()) == set(bench.PUBLISHED)


def test_published_table_gives_the_published_means(bench):
    table = np.array(list(bench.PUBLISHED.values()))
    rf_rmse, rf_cliff, svm_rmse, svm_cliff = table.mean(axis=0).round(3)
    assert (rf_rmse, rf_cliff, svm_rmse, svm_cliff) == (0.700, 0.786, 0.671, 0.751)
    means = {name: (rmse, cliff) for name, rmse, cliff in bench.PUBLISHED_MEANS}
    assert means["RF-ECFP"] == (0.700, 0.786) and means["SVM-ECFP"] == (0.671, 0.751)


def test_moleculeace_hyperparameters_come_from_its_package(bench):
    assert bench.moleculeace_config("CHEMBL2835_Ki", "RF_ECFP") == {"n_estimators": 250}
    assert bench.moleculeace_config("CHEMBL2835_Ki", "SVM_ECFP") == {
        "C": 10000,
        "epsilon": 0.1,
        "gamma": 0.01,
        "kernel": "rbf",
    }


def test_blend_none_scores_chemtl_and_the_peers_only(chemtl, tiny_smiles_model, tmp_path, bench, capsys):
    code, err, r = quick_variant(chemtl, tiny_smiles_model, tmp_path, "--blend", "none")
    assert code == 0, err
    assert list(r["data"]["runs"][0]["methods"]) == ["chemtl", "rf", "svm"]
    assert len(r["targets"]) == 2 and r["data"]["methods"]["blend"]["run"] is False
    assert r["tables"][1]["columns"][-1] == "RF trees / SVM C"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--blend", "rf", "--results-dir", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: chemtl benchmark moleculeace: argument --blend: invalid choice: 'rf'")
    assert not (tmp_path / "r2").exists()
