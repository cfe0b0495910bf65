"""The run ledger (benchmarks/ledger.py): finished runs kept in the repository and taken, after
their kept predictions are scored again, instead of training them again; a record whose
predictions do not give its numbers is never taken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark
from chemtl.errors import ChemtlError


@pytest.fixture(scope="module")
def ledger():
    load_benchmark("molecules", benchmarks_dir())
    import ledger  # benchmarks/ is on sys.path once a benchmark is loaded

    return ledger


def test_put_get_read_keep_the_first_record_of_a_key(ledger, tmp_path):
    book = ledger.Ledger(tmp_path / "ledger" / "molecules", "molecules")
    assert book.get("esol/a/rf", "k1") is None and book.read("esol/a/rf") is None
    path = book.put("esol/a/rf", "k1", {"summary": {"rmse": 1.5}, "x": [1, 2]})
    assert path == tmp_path / "ledger" / "molecules" / "esol" / "a" / "rf.json"
    entry = json.loads(path.read_text())
    assert (entry["format"], entry["benchmark"], entry["run"], entry["key"]) == (
        1,
        "molecules",
        "esol/a/rf",
        "k1",
    )
    assert entry["payload"] == {"summary": {"rmse": 1.5}, "x": [1, 2]}
    assert {"at", "measured", "machine", "git_commit", "versions"} <= set(entry["recorded"])
    assert book.get("esol/a/rf", "k1") == entry and book.get("esol/a/rf", "k2") is None
    # the same key again writes nothing: a record keeps its first measurement
    assert book.put("esol/a/rf", "k1", {"summary": {"rmse": 9.9}}) is None
    assert book.get("esol/a/rf", "k1")["payload"]["summary"] == {"rmse": 1.5}
    # unless asked to (a run trained again is a new measurement)
    assert book.put(
        "esol/a/rf", "k1", {"summary": {"rmse": 9.9}}, measured="2026-12-03T00:00:00+00:00", replace=True
    )
    assert book.get("esol/a/rf", "k1")["payload"]["summary"] == {"rmse": 9.9}
    assert book.get("esol/a/rf", "k1")["recorded"]["measured"] == "2026-12-03T00:00:00+00:00"
    # another key (a changed configuration is another run) is kept beside the first, never over it
    beside = tmp_path / "ledger" / "molecules" / "esol" / "a" / "rf.k2.json"
    assert book.path("esol/a/rf", "k2" * 8) == beside.with_name("rf.k2k2k2k2k2k2.json")
    assert book.put("esol/a/rf", "k2", {"summary": {"rmse": 2.5}}) == beside
    assert book.get("esol/a/rf", "k1")["payload"]["summary"] == {"rmse": 9.9}
    assert book.get("esol/a/rf", "k2")["payload"]["summary"] == {"rmse": 2.5}
    assert book.read("esol/a/rf")["key"] == "k1" and json.loads(beside.read_text())["key"] == "k2"
    assert book.put("esol/a/rf", "k2", {"summary": {"rmse": 7.5}}) is None
    assert book.put("esol/a/rf", "k2", {"summary": {"rmse": 7.5}}, replace=True) == beside
    assert book.get("esol/a/rf", "k2")["payload"]["summary"] == {"rmse": 7.5}
    assert book.get("esol/a/rf", "k1")["payload"]["summary"] == {"rmse": 9.9}
    assert book.sibling("molecule_recipe").root == tmp_path / "ledger" / "molecule_recipe"
    # an unreadable record is no record
    path.write_text("{not json")
    assert book.read("esol/a/rf") is None


def test_run_names_stay_inside_the_ledger_and_none_keeps_nothing(ledger, tmp_path):
    book = ledger.Ledger(tmp_path, "molecules")
    for bad in ("../x", "/abs/x", "a/./b", ""):
        with pytest.raises(ChemtlError, match="a relative path under the ledger is needed"):
            book.path(bad)
    off = ledger.Ledger(None, "molecules")
    assert off.put("esol/a/rf", "k", {"a": 1}) is None and off.get("esol/a/rf", "k") is None
    assert off.read("esol/a/rf") is None


def test_from_args_defaults(ledger, tmp_path):
    class Args:
        def __init__(self, ledger=None, quick=False):
            self.ledger, self.quick = ledger, quick

    L = ledger.Ledger.from_args
    assert L(Args(), "molecules", tmp_path).root == tmp_path / "ledger" / "molecules"
    assert L(Args(quick=True), "molecules", tmp_path).root is None
    assert L(Args("none"), "molecules", tmp_path).root is None
    assert L(Args(str(tmp_path / "x"), quick=True), "molecules", tmp_path).root == tmp_path / "x"
    (tmp_path / "file").write_text("")
    with pytest.raises(ChemtlError, match=r"^--ledger '.*/file': not a directory$"):
        L(Args(str(tmp_path / "file")), "molecules", tmp_path)


def test_a_file_as_ledger_is_a_one_line_error(chemtl, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    code, out, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", "none", "--chemprop", "none", "--ledger", tmp_path / "f.txt",
        "--results-dir", tmp_path / "r", "--docs", tmp_path / "B.md", "--work-dir", tmp_path / "w",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"error: --ledger {str(tmp_path / 'f.txt')!r}: not a directory"]
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()


def test_same_score_and_summary_note(ledger):
    assert ledger.same_score(0.5, 0.5 + 4e-7) and not ledger.same_score(0.5, 0.5 + 2e-6)
    assert ledger.same_score(1000.0, 1000.0005) and not ledger.same_score(1000.0, 1000.002)
    assert ledger.same_score(None, None) and not ledger.same_score(None, 0.1)
    book = ledger.Ledger(Path("/nowhere/ledger/molecules"), "molecules")
    runs = [
        {"ledger": {"at": "2026-12-02T05:00:00+00:00", "cpu_model": "EPYC"}},
        {"ledger": {"at": "2026-12-04T01:00:00+00:00", "cpu_model": "EPYC"}},
        {"ledger": None},
    ]
    assert ledger.summary_note(runs, book) == (
        "2 of 3 runs were taken from the run ledger (/nowhere/ledger/molecules), measured 2026-12-02 to "
        "2026-12-04 on EPYC by this same script; each was scored again from its kept predictions, which "
        "give its recorded numbers."
    )
    assert ledger.summary_note([{"ledger": None}], book) is None


def _quick(tiny_smiles_model, tmp_path, work):
    return (
        "benchmark", "molecules", "--quick", "--model", tiny_smiles_model, "--splits", "random",
        "--chemprop", "none", "--rf-trees", "5", "--results-dir", tmp_path / "results",
        "--docs", tmp_path / "B.md", "--work-dir", work, "--ledger", tmp_path / "ledger",
    )  # fmt: skip


def test_molecules_takes_recorded_runs_once_the_work_dir_is_gone(chemtl, tiny_smiles_model, tmp_path):
    argv = _quick(tiny_smiles_model, tmp_path, tmp_path / "work")
    code, _, err = chemtl(*argv)
    assert code == 0, err
    result = tmp_path / "results" / "molecules.quick.json"
    first = json.loads(result.read_text())["data"]["runs"][0]["methods"]
    chemtl_name = f"chemtl-{Path(tiny_smiles_model).name}"
    records = sorted(p.relative_to(tmp_path / "ledger") for p in (tmp_path / "ledger").rglob("*.json"))
    assert records == [
        Path(f"esol/random_seed0_cap60/{chemtl_name}.json"),
        Path("esol/random_seed0_cap60/rf-morgan.json"),
    ]
    rec = json.loads((tmp_path / "ledger" / records[0]).read_text())
    stamp = json.loads(
        (tmp_path / "work" / "esol" / "random_seed0_cap60" / chemtl_name / "bench_run.json").read_text()
    )
    assert (
        rec["key"] == stamp["hash"] and rec["payload"]["metrics"]["test"]["rmse"] == first["chemtl"]["rmse"]
    )
    assert [len(rec["payload"]["predictions"][s]["rows"]) for s in ("val", "test")] == [6, 6]
    # measured: when the run finished (its manifest), not when it was written down
    run_dir = tmp_path / "work" / "esol" / "random_seed0_cap60" / chemtl_name
    assert rec["recorded"]["measured"] == json.loads((run_dir / "manifest.json").read_text())["finished"]
    assert first["chemtl"]["ledger"] is None and first["rf"]["ledger"] is None

    # a new machine: no work directory, the same ledger; nothing is trained again
    argv2 = _quick(tiny_smiles_model, tmp_path, tmp_path / "work2")
    code, _, err = chemtl(*argv2)
    assert code == 0, err
    assert "chemtl: taken from the ledger (esol/random_seed0_cap60/" in err
    assert "RF-Morgan: taken from the ledger (esol/random_seed0_cap60/rf-morgan" in err
    assert not (tmp_path / "work2" / "esol" / "random_seed0_cap60" / chemtl_name).exists()
    r = json.loads(result.read_text())
    again = r["data"]["runs"][0]["methods"]
    for m, path in zip(("chemtl", "rf"), records, strict=True):
        assert again[m]["rmse"] == first[m]["rmse"] and again[m]["reused"] is True
        assert (
            again[m]["ledger"]["at"]
            == json.loads((tmp_path / "ledger" / path).read_text())["recorded"]["measured"]
        )
    assert again["chemtl"]["wall_seconds"] == first["chemtl"]["wall_seconds"]
    assert any(n.startswith("2 of 2 runs were taken from the run ledger") for n in r["notes"])

    # a record whose predictions do not give its numbers is not taken: the run is trained again
    for name in (chemtl_name, "rf-morgan"):
        path = tmp_path / "ledger" / "esol" / "random_seed0_cap60" / f"{name}.json"
        entry = json.loads(path.read_text())
        preds = (
            entry["payload"]["predictions"]["test"]["predictions"]
            if name == chemtl_name
            else entry["payload"]["test_predictions"]
        )
        preds[0] += 1.0
        path.write_text(json.dumps(entry))
    argv3 = _quick(tiny_smiles_model, tmp_path, tmp_path / "work3")
    code, _, err = chemtl(*argv3)
    assert code == 0, err
    assert "taken from the ledger" not in err
    third = json.loads(result.read_text())["data"]["runs"][0]["methods"]
    assert third["chemtl"]["ledger"] is None and third["chemtl"]["reused"] is False
    # ... and its new measurement replaces the failed record, which is taken again next time
    code, _, err = chemtl(*_quick(tiny_smiles_model, tmp_path, tmp_path / "work4"))
    assert code == 0 and err.count("taken from the ledger") == 2, err
    # the seeded runs land on the same numbers (the same seed and threads)
    assert third["chemtl"]["rmse"] == first["chemtl"]["rmse"] and third["rf"]["rmse"] == first["rf"]["rmse"]


def test_a_quick_run_keeps_no_ledger_unless_asked(chemtl, tmp_path):
    argv = (
        "benchmark", "molecules", "--quick", "--model", "none", "--chemprop", "none", "--rf-trees", "5",
        "--results-dir", tmp_path / "results", "--docs", tmp_path / "B.md", "--work-dir", tmp_path / "w",
    )  # fmt: skip
    code, _, err = chemtl(*argv)
    assert code == 0, err
    assert not (tmp_path / "results" / "ledger").exists()
    assert json.loads((tmp_path / "results" / "molecules.quick.json").read_text())["data"]["ledger"] is None


def test_molecule_recipe_takes_its_baseline_and_peers_from_the_molecules_ledger(
    chemtl, tiny_smiles_model, tmp_path
):
    results, docs, book = tmp_path / "results", tmp_path / "B.md", tmp_path / "ledger"
    code, _, err = chemtl(
        "benchmark", "molecules", "--quick", "--model", tiny_smiles_model, "--datasets", "lipophilicity",
        "--splits", "scaffold", "--epochs", "1", "--patience", "3", "--features", "rdkit", "--chemprop", "none",
        "--rf-trees", "5", "--results-dir", results, "--docs", docs, "--work-dir", tmp_path / "mol-work",
        "--ledger", book / "molecules",
    )  # fmt: skip
    assert code == 0, err
    mol = json.loads((results / "molecules.quick.json").read_text())["data"]["runs"][0]["methods"]
    # the molecules work directory is gone (another session); its ledger is there
    code, _, err = chemtl(
        "benchmark", "molecule_recipe", "--quick", "--model", tiny_smiles_model, "--ingredients", "l1",
        "--molecules-dir", tmp_path / "gone", "--results-dir", results, "--docs", docs,
        "--work-dir", tmp_path / "work", "--ledger", book / "molecule_recipe",
    )  # fmt: skip
    assert code == 0, err
    assert "note: the molecules benchmark's baseline run is not reused" not in err
    data = json.loads((results / "molecule_recipe.quick.json").read_text())["data"]
    assert data["baseline"]["from_molecules"] is True and data["baseline"]["ledger"] is True
    base = data["runs"]["baseline"]
    assert base["reused"] is True and base["rmse"] == mol["chemtl+rdkit"]["rmse"]
    assert data["peers"]["rf"]["rmse"] == mol["rf"]["rmse"]
    assert data["peers"]["rf"]["status"] == "read from the molecules benchmark (its ledger)"
    assert data["peers"]["chemprop"]["status"] == "not run"
    # its own rows are recorded in its own ledger
    assert (book / "molecule_recipe" / "lipophilicity" / "scaffold_seed0_cap60").is_dir()


def test_moleculeace_takes_recorded_runs_with_their_cliff_scores(chemtl, tiny_smiles_model, tmp_path):
    def argv(work):
        return (
            "benchmark", "moleculeace", "--quick", "--model", tiny_smiles_model, "--results-dir", tmp_path / "r",
            "--docs", tmp_path / "B.md", "--work-dir", work, "--ledger", tmp_path / "ledger",
        )  # fmt: skip

    code, _, err = chemtl(*argv(tmp_path / "w1"))
    assert code == 0, err
    result = tmp_path / "r" / "moleculeace.quick.json"
    first = json.loads(result.read_text())["data"]["runs"][0]["methods"]
    names = sorted(p.stem for p in (tmp_path / "ledger").rglob("*.json"))
    assert names == [f"chemtl-{Path(tiny_smiles_model).name}", "rf", "svm"]
    code, _, err = chemtl(*argv(tmp_path / "w2"))
    assert code == 0, err
    assert err.count("taken from the ledger (CHEMBL4616_EC50/seed0_cap100/") == 3
    again = json.loads(result.read_text())["data"]["runs"][0]["methods"]
    for m in ("chemtl", "rf", "svm"):
        assert (again[m]["rmse"], again[m]["cliff_rmse"]) == (first[m]["rmse"], first[m]["cliff_rmse"]), m
        assert again[m]["reused"] is True and again[m]["ledger"] is not None
