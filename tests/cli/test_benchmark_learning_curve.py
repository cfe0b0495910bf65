"""`chemtl benchmark learning_curve --quick`: pretrained vs scratch at nested sizes, JSON and docs page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chemtl.cli import main as cli_main


@pytest.fixture
def chemtl(capsys):
    """`chemtl ARGS` in this process -> (status, out, err)."""

    def run(*argv) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A random-weight tiny composition encoder saved as a chemtl model directory."""
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path_factory.mktemp("tiny-comp")
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        d, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    return d


def test_quick_learning_curve_writes_result_and_docs(chemtl, tiny_model, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "learning_curve", "--quick", "--model", tiny_model,
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
    split = data["split"]
    assert (split["train"], split["val"], split["test"]) == (3315, 368, 921)
    assert data["train_config"]["max_epochs"] == 1 and data["train_config"]["patience"] is None
    assert data["train_config"]["batch_size"] == 16
    assert data["runs_trained"] == 8 and data["runs_reused"] == 0 and data["runs_failed"] == 0

    runs = data["runs"]
    assert [(x["train_size"], x["seed"], x["strategy"]) for x in runs] == [
        (n, s, strategy) for n in (30, 60) for s in (0, 1) for strategy in ("full", "scratch")
    ]
    for run in runs:
        assert run["status"] == "trained" and run["epochs_run"] == 1 and run["mae"] > 0
        assert (run["n_train"], run["n_val"], run["n_test"]) == (run["train_size"], 368, 921)
    # nested subsets: a seed's 30 rows are among its 60 rows, the same rows for both strategies
    for seed in (0, 1):
        small = json.loads((work / "splits" / f"n30_seed{seed}.rows.json").read_text())
        large = json.loads((work / "splits" / f"n60_seed{seed}.rows.json").read_text())
        assert set(small["train"]) < set(large["train"]) and small["test"] == large["test"]

    assert [e["train_size"] for e in data["per_size"]] == [30, 60]
    for entry in data["per_size"]:
        full, scratch = entry["full"], entry["scratch"]
        assert full["n_runs"] == scratch["n_runs"] == 2 and entry["paired_seeds"] == 2
        assert full["std_mae"] is not None and scratch["std_mae"] is not None
        assert entry["improvement"] == pytest.approx(1 - full["mean_mae"] / scratch["mean_mae"])
        assert len(entry["improvement_per_seed"]) == 2

    # one verdict per size up to 500; a smoke run claims none
    assert [t["name"] for t in r["targets"]] == [
        "MAE reduction vs scratch at 30 training rows",
        "MAE reduction vs scratch at 60 training rows",
    ]
    assert all(t["pass"] is None and t["target"] == 20.0 and t["op"] == ">=" for t in r["targets"])
    assert r["tables"][0]["columns"][0] == "train rows"
    assert [row[0] for row in r["tables"][0]["rows"]] == [30, 60]
    assert len(r["tables"][1]["rows"]) == 8

    page = docs.read_text()
    assert page.startswith("# chemtl benchmarks")
    assert (
        "## Learning curve: pretrained vs scratch on matbench_expt_gap (quick smoke run: not the benchmark)"
        in page
    )
    assert "MAE reduction vs scratch at 30 training rows" in page and "NOT MEASURED" in page

    # the same command again reuses every finished run
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]
    assert again["runs_trained"] == 0 and again["runs_reused"] == 8
    assert [x["mae"] for x in again["runs"]] == [x["mae"] for x in runs]


def test_bad_sizes_are_a_one_line_error(chemtl, tmp_path):
    code, out, err = chemtl("benchmark", "learning_curve", "--sizes", "50,x", "--results-dir", tmp_path)
    assert code == 2 and out == "" and err.startswith("error: --sizes '50,x'")
    assert len(err.strip().splitlines()) == 1
