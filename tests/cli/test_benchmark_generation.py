"""`chemtl benchmark generation --quick` with a stand-in sampler: result JSON, no verdicts, the CharRNN row."""

from __future__ import annotations

import json

import pytest

from chemtl.cli import main as cli_main
from chemtl.cli.benchmark import benchmarks_dir, load_benchmark
from chemtl.data import iter_moses

COMPOSITIONS = ["NaCl", "Fe2O3", "LiFePO4", "Xx"]  # the last one does not parse


def smiles_stand_in() -> list[str]:
    first_train = next(iter_moses("train"))  # in the (truncated) train set: not novel
    return ["CCO", "CC(C", first_train, "CCN(CC)C(=O)c1ccccc1"]


def stand_in(model: str, n: int, seed: int, condition=None) -> list[str]:
    base = COMPOSITIONS if model == "fake-comp" else smiles_stand_in()
    return [base[i % 4] for i in range(n)]


# a toy band-gap condition: bins (-inf, 0], (0, 2], (2, inf); each bin's token samples its own
# formulas, and the stand-in judge knows their gaps
EDGES = [0.0, 2.0]
KEPT = {
    "band_gap": {
        "edges": EDGES,
        "tokens": ["[band_gap=b0]", "[band_gap=b1]", "[band_gap=b2]"],
        "range": [0.0, 6.0],
    }
}
BY_BIN = {0.0: ["Cu", "Fe3Al", "Xx"], 1.0: ["GaAs", "Si", "CdTe"], 4.0: ["NaCl", "MgO", "Fe3Al"]}
GAP = {"Cu": 0.0, "Fe3Al": 0.0, "GaAs": 1.4, "Si": 1.1, "CdTe": 1.5, "NaCl": 8.5, "MgO": 7.8}


def conditioned_stand_in(model: str, n: int, seed: int, condition=None) -> list[str]:
    base = COMPOSITIONS if condition is None else BY_BIN[condition["band_gap"]]
    return [base[i % len(base)] for i in range(n)]


def stand_in_judge(args, log):
    def predict(inputs):
        return [GAP.get(x, 1.0) for x in inputs]  # NaCl as written; Fe2O3 and LiFePO4 unknown: 1.0

    info = {"model": "stand-in judge", "dataset": "toy", "control_rows": 3,
            "control_inputs": ["Cu", "Si", "MgO"], "control_labels": [0.0, 1.2, 7.8]}  # fmt: skip
    return predict, info


def test_conditioning_is_judged_per_bin_against_unconditioned_samples(tmp_path):
    module = load_benchmark("generation", benchmarks_dir())
    out = module.main(
        ["--quick", "--models", "composition=fake-comp", "--condition-n", "6",
         "--results-dir", str(tmp_path), "--docs", str(tmp_path / "B.md")],
        sample_fn=conditioned_stand_in,
        conditions_fn=lambda model: KEPT,
        judge_fn=stand_in_judge,
    )  # fmt: skip
    r = json.loads(out["result"].read_text())
    c = r["data"]["conditioning"]
    assert c["judge"] == {"model": "stand-in judge", "dataset": "toy", "control_rows": 3}
    m = c["models"]["fake-comp"]
    assert m["edges"] == EDGES
    # bin 0: Cu, Fe3Al judged (Xx does not parse), each twice: median 0.0, in bin 0
    b0, b1, b2 = (m["bins"][k] for k in ("0", "1", "2"))
    assert (b0["value"], b0["token"], b0["n_samples"], b0["n_valid"], b0["median"], b0["in_bin"]) == (
        0.0, "[band_gap=b0]", 6, 4, 0.0, True,
    )  # fmt: skip
    assert (b1["value"], b1["median"], b1["median_bin"], b1["in_bin"]) == (1.0, 1.4, 1, True)
    # bin 2 samples NaCl, MgO and a metal: median 7.8, in bin 2
    assert (b2["value"], b2["median"], b2["in_bin"], b2["fraction_in_bin"]) == (4.0, 7.8, True, 2 / 3)
    # unconditioned: the first 6 samples, NaCl Fe2O3 LiFePO4 (Xx) NaCl Fe2O3 -> 8.5, 1, 1, 8.5, 1
    assert m["unconditioned"]["n"] == 5 and m["unconditioned"]["median"] == 1.0
    assert b2["shift"] == pytest.approx(6.8)
    assert m["all_in_bin"] is True and m["bins_in_bin"] == 3
    assert [m["control"][k]["median"] for k in ("0", "1", "2")] == [0.0, 1.1, 7.8]
    target = r["targets"][-1]
    assert target["name"] == (
        "fake-comp: conditioning: median predicted band_gap of --condition band_gap=B samples in bin B, "
        "every bin (bins in their bin / bins)"
    )
    assert target["value"] == 1.0 and target["pass"] is None  # a quick run claims no verdict
    assert (
        "the judge puts the median of real held-out compounds in their own bin for 3 of 3 bins"
        in target["note"]
    )
    table = next(t for t in r["tables"] if t["title"].startswith("Conditioning: fake-comp"))
    assert table["rows"][0][:6] == ["[band_gap=b0] (-inf, 0]", 0.0, 4, 0.0, 0, 1.0]
    assert table["rows"][-1][:5] == ["no condition", None, 5, 1.0, 1]


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
        "conditioning: median predicted band_gap of --condition band_gap=B samples in bin B, every bin",
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
