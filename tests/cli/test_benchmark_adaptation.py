"""`chemtl benchmark adaptation`: the scenario-splitting helpers, and a --quick run end to end."""

from __future__ import annotations

import json

import pytest

from chemtl.cli import main as cli_main
from chemtl.cli.benchmark import benchmarks_dir, load_benchmark

SCENARIOS = ["dft_to_expt", "oxide_to_nonoxide", "lipo_scaffold"]
METHODS = ["source-only", "dann", "dann-w0.1", "chain", "direct", "target-supervised"]
ADAPT = ["source-only", "dann", "dann-w0.1"]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("adaptation", benchmarks_dir())


# ----------------------------------------------------------------------------------------------
# helpers


def test_oxide_rule(bench):
    formulas = ["Fe2O3", "NaCl", "OsO4", "Os", "MgO", "GaN", "CaCO3", "Os2Se"]
    assert [bench.is_oxide(f) for f in formulas] == [True, False, True, False, True, False, True, False]
    source, target = bench.oxide_split(formulas)
    assert source.tolist() == [0, 2, 4, 6] and target.tolist() == [1, 3, 5, 7]


def test_target_compounds_removed_from_source(bench):
    source = ["Fe2O3", "Fe4O6", "NaCl", "Na2Cl2", "MgO", "GaN", "Cu9S5"]
    # FeO1.5 is Fe2O3, ClNa is NaCl, Cu1.8S is Cu9S5: removed by composition key, whatever the spelling
    removed = ["FeO1.5", "ClNa", "Cu1.8S"]
    assert bench.without_compounds(source, "composition", removed, None, 0).tolist() == [4, 5]
    one = bench.without_compounds(source, "composition", removed, 1, 0).tolist()
    assert len(one) == 1 and one[0] in (4, 5)
    # the same seed draws the same row
    assert bench.without_compounds(source, "composition", removed, 1, 0).tolist() == one
    assert bench.without_compounds(source, "composition", [], 3, 0).tolist() == sorted(
        bench.draw_rows(range(7), 3, 0, "adaptation-source").tolist()
    )


def test_draw_rows_looks_only_at_what_it_needs(bench):
    seen = []
    rows = bench.draw_rows(range(10), 2, 5, "salt", lambda i: seen.append(i) or True)
    assert len(seen) == 2 and sorted(seen) == rows.tolist()
    assert bench.draw_rows(range(10), None, 5, "salt", lambda i: i % 3 == 0).tolist() == [0, 3, 6, 9]
    assert bench.draw_rows(range(4), 10, 0, "salt").tolist() == [0, 1, 2, 3]


def test_scaffold_cluster_split(bench):
    smiles = ["Oc1ccccc1", "Nc1ccccc1", "Cc1ccccc1", "OC1CCCCC1", "NC1CCCCC1", "CCO"]
    # scaffolds: benzene x3, cyclohexane x2, acyclic x1; the largest fill the source up to half the rows
    source, target = bench.scaffold_clusters(smiles, 0.5)
    assert source.tolist() == [0, 1, 2] and target.tolist() == [3, 4, 5]
    # up to 4 rows: benzene (3), cyclohexane (2) does not fit, the acyclic one (1) does
    source, target = bench.scaffold_clusters(smiles, 2 / 3)
    assert source.tolist() == [0, 1, 2, 5] and target.tolist() == [3, 4]


def test_target_sides(bench):
    train, test = bench.target_sides(range(10), 0.2, None, 0)
    assert len(test) == 2 and len(train) == 8
    assert sorted(train.tolist() + test.tolist()) == list(range(10))
    capped, test2 = bench.target_sides(range(10), 0.2, 3, 0)
    assert (
        len(capped) == 3 and set(capped.tolist()) <= set(train.tolist()) and test2.tolist() == test.tolist()
    )


# ----------------------------------------------------------------------------------------------
# the quick run


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _quick(capsys, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = [
        "benchmark",
        "adaptation",
        "--quick",
        "--results-dir",
        results,
        "--docs",
        docs,
        "--work-dir",
        work,
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    path = results / "adaptation.quick.json"
    assert out.splitlines() == [f"result: {path}", f"docs: {docs}"]
    return argv, path, work


def test_quick_adaptation_benchmark(capsys, tmp_path):  # about 60 s on 2 busy cores
    _, path, work = _quick(capsys, tmp_path)
    docs = tmp_path / "BENCHMARKS.md"
    r = json.loads(path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "command", "machine", "versions", "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "adaptation" and r["quick"] is True and r["seed"] == [0]
    # a quick run claims no verdict
    assert [t["name"].split(":")[0] for t in r["targets"]] == [
        *SCENARIOS, "scenarios where DANN's mean target error is below source-only's", "dft_to_expt",
    ]  # fmt: skip
    assert all(t["pass"] is None for t in r["targets"])
    assert "at most 60 source rows, 24 target test rows and 24 rows" in r["measured"]
    assert [x["value"] for x in r["references"]] == [
        "0.446 -> 0.355 eV",
        "most methods did not improve on the source-only model",
    ]
    data = r["data"]["scenarios"]
    assert list(data) == SCENARIOS
    assert [data[s]["model"] for s in SCENARIOS] == ["composition-small-mp"] * 2 + ["smiles-small"]
    assert [data[s]["metric"] for s in SCENARIOS] == ["mae", "mae", "rmse"]
    available = {
        "dft_to_expt": (106113, 4604),
        "oxide_to_nonoxide": (65160, 67592),
        "lipo_scaffold": (2100, 2100),
    }
    for s in SCENARIOS:
        (rep,) = data[s]["replicates"]
        rows = rep["rows"]
        assert (rows["n_source"], rows["n_target_train"], rows["n_target_test"]) == (60, 24, 24)
        assert (rows["source_rows_available"], rows["target_rows_available"]) == available[s]
        runs = rep["runs"]
        assert list(runs) == METHODS
        assert all(runs[m]["n_test"] == 24 for m in METHODS)
        assert [runs[m]["n_train"] for m in ("chain", "direct", "target-supervised")] == [8, 8, 24]
        for m in ADAPT:
            assert runs[m]["n_source_train"] + runs[m]["n_source_val"] <= 60
            for when in ("gap_before", "gap_after"):
                assert set(runs[m][when]) == {"mmd2", "mmd_p_value", "a_distance"}
        # every adapt run measured the gap before adaptation on the same rows, with the same model
        assert (
            runs["source-only"]["gap_before"] == runs["dann"]["gap_before"] == runs["dann-w0.1"]["gap_before"]
        )
        summary = data[s]["summary"]
        for m in ("dann", "dann-w0.1"):
            assert summary[f"{m} - source-only"]["values"] == [
                pytest.approx(runs[m][data[s]["metric"]] - runs["source-only"][data[s]["metric"]], abs=1e-3)
            ]
    assert data["dft_to_expt"]["replicates"][0]["rows"]["target_compounds_excluded_from_source"] == 4601
    # the source csv holds none of the target's compounds
    from chemtl.data import load_dataset
    from chemtl.data.keys import compound_keys

    src = (work / "dft_to_expt" / "seed0" / "data" / "source.csv").read_text().splitlines()[1:]
    expt = set(compound_keys(list(load_dataset("matbench_expt_gap").inputs), "composition"))
    assert len(src) == 60 and not expt & set(
        compound_keys([line.split(",")[0] for line in src], "composition")
    )
    page = docs.read_text()
    assert (
        "## Domain adaptation: three domain shifts" in page and "(quick smoke run: not the benchmark)" in page
    )


@pytest.mark.slow
def test_quick_adaptation_benchmark_reuses_and_resumes(capsys, tmp_path):  # two quick runs: about 95 s
    argv, path, work = _quick(capsys, tmp_path)
    data = json.loads(path.read_text())["data"]["scenarios"]
    # a second run reuses every finished run and gives the same numbers; a run whose stamp says it
    # was still running when killed (here: dft_to_expt's DANN) is run again, to the same numbers
    stamp = work / "dft_to_expt" / "seed0" / "dann" / "bench_run.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "status": "running"}))
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    again = json.loads(path.read_text())["data"]["scenarios"]
    for s in SCENARIOS:
        runs = again[s]["replicates"][0]["runs"]
        assert [runs[m]["reused"] for m in METHODS] == [True, s != "dft_to_expt", True, True, True, True]
        assert again[s]["summary"] == data[s]["summary"]


def _results(bench, values: dict[str, dict[str, list[float]]]) -> dict:
    out = {}
    for name, per_method in values.items():
        metric = bench.METRIC[name]
        reps = [
            {
                "seed": s,
                "runs": {
                    m: {metric: per_method[m][s], "n_train": 100, "gap_before": None, "gap_after": None}
                    for m in METHODS
                },
            }
            for s in range(3)
        ]
        out[name] = {
            "metric": metric,
            "units": "u",
            "replicates": reps,
            "summary": bench.summarise(reps, metric),
        }
    return out


def test_verdicts_are_computed_from_the_numbers(bench):
    same = [1.0, 1.0, 1.0]
    results = _results(
        bench,
        {
            # DANN 0.05 better on every seed; the chain 0.1 better than direct
            "dft_to_expt": {"source-only": [0.5, 0.6, 0.7], "dann": [0.45, 0.55, 0.65], "dann-w0.1": [0.5, 0.6, 0.7], "chain": [0.4] * 3,
                            "direct": [0.5] * 3, "target-supervised": [0.3] * 3},
            # DANN worse by 0.1 on average, source-only's own spread 0: worse beyond the spread
            "oxide_to_nonoxide": {"source-only": [0.1] * 3, "dann": [0.2, 0.1, 0.3], "dann-w0.1": [0.05] * 3, "chain": same,
                                  "direct": same, "target-supervised": [1 / 32] * 3},
            # DANN worse by 0.3, std 0.1: worse beyond the spread
            "lipo_scaffold": {"source-only": same, "dann": [1.3, 1.2, 1.4], "dann-w0.1": same, "chain": same, "direct": same,
                              "target-supervised": same},
        },
    )  # fmt: skip
    assert results["oxide_to_nonoxide"]["summary"]["dann - source-only"] == {
        "mean": 0.1, "std": 0.1, "values": [0.1, 0.0, 0.2],
    }  # fmt: skip
    targets, notes = bench.targets_and_notes(results)
    assert [(t["value"], t["target"], t["op"], t["pass"]) for t in targets] == [
        (-0.05, 0.1, "<=", True),
        (0.1, pytest.approx(0.0, abs=1e-12), "<=", False),
        (0.3, 0.0, "<=", False),
        (1, 1, ">=", True),
        (-0.1, 0.0, "<", True),
    ]
    assert (
        notes[3]
        == "oxide_to_nonoxide: DANN did NOT beat source-only on mean target MAE (difference 0.1, std 0.1)."
    )
    assert notes[4].startswith(
        "oxide_to_nonoxide (ablation, not judged): DANN with lambda rising to 0.1 beat source-only "
        "(difference -0.05, std "
    )
    # lipophilicity: target-supervised (1.0) behind source-only (1.0)? a tie is not behind: no note
    assert not any("not the upper bound" in n for n in notes)
    ablation = results["oxide_to_nonoxide"]["summary"]["dann-w0.1 - source-only"]
    assert ablation["mean"] == -0.05 and ablation["std"] == pytest.approx(0.0, abs=1e-12)
    assert notes[1] == (
        "dft_to_expt (ablation, not judged): DANN with lambda rising to 0.1 did NOT beat source-only "
        "(difference 0.0, std 0.0)."
    )
    assert notes[8] == (
        "lipo_scaffold: the chain (source then 100 target rows) did NOT beat direct fine-tuning on the same rows "
        "(difference 0.0, std 0.0)."
    )
    # one seed: no spread, so no verdict on 'not worse beyond the spread'
    one = {n: {"metric": r["metric"], "units": "u", "replicates": r["replicates"][:1],
               "summary": bench.summarise(r["replicates"][:1], r["metric"])} for n, r in results.items()}  # fmt: skip
    targets, _ = bench.targets_and_notes(one)
    assert [t["pass"] for t in targets[:3]] == [None, None, None]
    assert [t["value"] for t in targets[:3]] == [-0.05, 0.1, 0.3]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--scenarios", "nope"], "error: --scenarios 'nope': choose among dft_to_expt, oxide_to_nonoxide, lipo_scaffold"),
        (["--quick", "--target-labels", "30"], "error: --target-labels 30 is more than --target-cap 24"),
        (["--quick", "--source-cap", "0"], "error: --source-cap 0: must be at least 1"),
        (["--models", "a,b"], "error: --models 'a,b': give one model per scenario (dft_to_expt, oxide_to_nonoxide, lipo_scaffold)"),
    ],
)  # fmt: skip
def test_bad_flags_are_one_line_errors(capsys, tmp_path, flags, message):
    code, out, err = run(capsys, "benchmark", "adaptation", *flags, "--work-dir", tmp_path / "w",
                         "--results-dir", tmp_path / "r", "--docs", tmp_path / "B.md")  # fmt: skip
    assert code == 2 and out == ""
    assert err.strip() == message
    assert not (tmp_path / "r").exists()


def test_an_upper_bound_behind_the_control_is_said_so(bench):
    same = [1.0, 1.0, 1.0]
    results = _results(
        bench,
        {"lipo_scaffold": {"source-only": same, "dann": same, "dann-w0.1": same, "chain": same, "direct": same,
                           "target-supervised": [1.5] * 3}},
    )  # fmt: skip
    _, notes = bench.targets_and_notes(results)
    assert (
        "lipo_scaffold: target-supervised training (100 target rows) scored 1.5, behind source-only's 1.0: with "
        "this budget it is not the upper bound it stands for (more epochs on the target's rows would be)."
    ) in notes
