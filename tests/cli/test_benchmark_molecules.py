"""`chemtl benchmark molecules`: the quick smoke run end to end (chemtl, Chemprop where installed, RF),
the peer that is not installed recorded as not run, and one-line errors for bad flags."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from chemtl.errors import ChemtlError


def chemprop_installed() -> bool:
    beside = Path(sys.executable).parent / "chemprop"
    return beside.is_file() or shutil.which("chemprop") is not None


def test_quick_molecules_run_writes_result_and_reuses_runs(chemtl, tiny_smiles_model, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "molecules", "--quick", "--model", tiny_smiles_model, "--splits", "random",
        "--rf-trees", "5", "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    result_path = results / "molecules.quick.json"
    assert out.splitlines() == [f"result: {result_path}", f"docs: {docs}"]

    r = json.loads(result_path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "machine", "versions", "git_commit", "peer_versions"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "molecules" and r["quick"] is True and r["seed"] == [0]
    assert {"cpu_model", "cpu_count", "torch_threads"} <= set(r["machine"])
    assert {"chemprop", "rdkit", "scikit-learn"} <= set(r["peer_versions"])
    data = r["data"]
    assert data["full_protocol"] is False and data["size_cap"] == 60 and data["splits"] == ["random"]
    assert data["datasets"]["esol"]["rows"] == 1128 and data["datasets"]["esol"]["rows_used"] == 60
    [run] = data["runs"]
    assert (run["dataset"], run["split"], run["seed"], run["split_method"]) == (
        "esol",
        "random",
        0,
        "grouped",
    )
    assert run["sizes"] == {"train": 48, "val": 6, "test": 6} and len(run["indices_sha256"]) == 64
    assert Path(run["split_file"]).is_file()

    have_chemprop = chemprop_installed()
    assert data["chemprop"]["run"] is have_chemprop
    expected = ["chemtl", "chemprop", "rf"] if have_chemprop else ["chemtl", "rf"]
    assert list(run["methods"]) == expected
    for name in expected:
        got = run["methods"][name]
        assert got["rmse"] > 0 and got["mae"] > 0 and got["wall_seconds"] >= 0, name
    assert run["methods"]["chemtl"]["n_train"] == 48 and run["methods"]["chemtl"]["epochs_run"] == 2
    assert run["methods"]["chemtl"]["reused"] is False and run["methods"]["rf"]["reused"] is False
    if have_chemprop:
        cp = run["methods"]["chemprop"]
        assert data["chemprop"]["version"].startswith("2.") and r["peer_versions"]["chemprop"].startswith(
            "2."
        )
        assert (cp["n_train"], cp["n_val"], cp["n_test"], cp["epochs_run"], cp["reused"]) == (
            48,
            6,
            6,
            3,
            False,
        )
        assert cp["train_seconds"] > 0 and cp["predict_seconds"] > 0
    else:
        assert "not installed" in err and "Chemprop peer is not run" in err
    summary = data["summary"]["esol/random"]
    assert (
        summary["chemtl"]["mean_rmse"] == run["methods"]["chemtl"]["rmse"]
        and summary["chemtl"]["std_rmse"] is None  # one seed: no sample std (ddof 1)
    )
    # a smoke run does not claim the targets either way
    assert [t["pass"] for t in r["targets"]] == [None, None]
    assert r["tables"][0]["columns"][:3] == ["dataset", "split", "train/val/test"]
    assert r["tables"][0]["rows"][0][:3] == ["esol", "random", "48/6/6"]

    page = docs.read_text()
    assert (
        "## molecules (ESOL, FreeSolv, Lipophilicity" in page
        and "(quick smoke run: not the benchmark)" in page
    )
    assert "RF-Morgan (ours)" in page and "NO VERDICT" in page

    # a peer run keeps its predictions, so a reused number is scored again from them
    rf_stamp = json.loads((work / "esol" / "random_seed0_cap60" / "rf-morgan" / "bench_run.json").read_text())
    assert len(rf_stamp["test_predictions"]) == 6 and len(rf_stamp["test_rows"]) == 6
    chemtl_stamp = json.loads(
        (
            work / "esol" / "random_seed0_cap60" / f"chemtl-{Path(tiny_smiles_model).name}" / "bench_run.json"
        ).read_text()
    )
    assert chemtl_stamp["status"] == "done" and len(chemtl_stamp["hash"]) == 64

    # the same command again reuses the finished chemtl and Chemprop runs, even from a moved work dir
    moved = tmp_path / "moved-work"
    work.rename(moved)
    argv = argv[:-1] + (moved,)
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]["runs"][0]["methods"]
    assert again["chemtl"]["reused"] is True and again["chemtl"]["rmse"] == run["methods"]["chemtl"]["rmse"]
    if have_chemprop:
        assert (
            again["chemprop"]["reused"] is True
            and again["chemprop"]["rmse"] == run["methods"]["chemprop"]["rmse"]
        )
    assert again["rf"]["reused"] is True and again["rf"]["rmse"] == run["methods"]["rf"]["rmse"]
    # --fresh reruns them: the RandomForest is seeded, so it lands on the same number
    code, _, err = chemtl(*argv, "--fresh", "--model", "none", "--chemprop", "none")
    assert code == 0, err
    fresh = json.loads(result_path.read_text())["data"]["runs"][0]["methods"]
    assert list(fresh) == ["rf"] and fresh["rf"]["reused"] is False
    assert fresh["rf"]["rmse"] == run["methods"]["rf"]["rmse"]


def test_absent_chemprop_is_one_line_and_recorded_as_not_run(chemtl, tmp_path):
    results, docs = tmp_path / "results", tmp_path / "BENCHMARKS.md"
    absent = tmp_path / "no-such-chemprop"
    code, _, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", "none", "--chemprop", absent, "--rf-trees", "5",
        "--results-dir", results, "--docs", docs, "--work-dir", tmp_path / "work",
    )  # fmt: skip
    assert code == 0, err
    notes = [line for line in err.splitlines() if "Chemprop" in line]
    assert notes == [f"note: no chemprop executable at {str(absent)!r}; the Chemprop peer is not run"]
    r = json.loads((results / "molecules.quick.json").read_text())
    data = r["data"]
    assert data["chemprop"]["run"] is False and "no chemprop executable" in data["chemprop"]["why_not"]
    assert data["methods"]["chemtl"]["run"] is False and data["methods"]["rf"]["run"] is True
    runs = data["runs"]
    assert [(x["split"], x["split_method"]) for x in runs] == [
        ("scaffold", "scaffold"),
        ("random", "grouped"),
    ]
    assert all(
        list(x["methods"]) == ["rf"] and x["sizes"] == {"train": 48, "val": 6, "test": 6} for x in runs
    )
    assert runs[0]["indices_sha256"] != runs[1]["indices_sha256"]
    assert runs[0]["split_params"]["balanced"] is True
    assert [t["value"] for t in r["targets"]] == [None, None] and [t["pass"] for t in r["targets"]] == [
        None,
        None,
    ]
    assert any(n.startswith("Chemprop not run: no chemprop executable") for n in r["notes"])


def test_a_recipe_list_gives_one_chemtl_variant_per_recipe(chemtl, tiny_smiles_model, tmp_path):
    results, work = tmp_path / "results", tmp_path / "work"
    code, _, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", tiny_smiles_model, "--chemprop", tmp_path / "none",
        "--splits", "scaffold", "--recipe", "none,molecule", "--rf-trees", "5",
        "--results-dir", results, "--docs", tmp_path / "B.md", "--work-dir", work,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((results / "molecules.quick.json").read_text())["data"]
    [run] = data["runs"]
    assert list(run["methods"]) == ["chemtl", "chemtl@molecule", "rf", "chemtl-chosen-on-val"]
    name = Path(tiny_smiles_model).name
    assert data["methods"]["chemtl@molecule"]["label"] == f"chemtl {name} / full, recipe molecule"
    # the quick run's 2 epochs replace the recipe's 20 (as a given --epochs does); the rest is the recipe's
    assert data["recipes"] == {
        "none": None,
        "molecule": {"name": "molecule", "augment": "none", "train": {
            "loss": "l1", "scheduler": "onecycle", "lr": 5e-4, "head_lr": 5e-3, "max_epochs": 2, "patience": None}},
    }  # fmt: skip
    base = work / "esol" / "scaffold_seed0_cap60"
    plain = json.loads((base / f"chemtl-{name}" / "metrics.json").read_text())
    recipe = json.loads((base / f"chemtl-{name}@molecule" / "metrics.json").read_text())
    assert (plain["loss"], recipe["loss"], recipe["epochs_run"]) == ("mse", "l1", 2)
    assert run["methods"]["chemtl"]["rmse"] != run["methods"]["chemtl@molecule"]["rmse"]
    # two variants: the one with the lower validation RMSE is also reported, as chosen on validation rows
    vals = {k: run["methods"][k]["val_rmse"] for k in ("chemtl", "chemtl@molecule")}
    pick = min(vals, key=vals.get)
    chosen = run["methods"]["chemtl-chosen-on-val"]
    assert data["selection"] == {"esol/scaffold": {"chosen": pick, "val_rmse": vals}}
    assert (chosen["chosen"], chosen["rmse"], chosen["ledger"]) == (pick, run["methods"][pick]["rmse"], None)
    walls = run["methods"]["chemtl"]["wall_seconds"] + run["methods"]["chemtl@molecule"]["wall_seconds"]
    assert chosen["wall_seconds"] == round(walls, 2)
    assert data["methods"]["chemtl-chosen-on-val"] == {
        "label": "chemtl, variant chosen on validation rows",
        "run": True,
    }
    result = json.loads((results / "molecules.quick.json").read_text())
    table = result["tables"][-1]
    assert table["columns"] == ["dataset", "split", "chemtl", "chemtl@molecule", "chosen"]
    assert table["rows"] == [
        ["esol", "scaffold", f"{vals['chemtl']:.4f}", f"{vals['chemtl@molecule']:.4f}", pick]
    ]
    names = [t["name"] for t in result["targets"]]
    assert names[-2:] == [
        "chemtl-chosen-on-val mean test RMSE below RF-Morgan's, (dataset, split) pairs",
        "worst chemtl-chosen-on-val / Chemprop mean test RMSE ratio over the (dataset, split) pairs",
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--datasets", "esol,nope"),
            "error: --datasets 'esol,nope': choose from esol, freesolv, lipophilicity",
        ),
        (("--seeds", "0,x"), "error: --seeds '0,x': write integers >= 0 separated by commas"),
        (("--chemprop-epochs", "2"), "error: --chemprop-epochs 2: use at least 3"),
        (("--model", "/no/such/model"), "error: --model '/no/such/model': no shipped model"),
        (
            ("--splits", "scaffold,scaffold"),
            "error: --splits 'scaffold,scaffold': choose from scaffold, random",
        ),
        (
            ("--recipe", "nope"),
            "error: unknown recipe 'nope'; choose one of converge, molecule, molecule-long",
        ),
    ],
)
def test_bad_values_are_one_line_errors(chemtl, tmp_path, flags, message):
    code, out, err = chemtl(
        "benchmark", "molecules", "--quick", *flags, "--results-dir", tmp_path / "r", "--docs", tmp_path / "B.md",
        "--work-dir", tmp_path / "w",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_composition_model_is_refused_in_one_line(chemtl, tmp_path):
    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path / "comp"
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        d, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    code, _, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", d, "--results-dir", tmp_path / "r",
        "--docs", tmp_path / "B.md", "--work-dir", tmp_path / "w",
    )  # fmt: skip
    assert code == 2
    assert err == f"error: --model {str(d)!r} reads composition inputs; this benchmark needs a SMILES model\n"


def test_a_recipe_run_takes_the_recipes_settings_and_is_its_own_run():
    from chemtl.cli.benchmark import benchmarks_dir, load_benchmark

    bench = load_benchmark("molecules", benchmarks_dir())

    import common  # benchmarks/ is on sys.path once a benchmark is loaded

    def config(argv):
        args = bench.build_parser().parse_args(argv)
        args.epochs_given = args.epochs is not None  # as main() records before filling the default
        args.epochs = bench.EPOCHS if args.epochs is None else args.epochs
        [recipe] = common.parse_recipes(args.recipe)
        cfg = bench.chemtl_config(args, 2, "rdkit", recipe)
        fields = ("loss", "scheduler", "lr", "head_lr", "max_epochs", "patience", "seed", "features", "swa")
        return {k: getattr(cfg, k) for k in fields}, common.chemtl_augment(args, recipe)

    plain = config(["--features", "rdkit"])
    assert plain == (
        {"loss": "mse", "scheduler": "constant", "lr": 1e-4, "head_lr": 1e-3, "max_epochs": 12, "patience": 3,
         "seed": 2, "features": "rdkit", "swa": False},
        "none",
    )  # fmt: skip
    assert config(["--recipe", "molecule"]) == (
        {"loss": "l1", "scheduler": "onecycle", "lr": 5e-4, "head_lr": 5e-3, "max_epochs": 20, "patience": None,
         "seed": 2, "features": "rdkit", "swa": False},
        "none",
    )  # fmt: skip
    # --epochs given wins over the recipe's; converge's augment 'auto' is randomised SMILES here
    got, augment = config(["--recipe", "converge", "--epochs", "7"])
    assert (got["max_epochs"], got["scheduler"], got["swa"], augment) == (7, "cyclic", True, "random-smiles")
    assert bench.chemtl_dir_name("smiles-small", "rdkit", "molecule") == "chemtl-smiles-small+rdkit@molecule"
    assert (
        bench.chemtl_key("rdkit", "molecule") == "chemtl+rdkit@molecule"
        and bench.chemtl_key("none") == "chemtl"
    )
    # a list of recipes, 'none' the training flags: each its own variant, in order
    assert common.parse_recipes("none, molecule") == [None, "molecule"] and common.parse_recipes(None) == [
        None
    ]
    with pytest.raises(ChemtlError, match=r"^--recipe 'molecule': given twice$"):
        common.parse_recipes("molecule,none,molecule")
    assert bench.chemtl_dir_name("/m/smiles-small", "none") == "chemtl-smiles-small"
