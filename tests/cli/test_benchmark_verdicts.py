"""Benchmark verdicts that cannot be wrong: quick runs, the tokenizer's id check, the leaderboard
note, the one std convention and the one seed parser (from fixed numbers; nothing is trained)."""

from __future__ import annotations

import json

import pytest

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark
from chemtl.errors import ChemtlError


@pytest.fixture(scope="module")
def speed():
    return load_benchmark("speed", benchmarks_dir())


@pytest.fixture(scope="module")
def matbench():
    return load_benchmark("matbench_expt_gap", benchmarks_dir())


@pytest.fixture(scope="module")
def common(speed):
    import common  # benchmarks/ is on sys.path once a benchmark is loaded

    return common


def measured(ids_identical: bool = True) -> tuple:
    tokenizers = {
        "smiles": {"ratio_vs_fit": 6.0, "ratio_vs_max128": 9.0, "baseline_ids_identical": ids_identical},
        "composition": {"ratio_cold": 5.0, "ratio_warm": 12.0},
    }
    inference = {
        "smiles": {"tokenizer_share": 0.01, "tokenizer_share_warm": 0.01},
        "composition": {"tokenizer_share": 0.02, "tokenizer_share_warm": 0.01},
    }
    engine = {"overhead": 0.05, "overhead_mean_based": 0.06}
    rss = {"peak_rss_gb": 1.5}
    return tokenizers, inference, engine, rss


def test_speed_targets_pass_on_good_numbers(speed):
    targets = speed.build_targets(*measured(), quick=False)
    assert [t["pass"] for t in targets] == [True] * 6
    assert targets[0]["value"] == 6.0


def test_speed_quick_run_has_no_verdicts(speed):
    targets = speed.build_targets(*measured(), quick=True)
    assert [t["pass"] for t in targets] == [None] * 6
    assert all(t["note"].endswith("quick smoke run, not the benchmark: no verdict") for t in targets)
    assert targets[0]["value"] == 6.0  # measured, only the verdict is withheld


def test_smiles_tokenizer_gets_no_pass_when_its_ids_differ(speed):
    targets = speed.build_targets(*measured(ids_identical=False), quick=False)
    assert targets[0]["pass"] is None
    assert "chemtl's ids differ from the baseline's on the same strings" in targets[0]["note"]
    assert [t["pass"] for t in targets[1:]] == [True] * 5


def test_ids_identical_checks_every_batch(speed):
    import torch

    ids = [torch.tensor([[2, 5, 3]]), torch.tensor([[2, 6, 3]])]
    same = lambda b: {"input_ids": torch.tensor([[2, 5 if b == ["a"] else 6, 3, 0]])}  # noqa: E731
    assert speed.ids_identical(same, [["a"], ["b"]], ids, 0) is True
    other = lambda b: {"input_ids": torch.tensor([[2, 5, 3, 0]])}  # noqa: E731
    assert speed.ids_identical(other, [["a"], ["b"]], ids, 0) is False  # the second batch differs
    unpadded = lambda b: {"input_ids": torch.tensor([[2, 5 if b == ["a"] else 6, 3, 9]])}  # noqa: E731
    assert speed.ids_identical(unpadded, [["a"], ["b"]], ids, 0) is False


def test_quick_results_stay_out_of_targets_at_a_glance(common, tmp_path):
    results, docs = tmp_path / "results", tmp_path / "B.md"
    real = {"title": "real", "targets": [common.target("x", 2.0, 1.0, "<=", "s")]}
    # an older quick result file that still claims a PASS
    quick = {"title": "smoke", "targets": [common.target("y", 5.0, 4.0, ">=", "x")]}
    assert quick["targets"][0]["pass"] is True
    common.write_result("real", real, wall_seconds=1.0, started="now", directory=results)
    common.write_result("smoke", quick, wall_seconds=1.0, started="now", quick=True, directory=results)
    page = common.render_markdown(results, docs).read_text()
    glance = page.split("## Targets at a glance")[1].split("\n## ")[0]
    assert "| real | x | 2 s | <= 1 s | MISS |" in glance and "smoke" not in glance
    assert "| y | 5 x | >= 4 x | NO VERDICT |" in page and "| y | 5 x | >= 4 x | PASS |" not in page


def test_publish_withholds_verdicts_of_a_quick_run(common, tmp_path):
    import argparse

    args = argparse.Namespace(quick=True, results_dir=str(tmp_path / "r"), docs=str(tmp_path / "B.md"))
    payload = {"title": "t", "targets": [common.target("z", 1.0, 2.0, "<=", "s")]}
    out = common.publish("t", payload, args, [], 0.0, "now")
    saved = json.loads(out["result"].read_text())
    assert out["result"].name == "t.quick.json"
    assert [(t["pass"], t["note"]) for t in saved["targets"]] == [
        (None, "quick smoke run, not the benchmark: no verdict")
    ]


def test_publish_writes_a_piece_of_a_protocol_beside_the_full_result(common, tmp_path):
    import argparse

    results, docs = tmp_path / "r", tmp_path / "B.md"
    args = argparse.Namespace(quick=False, results_dir=str(results), docs=str(docs))
    full = {
        "title": "full run",
        "targets": [common.target("z", 1.0, 2.0, "<=", "s")],
        "data": {"full_protocol": True},
    }
    piece = {
        "title": "one dataset",
        "targets": [common.target("w", 9.0, 2.0, "<=", "s")],
        "data": {"full_protocol": False},
    }
    assert common.publish("t", full, args, [], 0.0, "now")["result"].name == "t.json"
    out = common.publish("t", piece, args, [], 0.0, "now")
    assert out["result"].name == "t.partial.json"
    assert json.loads((results / "t.json").read_text())["title"] == "full run"  # not replaced
    page = docs.read_text()
    assert "full run" in page and "one dataset" not in page


def test_leaderboard_note_is_computed_from_the_measured_numbers(matbench):
    assert matbench.LEADERBOARD_TOLERANCE_EV == 0.01
    note, ok = matbench.leaderboard_note(0.4468, 1.1435, True)
    assert ok is True
    assert note == (
        "Peers reproduce the leaderboard within 0.01 eV: RF-Magpie 0.447 eV here vs 0.446 published "
        "(off by 0.001), predict-the-mean 1.143 eV vs 1.144 (off by 0.000)."
    )
    note, ok = matbench.leaderboard_note(0.4468, 1.1600, True)  # the dummy moves 0.016 eV away
    assert ok is False and note.startswith("Peers do NOT reproduce the leaderboard within 0.01 eV")
    note, ok = matbench.leaderboard_note(0.4570, 1.1435, True)  # the forest 0.011 eV away
    assert ok is False and "off by 0.011" in note
    note, ok = matbench.leaderboard_note(0.4468, 1.1435, False)
    assert ok is None and note.startswith("Not the full protocol")


def test_one_std_convention(common):
    assert common.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # ddof 1
    assert common.mean_std([5.0]) == (5.0, None)
    assert common.mean_std([]) == (None, None)
    assert common.std_label() == "sample std, ddof=1"


def test_seed_flags_are_lists_everywhere(common):
    assert common.seeds_arg("0,1,2") == (0, 1, 2)
    assert common.seeds_arg("3") == (3,)  # the single seed 3, not a count
    assert common.seeds_arg(" 7, ") == (7,)
    with pytest.raises(ChemtlError, match=r"^--ft-seeds '1,1': a value is given twice$"):
        common.seeds_arg("1,1", "--ft-seeds")
    with pytest.raises(ChemtlError, match=r"^--seeds 'x': write integers >= 0 separated by commas"):
        common.seeds_arg("x")


def test_benchmark_help_examples_run_as_written(common):
    import argparse
    import shlex

    from chemtl.cli import benchmark as benchmark_cli
    from chemtl.pretrained import shipped_models

    parser = argparse.ArgumentParser(prog="chemtl")
    sub = parser.add_subparsers()
    benchmark_cli.register(sub)
    text = sub.choices["benchmark"].epilog.split("examples:", 1)[1]
    commands = [shlex.split(line, comments=True) for line in text.splitlines() if line.strip()]
    assert [c[2] for c in commands] == [
        "speed", "matbench_expt_gap", "matbench_expt_gap", "learning_curve", "molecules", "speed", "fewshot",
        "adaptation", "describe", "generation", "prompt_bank",
    ]  # fmt: skip
    for argv in commands:
        assert argv[:2] == ["chemtl", "benchmark"]
        script = benchmark_cli.load_benchmark(argv[2], benchmark_cli.benchmarks_dir())
        args = script.build_parser().parse_args(argv[3:])
        for flag in ("model", "models"):
            value = getattr(args, flag, None)
            if value and value != "none" and flag in {a.lstrip("-") for a in argv}:
                assert all(m in shipped_models() for m in value.split(",")), value
        if getattr(args, "seeds", None):
            assert common.seeds_arg(args.seeds) in ((0, 1, 2), (0,))
