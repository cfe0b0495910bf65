"""`chemtl benchmark generation --quick` with a stand-in sampler: result JSON, no verdicts, the CharRNN row."""

from __future__ import annotations

import json

from chemtl.cli import main as cli_main
from chemtl.cli.benchmark import benchmarks_dir, load_benchmark
from chemtl.data import iter_moses

COMPOSITIONS = ["NaCl", "Fe2O3", "LiFePO4", "Xx"]  # the last one does not parse


def smiles_stand_in() -> list[str]:
    first_train = next(iter_moses("train"))  # in the (truncated) train set: not novel
    return ["CCO", "CC(C", first_train, "CCN(CC)C(=O)c1ccccc1"]


def stand_in(model: str, n: int, seed: int) -> list[str]:
    base = COMPOSITIONS if model == "fake-comp" else smiles_stand_in()
    return [base[i % 4] for i in range(n)]


def test_quick_generation_benchmark_with_a_stand_in_sampler(tmp_path):
    module = load_benchmark("generation", benchmarks_dir())
    results, docs = tmp_path / "results", tmp_path / "BENCHMARKS.md"
    out = module.main(
        ["--quick", "--models", "composition=fake-comp,smiles=fake-smiles",
         "--results-dir", str(results), "--docs", str(docs)],
        sample_fn=stand_in,
    )  # fmt: skip
    assert out == {"result": results / "generation.quick.json", "docs": docs}
    r = json.loads(out["result"].read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "started", "finished", "command", "machine", "versions",
                "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "generation" and r["quick"] is True and r["seed"] == 0
    # a smoke run claims no verdict
    assert [t["name"] for t in r["targets"]] == [
        "fake-comp: composition validity",
        "fake-comp: uniqueness",
        "fake-comp: novelty vs inorganic_corpus",
        "fake-comp: SMACT-valid fraction (alloys valid) at or above the corpus' own",
        "fake-smiles: SMILES validity",
        "fake-smiles: unique@10k",
        "fake-smiles: novelty vs MOSES train",
        "fake-smiles: IntDiv1",
        "conditioning: median predicted band gap of --condition band_gap=B samples in bin B, every bin",
    ]
    assert all(t["pass"] is None for t in r["targets"])
    assert r["targets"][0]["value"] == 0.75 and r["targets"][0]["target"] == 1.0
    assert r["targets"][-1]["value"] is None

    data = r["data"]
    assert data["settings"]["n"] == 64 and data["settings"]["ref_size"] == 200
    assert data["settings"]["no_fcd"] is True  # a quick run leaves FCD out
    assert "FCD left out of this run (--no-fcd; always in a quick run)." in r["notes"]
    comp = data["models"]["fake-comp"]["metrics"]
    assert (comp["n"], comp["n_valid"], comp["n_unique"], comp["validity"], comp["uniqueness"]) == (
        64, 48, 3, 0.75, 3 / 48,
    )  # fmt: skip
    assert comp["smact_version"] == "4.0.2"
    mol = data["models"]["fake-smiles"]["metrics"]
    assert (mol["n"], mol["n_valid"], mol["validity"], mol["unique@10000"]) == (64, 48, 0.75, 3 / 48)
    assert mol["novelty"] == 2 / 3  # the MOSES train SMILES is not novel
    assert mol["fcd_note"] == "FCD skipped (fcd=False)" and "FCD" not in mol
    assert data["moses"]["train_rows"] == 5000 and data["moses"]["test_rows"] == 200
    assert data["moses"]["filter_patterns"] == {"mcf": 22, "pains": 480}
    assert len(data["random_baseline"]["examples"]) == 10 and data["random_baseline"]["metrics"]["n"] == 64
    assert data["corpus_sample"]["rows"] == 200

    # the MOSES CharRNN row, as published, in the data, the table and the references
    assert data["moses_charrnn"]["validity"] == 0.975 and data["moses_charrnn"]["novelty"] == 0.842
    molecules = next(t for t in r["tables"] if t["title"] == "Molecules: MOSES metrics")
    assert molecules["rows"][-1][:4] == ["MOSES CharRNN (published)", "smiles", 0.975, 1.0]
    compositions = next(t for t in r["tables"] if t["title"].startswith("Compositions"))
    assert [row[0] for row in compositions["rows"]] == [
        "fake-comp", "random element-frequency baseline", "inorganic_corpus sample",
    ]  # fmt: skip
    assert [(x["name"], x["value"]) for x in r["references"]] == [
        ("MOSES CharRNN validity", 0.975),
        ("MOSES CharRNN unique@10000", 0.999),
        ("MOSES CharRNN novelty", 0.842),
        ("MOSES CharRNN IntDiv1", 0.856),
        ("MOSES CharRNN filters", 0.994),
        ("charge-neutral generated formulas", 0.976),
        ("electronegativity-balanced generated formulas", 0.912),
    ]
    page = docs.read_text()
    assert (
        "## Generation: MOSES metrics (molecules), validity, novelty and SMACT (compositions) (quick" in page
    )
    assert "MOSES CharRNN (published)" in page


def test_bad_models_flag_is_a_one_line_error(capsys, tmp_path):
    code = cli_main.main(
        ["benchmark", "generation", "--quick", "--models", "protein=x", "--results-dir", str(tmp_path)]
    )
    _, err = capsys.readouterr()
    assert code == 2
    assert err == "error: --models 'protein=x': kind 'protein' is not one of composition, smiles, selfies\n"


def test_unknown_model_is_a_one_line_error(capsys, tmp_path):
    code = cli_main.main(
        ["benchmark", "generation", "--models", str(tmp_path / "nope"), "--results-dir", str(tmp_path)]
    )
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"error: --models '{tmp_path / 'nope'}': '{tmp_path / 'nope'}' is neither a shipped model ("
    )
