"""`chemtl benchmark molecule_recipe`: the validation-only choice rule, the baseline that is the
molecules benchmark's own run (reused from its work directory), a --quick run end to end with the
peers read beside, and one-line errors for bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("molecule_recipe", benchmarks_dir())


def test_choice_rule_uses_validation_rmse_per_slot(bench):
    assert list(bench.INGREDIENTS) == ["random-smiles", "cyclic-swa-20", "onecycle-20", "l1"]
    assert [v[0] for v in bench.INGREDIENTS.values()] == ["augment", "schedule", "schedule", "loss"]
    val = {"random-smiles": 0.77, "cyclic-swa-20": 0.74, "onecycle-20": 0.75, "l1": 0.79}
    # baseline 0.78: per slot the lowest below it; l1 (0.79) is left out
    assert bench.choose_recipe(0.78, val) == {"augment": "random-smiles", "schedule": "cyclic-swa-20"}
    # a tie with the baseline does not beat it; none below: the recipe is the baseline
    assert bench.choose_recipe(0.77, val) == {"schedule": "cyclic-swa-20"}
    assert bench.choose_recipe(0.70, val) == {}
    # ties within a slot: the first in INGREDIENTS order
    assert bench.choose_recipe(0.8, {"cyclic-swa-20": 0.7, "onecycle-20": 0.7}) == {
        "schedule": "cyclic-swa-20"
    }
    assert bench.combined_overrides(["random-smiles", "cyclic-swa-20"]) == {
        "augment": "random-smiles", "max_epochs": 20, "patience": None, "scheduler": "cyclic", "lr": 5e-4,
        "head_lr": 5e-3, "swa": True,
    }  # fmt: skip


def test_baseline_is_the_molecules_benchmarks_rdkit_run_at_12_epochs_patience_3(bench):
    cfg = bench.baseline_config(2).to_dict()
    picked = {k: cfg[k] for k in ("lr", "head_lr", "lr_decay", "batch_size", "max_epochs", "patience", "seed",
                                  "scheduler", "loss", "swa", "features", "optimizer", "checkpoint_every_n_steps")}  # fmt: skip
    # the train_config.json of `chemtl benchmark molecules --epochs 12 --patience 3 --features rdkit`'s runs
    assert picked == {
        "lr": 1e-4, "head_lr": 1e-3, "lr_decay": 1.0, "batch_size": 32, "max_epochs": 12, "patience": 3, "seed": 2,
        "scheduler": "constant", "loss": "mse", "swa": False, "features": "rdkit", "optimizer": "adamw-fused",
        "checkpoint_every_n_steps": 1000,
    }  # fmt: skip


def test_quick_run_reuses_the_molecules_baseline_and_reads_its_peers(chemtl, tiny_smiles_model, tmp_path):
    mol_work, results, docs = tmp_path / "mol-work", tmp_path / "results", tmp_path / "BENCHMARKS.md"
    # the molecules benchmark's own run of the same rows and settings (1 epoch as in the smoke run)
    code, _, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", tiny_smiles_model, "--datasets", "lipophilicity",
        "--splits", "scaffold", "--epochs", "1", "--patience", "3", "--features", "rdkit", "--chemprop", "none",
        "--rf-trees", "5", "--results-dir", results, "--docs", docs, "--work-dir", mol_work,
    )  # fmt: skip
    assert code == 0, err
    mol = json.loads((results / "molecules.quick.json").read_text())["data"]["runs"][0]
    work = tmp_path / "work"
    argv = ("benchmark", "molecule_recipe", "--quick", "--model", tiny_smiles_model, "--molecules-dir", mol_work,
            "--results-dir", results, "--docs", docs, "--work-dir", work)  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    path = results / "molecule_recipe.quick.json"
    assert out.splitlines() == [f"result: {path}", f"docs: {docs}"]
    r = json.loads(path.read_text())
    data = r["data"]
    assert (data["dataset"], data["split"], data["seed"], data["size_cap"]) == (
        "lipophilicity",
        "scaffold",
        0,
        60,
    )
    # the same rows as the molecules benchmark's
    assert data["indices_sha256"] == mol["indices_sha256"] and data["sizes"] == mol["sizes"]
    runs = data["runs"]
    labels = ["baseline", "+ random-smiles", "+ cyclic-swa-20", "+ onecycle-20", "+ l1", "recipe"]
    assert list(runs) == labels
    # the baseline is the molecules benchmark's finished run, reused where it lies
    mol_dir = (
        mol_work / "lipophilicity" / "scaffold_seed0_cap60" / f"chemtl-{Path(tiny_smiles_model).name}+rdkit"
    )
    assert data["baseline"]["from_molecules"] is True and data["baseline"]["run_dir"] == str(mol_dir)
    b = runs["baseline"]
    assert b["reused"] is True and b["run_dir"] == str(mol_dir)
    assert (b["rmse"], b["val_rmse"]) == (
        mol["methods"]["chemtl+rdkit"]["rmse"],
        mol["methods"]["chemtl+rdkit"]["val_rmse"],
    )
    assert json.loads((mol_dir / "bench_run.json").read_text())["hash"] == data["baseline"]["key"]
    assert all(not runs[k]["reused"] and runs[k]["epochs_run"] == 1 for k in labels[1:5])
    assert runs["+ random-smiles"]["augment"] == "random-smiles" and b["augment"] == "none"
    assert (
        runs["+ cyclic-swa-20"]["train_config"]["swa"] is True
        and runs["+ l1"]["train_config"]["loss"] == "l1"
    )
    assert all(runs[k]["train_config"]["features"] == "rdkit" for k in labels)
    # the choice follows from this run's validation numbers
    names = list(data["ingredients"])
    expected = load_benchmark("molecule_recipe", benchmarks_dir()).choose_recipe(
        b["val_rmse"], {n: runs[f"+ {n}"]["val_rmse"] for n in names}
    )
    assert data["chosen"] == expected
    assert data["better_on_val"] == [n for n in names if runs[f"+ {n}"]["val_rmse"] < b["val_rmse"]]
    verdicts = {row[0]: row[4] for row in r["tables"][0]["rows"]}
    assert [verdicts[f"+ {n}"] for n in names] == [
        "better on val" if n in data["better_on_val"] else "not better on val" for n in names
    ]
    if len(expected) <= 1:  # a recipe of one row (or none) is that row, not trained twice
        assert runs["recipe"]["same_as"] == (f"+ {next(iter(expected.values()))}" if expected else "baseline")
    # the peers: the molecules benchmark's RandomForest on the same rows, scored again; Chemprop not run
    assert data["peers"]["rf"]["rmse"] == mol["methods"]["rf"]["rmse"]
    assert data["peers"]["chemprop"]["rmse"] is None and data["peers"]["chemprop"]["status"] == "not run"
    assert [t["pass"] for t in r["targets"]] == [None, None, None]  # a smoke run claims nothing
    assert r["targets"][1]["value"] is None and r["targets"][2]["value"] is not None
    assert "## Molecule fine-tuning recipe (lipophilicity, scaffold split, seed 0)" in docs.read_text()
    # a second run reuses every run
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(path.read_text())["data"]["runs"]
    assert all(again[k]["reused"] for k in labels) and [again[k]["rmse"] for k in labels] == [
        runs[k]["rmse"] for k in labels
    ]


def test_without_a_molecules_run_the_baseline_is_trained_here_and_peers_are_not_run(
    chemtl, tiny_smiles_model, tmp_path
):
    results, docs, work = tmp_path / "results", tmp_path / "B.md", tmp_path / "work"
    argv = ("benchmark", "molecule_recipe", "--quick", "--model", tiny_smiles_model, "--dataset", "freesolv",
            "--ingredients", "l1", "--molecules-dir", tmp_path / "none", "--results-dir", results, "--docs", docs,
            "--work-dir", work)  # fmt: skip
    # a piece: only the L1 row trains (the baseline is not finished anywhere), nothing is chosen
    code, out, err = chemtl(*argv, "--only", "+ l1")
    assert code == 0, err
    piece = json.loads((results / "molecule_recipe.quick.json").read_text())
    assert piece["data"]["full_protocol"] is False and list(piece["data"]["runs"]) == ["+ l1"]
    assert "chosen" not in piece["data"] and piece["targets"] == []
    assert not (work / "freesolv" / "scaffold_seed0_cap60" / "baseline").exists()
    code, _, err = chemtl(*argv)
    assert code == 0, err
    data = json.loads((results / "molecule_recipe.quick.json").read_text())["data"]
    assert data["runs"]["+ l1"]["reused"] is True and data["runs"]["baseline"]["reused"] is False
    assert data["baseline"]["from_molecules"] is False
    assert data["baseline"]["why_not"].startswith("no run in ")
    assert data["runs"]["baseline"]["run_dir"] == str(work / "freesolv" / "scaffold_seed0_cap60" / "baseline")
    assert list(data["runs"]) == ["baseline", "+ l1", "recipe"]
    assert [data["peers"][k]["status"] for k in ("chemprop", "rf")] == ["not run", "not run"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--ingredients", "fancy"), "error: --ingredients 'fancy': choose from random-smiles, cyclic-swa-20, onecycle-20, l1"),
        (("--only", "+ fancy"), "error: --only '+ fancy': choose rows from baseline, + random-smiles"),
        (("--size-cap", "5"), "error: --size-cap 5: use at least 20 rows"),
        (("--model", "/no/such/model"), "error: --model '/no/such/model': no shipped model"),
        (("--model", "none"), "error: --model 'none': no SMILES model to fine-tune (this benchmark has no peers-only"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line_errors(chemtl, tmp_path, flags, message):
    code, out, err = chemtl(
        "benchmark", "molecule_recipe", "--quick", *flags, "--results-dir", tmp_path / "r", "--docs", tmp_path / "B.md",
        "--work-dir", tmp_path / "w",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_an_unknown_dataset_is_a_one_line_usage_error(capsys, tmp_path):
    bench = load_benchmark("molecule_recipe", benchmarks_dir())
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--dataset", "qm9", "--results-dir", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: chemtl benchmark molecule_recipe: argument --dataset: invalid choice: 'qm9'"
    )
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
