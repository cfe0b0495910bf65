"""`chemtl benchmark`: the quick matbench_expt_gap smoke run end to end, results JSON and docs page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


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


def test_quick_matbench_run_writes_result_and_docs(chemtl, tiny_model, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "matbench_expt_gap", "--quick", "--models", tiny_model, "--rf-trees", "5",
        "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    result_path = results / "matbench_expt_gap.quick.json"
    assert out.splitlines() == [f"result: {result_path}", f"docs: {docs}"]

    r = json.loads(result_path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "started", "finished", "command", "machine", "versions",
                "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "matbench_expt_gap" and r["quick"] is True and r["seed"] == 0
    assert {"cpu_model", "cpu_count", "torch_threads", "platform"} <= set(r["machine"])
    assert {"torch", "chemtl", "scikit-learn"} <= set(r["versions"])
    data = r["data"]
    assert data["full_protocol"] is False and data["size_cap"] == 200
    assert [f["fold"] for f in data["folds"]] == [0]
    assert data["folds"][0]["n_train"] == 200 and data["folds"][0]["n_test"] == 921
    tag = Path(tiny_model).name
    assert list(data["methods"]) == [
        "RF-Magpie (ours)",
        "predict-the-mean (ours)",
        f"chemtl {tag} / full",
        "chemtl scratch (same architecture, random init)",
    ]
    for method in data["methods"].values():
        assert len(method["fold_mae"]) == 1 and method["mean_mae"] > 0 and method["wall_seconds"] >= 0
    chemtl_run = data["methods"][f"chemtl {tag} / full"]["runs"][0]
    assert chemtl_run["n_train"] + chemtl_run["n_val"] == 200 and chemtl_run["n_test"] == 921
    # the headline is the pretrained row chosen on validation MAE (here the only one), with its test MAE
    full = data["methods"][f"chemtl {tag} / full"]
    assert data["headline"] == {
        "label": f"chemtl {tag} / full",
        "mean_mae": full["mean_mae"],
        "mean_val_mae": chemtl_run["val_mae"],
        "chosen_by": "lowest mean validation MAE over the folds among the pretrained rows",
    }
    assert chemtl_run["epochs_run"] == 1 and chemtl_run["reused"] is False
    # a smoke run does not claim the targets either way
    assert [t["pass"] for t in r["targets"]] == [None, None]
    assert {x["name"] for x in r["references"]} >= {"Darwin", "MODNet", "CrabNet"}

    page = docs.read_text()
    assert page.startswith("# chemtl benchmarks")
    assert "## matbench_expt_gap (Matbench 5-fold protocol) (quick smoke run: not the benchmark)" in page
    assert "RF-Magpie (ours)" in page and "CrabNet (published)" in page and "NO VERDICT" in page
    assert "PASS" not in page and "MISS" not in page and "Targets at a glance" not in page

    # the same command again reuses the finished chemtl runs
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]["methods"]
    assert again[f"chemtl {tag} / full"]["runs"][0]["reused"] is True
    assert again[f"chemtl {tag} / full"]["fold_mae"] == data["methods"][f"chemtl {tag} / full"]["fold_mae"]


def test_unknown_benchmark_is_a_one_line_error(chemtl):
    code, out, err = chemtl("benchmark", "nope")
    assert code == 2 and out == ""
    assert err.startswith("error: unknown benchmark 'nope'") and "matbench_expt_gap" in err and "speed" in err
    assert len(err.strip().splitlines()) == 1
    # the scripts' helper modules are not benchmarks, and are not listed as such
    assert "ledger" not in err and "molecule_peers" not in err and "molecules" in err
    for helper in ("common", "ledger", "molecule_peers"):
        code, _, err = chemtl("benchmark", helper)
        assert code == 2 and f"unknown benchmark '{helper}'" in err


def test_missing_benchmarks_dir_is_a_one_line_error(chemtl, monkeypatch, tmp_path):
    monkeypatch.setenv("CHEMTL_BENCHMARKS_DIR", str(tmp_path / "absent"))
    code, _, err = chemtl("benchmark", "speed")
    assert (
        code == 2 and err.startswith("error: $CHEMTL_BENCHMARKS_DIR") and len(err.strip().splitlines()) == 1
    )


def test_bad_benchmark_flag_is_a_one_line_error(chemtl, capsys):
    with pytest.raises(SystemExit) as exit_info:
        chemtl("benchmark", "matbench_expt_gap", "--folds")
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert (
        err.startswith("error: chemtl benchmark matbench_expt_gap: argument --folds") and err.count("\n") == 1
    )


def test_render_markdown_from_env_paths(monkeypatch, tmp_path):
    from chemtl.cli.benchmark import benchmarks_dir, load_benchmark

    load_benchmark("speed", benchmarks_dir())  # puts benchmarks/ on sys.path
    import common

    monkeypatch.setenv("CHEMTL_BENCH_RESULTS", str(tmp_path / "res"))
    monkeypatch.setenv("CHEMTL_BENCH_DOCS", str(tmp_path / "B.md"))
    assert common.render_markdown() == tmp_path / "B.md"
    assert "No results yet" in (tmp_path / "B.md").read_text()
    result = {
        "title": "demo",
        "targets": [common.target("x", 2.0, 1.0, "<=", "s"), common.target("y", 5.0, 4.0, ">=", "x")],
        "tables": [{"title": "t", "columns": ["a", "b"], "rows": [[1, None]]}],
    }
    common.write_result("demo", result, wall_seconds=1.0, started="now")
    page = common.render_markdown().read_text()
    assert "**Missed targets:** x: 2 s, target <= 1 s." in page
    assert "| x | 2 s | <= 1 s | MISS |" in page and "| y | 5 x | >= 4 x | PASS |" in page
    assert "| 1 | - |" in page


def test_a_piece_of_a_run_prints_that_nothing_was_published(chemtl, monkeypatch, tmp_path):
    # a benchmark whose main returns no result (recipe --only: a piece of the run)
    (tmp_path / "piece.py").write_text("def main(argv):\n    return {}\n")
    monkeypatch.setenv("CHEMTL_BENCHMARKS_DIR", str(tmp_path))
    code, out, err = chemtl("benchmark", "piece")
    assert (code, out, err) == (0, "result: none (a piece of the run; the full command publishes)\n", "")
