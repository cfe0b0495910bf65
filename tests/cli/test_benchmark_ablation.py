"""`chemtl benchmark pretraining_ablation --quick`: six pretrained variants, their downstream errors and
the differences to the baselines, JSON and docs page."""

from __future__ import annotations

import json
import math

import pytest

from chemtl.cli import main as cli_main

VARIANTS = [
    "comp-random",
    "comp-element-group",
    "comp-contrastive",
    "smiles-random",
    "smiles-span",
    "smiles-contrastive",
]


@pytest.fixture
def chemtl(capsys):
    """`chemtl ARGS` in this process -> (status, out, err)."""

    def run(*argv) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_quick_ablation_writes_result_and_docs(chemtl, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = (
        "benchmark", "pretraining_ablation", "--quick",
        "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    code, out, err = chemtl(*argv)
    assert code == 0, err
    result_path = results / "pretraining_ablation.quick.json"
    assert out.splitlines() == [f"result: {result_path}", f"docs: {docs}"]

    r = json.loads(result_path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "started", "finished", "command", "machine", "versions",
                "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "pretraining_ablation" and r["quick"] is True and r["seed"] == 0
    data = r["data"]
    assert data["model_size"] == "tiny" and data["val_rows"] == 100 and data["ft_seeds"] == [0]
    assert data["steps"] == {"composition": 5, "smiles": 5}
    assert data["batch_size"] == {"composition": 16, "smiles": 16}
    assert data["corpus_limits"] == {"composition": 2000, "smiles": 2000}
    assert data["downstream_sizes"] == {"matbench_expt_gap": 60, "esol": 60}
    assert data["finetune_config"]["max_epochs"] == 1
    assert list(data["variants"]) == VARIANTS

    for key, v in data["variants"].items():
        p, d = v["pretrain"], v["downstream"]
        assert v["corpus"] == ("inorganic_corpus" if key.startswith("comp") else "moses")
        assert p["steps"] == 5 and p["rows_seen"] == 80 and p["reused"] is False
        assert p["corpus_rows"] == 2000 and p["n_val"] == 100 and p["n_train"] == 1900
        assert math.isfinite(p["val_loss"]) and math.isfinite(p["probe_val_loss"])
        assert (work / "pretrain" / key / "model.safetensors").is_file()
        sizes = (60, 368, 921) if key.startswith("comp") else (60, 113, 113)
        assert (d["train_size"], d["n_val"], d["n_test"]) == sizes
        assert d["seeds"] == [0] and len(d["mae"]) == 1 and d["mae_mean"] > 0 and d["runs_trained"] == 1
    assert data["variants"]["comp-element-group"]["mask"] == "element-group"
    assert data["variants"]["smiles-span"]["mask"] == "span"
    assert data["variants"]["comp-contrastive"]["objectives"] == ["mlm", "contrastive"]
    assert data["variants"]["comp-random"]["delta_mae"] == 0.0

    # the same held-out rows and masks: the probe is the own-objective loss for a random-mask mlm variant
    for base in ("comp-random", "smiles-random"):
        p = data["variants"][base]["pretrain"]
        assert p["probe_val_loss"] == pytest.approx(p["val_loss"], rel=1e-5)

    assert [(a["variant"], a["baseline"]) for a in data["ablations"]] == [
        ("comp-element-group", "comp-random"),
        ("comp-contrastive", "comp-random"),
        ("smiles-span", "smiles-random"),
        ("smiles-contrastive", "smiles-random"),
    ]
    for a in data["ablations"]:
        var, base = data["variants"][a["variant"]], data["variants"][a["baseline"]]
        assert a["delta_mae"] == pytest.approx(var["downstream"]["mae_mean"] - base["downstream"]["mae_mean"])
        assert a["downstream"] == base["downstream"]["dataset"]
    assert sorted(data["scratch"]) == ["composition", "smiles"]
    assert data["scratch"]["smiles"]["train_size"] == 60 and data["scratch"]["composition"]["n_test"] == 921

    assert r["targets"] == []
    assert [row[0] for row in r["tables"][0]["rows"]] == VARIANTS + [
        "scratch (composition, no pretraining)",
        "scratch (smiles, no pretraining)",
    ]
    assert len(r["tables"][1]["rows"]) == 4 and len(r["tables"][2]["rows"]) == 8

    page = docs.read_text()
    assert (
        "## Pretraining ablation: masking and objectives at equal steps (quick smoke run: not the benchmark)"
        in page
    )
    assert "(a) masking, compositions: element-group vs random" in page
    assert "(b) masking, SMILES: span vs random" in page

    # the same command again reuses every pretraining and every fine-tuning run
    code, _, err = chemtl(*argv)
    assert code == 0, err
    again = json.loads(result_path.read_text())["data"]
    for key, v in again["variants"].items():
        assert v["pretrain"]["reused"] is True
        assert v["downstream"]["runs_reused"] == 1 and v["downstream"]["runs_trained"] == 0
        assert v["downstream"]["mae"] == data["variants"][key]["downstream"]["mae"]


def test_variants_add_their_baseline(chemtl):
    from chemtl.cli.benchmark import benchmarks_dir, load_benchmark

    module = load_benchmark("pretraining_ablation", benchmarks_dir())
    assert [v.key for v in module._variants("smiles-span")] == ["smiles-random", "smiles-span"]
    assert [v.key for v in module._variants(None)] == VARIANTS[:-1]
    assert [v.key for v in module._variants("all")] == VARIANTS
    code, out, err = chemtl("benchmark", "pretraining_ablation", "--variants", "nope")
    assert code == 2 and out == "" and err.startswith("error: --variants 'nope'")
    assert len(err.strip().splitlines()) == 1
