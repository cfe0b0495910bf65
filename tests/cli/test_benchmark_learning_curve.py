"""`chemtl benchmark learning_curve --quick`: pretrained vs scratch at nested sizes, JSON and docs page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _tiny_model(d: Path, seed: int, size: str = "tiny") -> Path:
    """A random-weight composition encoder saved as a chemtl model directory."""
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    torch.manual_seed(seed)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size(size, "composition"))
    save_model_dir(
        d, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    return d


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> tuple[Path, Path]:
    """Two tiny composition encoders of one shape (different random weights), folders tiny-a and tiny-b."""
    root = tmp_path_factory.mktemp("tiny")
    return _tiny_model(root / "tiny-a", 0), _tiny_model(root / "tiny-b", 1)


def test_quick_learning_curve_writes_result_and_docs(chemtl, tiny_models, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "learning_curve", "--quick", "--model", f"{tiny_models[0]},{tiny_models[1]}",
        "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    result_path = results / "learning_curve.quick.json"
    assert out.splitlines() == [f"result: {result_path}", f"docs: {docs}"]

    r = json.loads(result_path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "started", "finished", "command", "machine", "versions",
                "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "learning_curve" and r["quick"] is True and r["seed"] == [0, 1]
    data = r["data"]
    assert data["dataset"] == "matbench_expt_gap" and data["fold"] == 0
    assert data["sizes"] == [30, 60] and data["seeds"] == [0, 1] and data["strategies"] == ["full", "scratch"]
    # the first model's compare also trains scratch; the second only fine-tunes
    assert [(m["label"], m["strategies"], m["runs_trained"]) for m in data["models"]] == [
        ("tiny-a", ["full", "scratch"], 8),
        ("tiny-b", ["full"], 4),
    ]
    assert data["models"][0]["model_sha256"] != data["models"][1]["model_sha256"]
    split = data["split"]
    assert (split["train"], split["val"], split["test"]) == (3315, 368, 921)
    assert data["train_config"]["max_epochs"] == 1 and data["train_config"]["patience"] is None
    assert data["train_config"]["batch_size"] == 16
    assert data["runs_trained"] == 12 and data["runs_reused"] == 0 and data["runs_failed"] == 0

    runs = data["runs"]
    assert [(x["model"], x["train_size"], x["seed"]) for x in runs] == [
        (arm, n, s) for n in (30, 60) for s in (0, 1) for arm in ("tiny-a", "scratch")
    ] + [("tiny-b", n, s) for n in (30, 60) for s in (0, 1)]
    for run in runs:
        assert run["status"] == "trained" and run["epochs_run"] == 1 and run["mae"] > 0
        assert (run["n_train"], run["n_val"], run["n_test"]) == (run["train_size"], 368, 921)
    # nested subsets: a seed's 30 rows are among its 60 rows, the same rows for every model
    for seed in (0, 1):
        rows = {
            (label, n): json.loads((work / label / "splits" / f"n{n}_seed{seed}.rows.json").read_text())
            for label in ("tiny-a", "tiny-b")
            for n in (30, 60)
        }
        assert set(rows["tiny-a", 30]["train"]) < set(rows["tiny-a", 60]["train"])
        assert rows["tiny-a", 30]["test"] == rows["tiny-a", 60]["test"]
        assert rows["tiny-a", 30] == rows["tiny-b", 30] and rows["tiny-a", 60] == rows["tiny-b", 60]

    assert [e["train_size"] for e in data["per_size"]] == [30, 60]
    for entry in data["per_size"]:
        scratch = entry["scratch"]
        assert scratch["n_runs"] == 2 and scratch["std_mae"] is not None
        assert list(entry["pretrained"]) == ["tiny-a", "tiny-b"]
        for full in entry["pretrained"].values():
            assert full["n_runs"] == 2 and full["paired_seeds"] == 2 and full["std_mae"] is not None
            assert full["improvement"] == pytest.approx(1 - full["mean_mae"] / scratch["mean_mae"])
            assert len(full["improvement_per_seed"]) == 2

    # one verdict per model and size up to 500; a smoke run claims none
    assert [t["name"] for t in r["targets"]] == [
        f"{label}: MAE reduction vs scratch at {n} training rows"
        for label in ("tiny-a", "tiny-b")
        for n in (30, 60)
    ]
    assert all(t["pass"] is None and t["target"] == 30.0 and t["op"] == ">=" for t in r["targets"])
    table = r["tables"][0]
    assert table["columns"] == [
        "train rows", "scratch (same architecture)",
        "tiny-a (full)", "tiny-a: 1 - pre/scratch", "tiny-a: seeds better",
        "tiny-b (full)", "tiny-b: 1 - pre/scratch", "tiny-b: seeds better",
        "target",
    ]  # fmt: skip
    assert [row[0] for row in table["rows"]] == [30, 60]
    assert r["tables"][1]["columns"] == ["train rows", "scratch", "tiny-a", "tiny-b"]
    assert len(r["tables"][2]["rows"]) == 12

    page = docs.read_text()
    assert page.startswith("# chemtl benchmarks")
    assert (
        "## Learning curve: pretrained vs scratch on matbench_expt_gap (quick smoke run: not the benchmark)"
        in page
    )
    assert "tiny-b: MAE reduction vs scratch at 30 training rows" in page and "NO VERDICT" in page

    # the same command again reuses every finished run
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]
    assert again["runs_trained"] == 0 and again["runs_reused"] == 12
    assert [x["mae"] for x in again["runs"]] == [x["mae"] for x in runs]


def test_quick_learning_curve_with_a_recipe(chemtl, tiny_models, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    code, _, err = chemtl(
        "benchmark", "learning_curve", "--quick", "--model", tiny_models[0], "--sizes", "30", "--seeds", "0",
        "--recipe", "converge", "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((results / "learning_curve.quick.json").read_text())["data"]
    cfg = data["train_config"]
    # the recipe's settings, the quick run's 1 epoch, the benchmark's batch size
    assert (cfg["loss"], cfg["output_gate"], cfg["scheduler"], cfg["swa"], cfg["lr"], cfg["head_lr"]) == (
        "l1", True, "cyclic", True, 5e-4, 5e-3,
    )  # fmt: skip
    assert (cfg["max_epochs"], cfg["patience"], cfg["batch_size"]) == (1, None, 16)
    assert (data["recipe"], data["augment"]) == ("converge", "auto")
    # each run says whether it predicted one value for every test row, read from its predictions
    import numpy as np
    import pandas as pd

    for run in data["runs"]:
        table = pd.read_csv(f"{run['run_dir']}/predictions.csv")
        test = table.loc[table.split == "test", "prediction"].to_numpy()
        assert run["constant_test_predictions"] is bool(np.ptp(test) < 1e-9)


def test_models_of_different_shapes_are_refused(chemtl, tiny_models, tmp_path):
    small = _tiny_model(tmp_path / "small-c", 0, size="small")
    code, out, err = chemtl(
        "benchmark", "learning_curve", "--quick", "--model", f"{tiny_models[0]},{small}",
        "--results-dir", tmp_path / "results", "--work-dir", tmp_path / "work",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith(f"error: --model {str(small)!r}: its encoder shape ")
    assert "one scratch baseline cannot stand for both" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "work").exists()


def test_bad_sizes_are_a_one_line_error(chemtl, tmp_path):
    code, out, err = chemtl("benchmark", "learning_curve", "--sizes", "50,x", "--results-dir", tmp_path)
    assert code == 2 and out == "" and err.startswith("error: --sizes '50,x'")
    assert len(err.strip().splitlines()) == 1
