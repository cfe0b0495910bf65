"""`chemtl benchmark pretraining_ablation --quick`: eight pretrained variants, their downstream errors,
the differences to the baselines and the (withheld) verdict of (d), JSON and docs page."""

from __future__ import annotations

import json
import math

import pytest

VARIANTS = [
    "comp-random",
    "comp-element-group",
    "comp-contrastive",
    "smiles-random",
    "smiles-span",
    "smiles-contrastive",
    "smiles-span-descriptors",
    "smiles-descriptors",
]
DEFAULT = [v for v in VARIANTS if v != "smiles-contrastive"]


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
        assert math.isfinite(p["val_loss"])
        # no probe for a model whose masked-token head was never trained
        assert (
            p["probe_val_loss"] is None if key == "smiles-descriptors" else math.isfinite(p["probe_val_loss"])
        )
        descriptors = "descriptors" in v["objectives"]
        assert (work / "pretrain" / key / "descriptor_targets.json").is_file() is descriptors
        assert p["descriptor_targets"] == (
            {"file": "descriptor_targets.json", "descriptors": 178, "fit_rows": 100,
             "fit_on": "the held-out head rows (val_rows)"} if descriptors else None
        )  # fmt: skip
        assert (work / "pretrain" / key / "model.safetensors").is_file()
        sizes = (60, 368, 921) if key.startswith("comp") else (60, 113, 113)
        assert (d["train_size"], d["n_val"], d["n_test"]) == sizes
        assert d["seeds"] == [0] and len(d["mae"]) == 1 and d["mae_mean"] > 0 and d["runs_trained"] == 1
    assert data["variants"]["comp-element-group"]["mask"] == "element-group"
    assert data["variants"]["smiles-span"]["mask"] == "span"
    assert data["variants"]["comp-contrastive"]["objectives"] == ["mlm", "contrastive"]
    span_desc, desc = data["variants"]["smiles-span-descriptors"], data["variants"]["smiles-descriptors"]
    assert (span_desc["objectives"], span_desc["mask"], span_desc["baseline"]) == (
        ["mlm", "descriptors"], "span", "smiles-span",
    )  # fmt: skip
    assert (desc["objectives"], desc["mask"], desc["baseline"]) == (["descriptors"], None, "smiles-random")
    assert desc["label"] == "smiles / descriptors / no masking"
    # the unused masking stays at PretrainConfig's default; the descriptor weight at 1
    assert (
        desc["pretrain"]["config"]["mask"] == "random"
        and desc["pretrain"]["config"]["descriptor_weight"] == 1.0
    )
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
        ("smiles-span-descriptors", "smiles-span"),
        ("smiles-descriptors", "smiles-random"),
    ]
    assert [a["ablation"][:3] for a in data["ablations"]] == ["(a)", "(c)", "(b)", "(c)", "(d)", "(e)"]
    for a in data["ablations"]:
        var, base = data["variants"][a["variant"]], data["variants"][a["baseline"]]
        assert a["delta_mae"] == pytest.approx(var["downstream"]["mae_mean"] - base["downstream"]["mae_mean"])
        assert a["downstream"] == base["downstream"]["dataset"]
        assert a["better"] == (
            "variant" if a["delta_mae"] < 0 else "baseline" if a["delta_mae"] > 0 else "tie"
        )
    assert data["ablations"][-1]["delta_probe_val_loss"] is None  # (e): no probe for descriptors alone
    assert sorted(data["scratch"]) == ["composition", "smiles"]
    assert data["scratch"]["smiles"]["train_size"] == 60 and data["scratch"]["composition"]["n_test"] == 921

    # (d)'s verdict: computed from the numbers, withheld in a smoke run
    (t,) = r["targets"]
    d = data["ablations"][4]
    assert t["name"] == (
        "(d) span masking + descriptor regression better downstream than span masking alone: esol test ΔMAE, "
        "smiles-span-descriptors minus smiles-span"
    )
    assert (t["value"], t["target"], t["op"], t["unit"], t["pass"]) == (
        d["delta_mae"],
        0.0,
        "<",
        "log mol/L",
        None,
    )
    assert t["note"].endswith(
        "fine-tuning seed 0; one seed: a difference within the seed-to-seed spread is noise, whichever side it "
        "falls; quick smoke run, not the benchmark: no verdict"
    )
    rows = r["tables"][0]["rows"]
    assert [row[0] for row in rows] == VARIANTS + [
        "scratch (composition, no pretraining)",
        "scratch (smiles, no pretraining)",
    ]
    assert rows[7][1:3] == ["descriptors", "-"] and rows[7][5] is None  # no masking, no probe
    assert rows[6][1:3] == ["mlm+descriptors", "span"] and rows[6][5] == round(
        span_desc["pretrain"]["probe_val_loss"], 4
    )
    assert len(r["tables"][1]["rows"]) == 6 and len(r["tables"][2]["rows"]) == 10

    page = docs.read_text()
    assert (
        "## Pretraining ablation: masking and objectives at equal steps (quick smoke run: not the benchmark)"
        in page
    )
    assert "(a) masking, compositions: element-group vs random" in page
    assert "(b) masking, SMILES: span vs random" in page
    assert (
        "| (d) objective, SMILES: span masking + descriptor regression vs span masking | smiles-span-descriptors |"
        in page
    )
    assert (
        "| (e) objective, SMILES: descriptor regression alone vs random masking | smiles-descriptors |"
        in page
    )
    assert "| NO VERDICT |" in page

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
    assert [v.key for v in module._variants(None)] == DEFAULT
    # the baseline's baseline too: (d) is judged against smiles-span, itself against smiles-random
    assert [v.key for v in module._variants("smiles-span-descriptors")] == [
        "smiles-random", "smiles-span", "smiles-span-descriptors",
    ]  # fmt: skip
    assert [v.key for v in module._variants("smiles-descriptors")] == ["smiles-random", "smiles-descriptors"]
    assert [v.key for v in module._variants("all")] == VARIANTS
    code, out, err = chemtl("benchmark", "pretraining_ablation", "--variants", "nope")
    assert code == 2 and out == "" and err.startswith("error: --variants 'nope'")
    assert len(err.strip().splitlines()) == 1
