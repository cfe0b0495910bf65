"""`chemtl benchmark adaptation`: the scenario-splitting helpers, and a --quick run end to end."""

from __future__ import annotations

import json

import pytest

from chemtl.cli import main as cli_main
from chemtl.cli.benchmark import benchmarks_dir, load_benchmark

SCENARIOS = ["dft_to_expt", "oxide_to_nonoxide", "lipo_scaffold"]
METHODS = ["source-only", "dann", "chain", "direct", "target-supervised"]


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


def test_quick_adaptation_benchmark(capsys, tmp_path):
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
        for m in ("source-only", "dann"):
            assert runs[m]["n_source_train"] + runs[m]["n_source_val"] <= 60
            for when in ("gap_before", "gap_after"):
                assert set(runs[m][when]) == {"mmd2", "mmd_p_value", "a_distance"}
        # both adapt methods measured the gap before adaptation on the same rows, with the same model
        assert runs["source-only"]["gap_before"] == runs["dann"]["gap_before"]
        summary = data[s]["summary"]
        assert summary["dann - source-only"]["values"] == [
            pytest.approx(runs["dann"][data[s]["metric"]] - runs["source-only"][data[s]["metric"]], abs=1e-3)
        ]
    assert data["dft_to_expt"]["replicates"][0]["rows"]["target_compounds_removed_from_source"] == 4604
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

    # a second run reuses every finished run and gives the same numbers
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    again = json.loads(path.read_text())["data"]["scenarios"]
    for s in SCENARIOS:
        runs = again[s]["replicates"][0]["runs"]
        assert all(runs[m]["reused"] for m in METHODS)
        assert again[s]["summary"] == data[s]["summary"]
