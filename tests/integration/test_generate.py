"""Tiny causal models trained through `pretrain --objective causal`, then sampled with `generate`."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from chemtl.training.config import ModelConfig, PretrainConfig, TrainConfig

FORMULAS = ["Fe2O3", "LiCoO2", "NaCl", "ZnS", "BaTiO3"]
SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCCO"]
SELFIES = ["[C][C][O]", "[C][=C][C][=C][C][=C][Ring1][=Branch1]", "[C][C][=Branch1][C][=O][O]", "[C][C][N]"]
OXIDES = ["Li2O", "MgO", "CaO", "Al2O3", "TiO2", "ZnO"]
SULFIDES = ["Li2S", "MgS", "CaS", "Al2S3", "TiS2", "ZnS"]


def overfit(tmp_path, rows, kind, name, steps=300, repeat=40, **pretrain_options):
    from chemtl.pipelines.pretrain import pretrain

    corpus = tmp_path / f"{name}.txt"
    corpus.write_text("".join(f"{r}\n" for r in rows * repeat))
    train = TrainConfig(
        batch_size=20,
        max_epochs=1000,
        max_steps=steps,
        lr=3e-3,
        warmup_steps=10,
        scheduler="constant",
        patience=None,
        checkpoint_every_n_steps=1000,
        progress_bar=False,
    )
    config = PretrainConfig(objectives="causal", val_rows=0, max_length=64, **pretrain_options)
    return pretrain(str(corpus), ModelConfig(size="tiny", kind=kind), train, config, tmp_path / name)


@pytest.fixture(scope="module")
def composition_run(tmp_path_factory):
    return overfit(tmp_path_factory.mktemp("comp"), FORMULAS, "composition", "comp")


def test_a_tiny_model_generates_the_formulas_it_was_trained_on(composition_run):
    from chemtl.pipelines.generate import generate

    out = composition_run.out_dir
    meta = json.loads((out / "chemtl.json").read_text())
    assert (meta["task"], meta["grammar"], meta["conditions"]) == ("causal", "formula_text", {})
    assert json.loads((out / "config.json").read_text())["model_type"] == "gpt2"
    cold = generate(out, 30, temperature=0.2, seed=1)
    assert list(cold.columns) == ["sample", "text", "valid", "canonical"]
    assert set(cold["text"]) <= set(FORMULAS) and cold["valid"].all()
    warm = generate(out, 200, temperature=1.0, seed=2, batch_size=64)
    assert warm["valid"].all()  # every generated composition parses
    assert set(warm["text"]) >= set(FORMULAS)
    assert warm["text"].isin(FORMULAS).mean() >= 0.95
    assert (warm["canonical"] == [c for c in warm["canonical"]]).all()


def test_the_same_seed_gives_the_same_samples(composition_run):
    from chemtl.pipelines.generate import generate

    a = generate(composition_run.out_dir, 40, seed=7, batch_size=16)
    b = generate(composition_run.out_dir, 40, seed=7, batch_size=16)
    c = generate(composition_run.out_dir, 40, seed=8, batch_size=16)
    assert a.equals(b) and not a["text"].equals(c["text"])


def test_a_prefix_starts_every_sample(composition_run):
    from chemtl.pipelines.generate import generate

    out = generate(composition_run.out_dir, 20, temperature=0.5, prefix="Li", seed=0)
    assert (out["text"] == "LiCoO2").all()


def test_an_untrained_generator_still_writes_only_whole_formulas(tmp_path):
    from chemtl.pipelines.generate import generate

    run = overfit(tmp_path, FORMULAS, "composition", "cold", steps=2)
    out = generate(run.out_dir, 300, seed=0, max_elements=3, batch_size=100)
    assert out["valid"].all()
    parsed = [len(t) for t in out["text"]]
    assert min(parsed) >= 1
    from chemtl.chem.composition import parse_composition

    assert max(len(parse_composition(t).elements) for t in out["text"]) <= 3


def test_smiles_overfit_then_generated_back(tmp_path):
    from chemtl.pipelines.generate import generate

    run = overfit(tmp_path, SMILES, "smiles", "smiles")
    out = generate(run.out_dir, 30, temperature=0.2, seed=0)
    assert set(out["text"]) <= set(SMILES) and out["valid"].all()
    assert set(out["canonical"]) <= {"CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCCO"}


def test_selfies_samples_always_decode(tmp_path):
    from chemtl.chem.selfies import selfies_to_smiles
    from chemtl.pipelines.generate import generate

    run = overfit(tmp_path, SELFIES, "selfies", "selfies", steps=150)
    out = generate(run.out_dir, 100, temperature=1.0, seed=0)
    assert out["valid"].all()
    assert list(out["canonical"]) == [selfies_to_smiles(s, canonical=True) for s in out["text"]]


def test_the_condition_token_moves_the_samples(tmp_path):
    from chemtl.pipelines.generate import generate

    labelled = tmp_path / "gaps.csv"
    rows = [(f, 1.0 + 0.1 * i) for i, f in enumerate(OXIDES)] + [
        (f, 4.0 + 0.1 * i) for i, f in enumerate(SULFIDES)
    ]
    # the labelled rows (each 20 times) outnumber the unconditioned corpus (each formula 4 times)
    labelled.write_text("formula,gap\n" + "".join(f"{f},{g}\n" for f, g in rows * 20))
    run = overfit(
        tmp_path,
        OXIDES + SULFIDES,
        "composition",
        "cond",
        steps=400,
        repeat=4,
        conditions=(f"gap:{labelled}:gap",),
        bins=2,
    )
    meta = json.loads((run.out_dir / "chemtl.json").read_text())["conditions"]["gap"]
    assert meta["tokens"] == ["[gap=b0]", "[gap=b1]"] and meta["counts"] == [120, 120]
    assert meta["edges"] == [pytest.approx(2.75)] and meta["range"] == [1.0, 4.5]
    assert run.metrics["conditioned_rows"] == 240
    low = generate(run.out_dir, 40, temperature=0.7, condition={"gap": 1.2}, seed=0)
    high = generate(run.out_dir, 40, temperature=0.7, condition={"gap": 4.4}, seed=0)
    free = generate(run.out_dir, 80, temperature=0.7, seed=0)
    assert (low["condition"] == "[gap=b0]").all() and (high["condition"] == "[gap=b1]").all()
    assert low["text"].isin(OXIDES).all() and high["text"].isin(SULFIDES).all()
    assert free["text"].isin(OXIDES).any() and free["text"].isin(SULFIDES).any()


def test_a_causal_directory_loads_for_generate_only(composition_run):
    from chemtl.pipelines.modeldir import WrongModelKindError, load_model_dir
    from chemtl.pretrained import load_model

    out = composition_run.out_dir
    loaded = load_model_dir(out, causal=True)
    assert (loaded.kind, loaded.task, type(loaded.tokenizer).__name__) == (
        "composition",
        "causal",
        "FormulaTextTokenizer",
    )
    with pytest.raises(WrongModelKindError, match="is a causal generator \\(GPT-2\\), not an encoder"):
        load_model_dir(out)
    assert type(load_model(out)).__name__ == "GPT2LMHeadModel"


def test_package_a_causal_run(composition_run, tmp_path):
    from chemtl.packaging import package_model
    from chemtl.pretrained import load_model

    shipped = package_model(composition_run.out_dir, tmp_path / "gpt", "tiny-gpt", "chemtl pretrain ...")
    card = (shipped / "README.md").read_text()
    assert card.startswith(
        "# tiny-gpt\n\nA chemtl composition generator (Hugging Face GPT-2), size `tiny`, trained on "
        "next-token prediction (causal language model).\nLoad it offline with `chemtl generate --model tiny-gpt`"
    )
    assert "| rows seen / steps / epochs | 6000 / 300 / 30 |" in card
    model = load_model(shipped)
    ref = load_file(composition_run.out_dir / "model.safetensors")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in ref.items())


def test_a_killed_causal_run_resumes_to_the_same_weights(tmp_path, kill_at_checkpoint, cli_main):
    """SIGKILL mid-run, then --resume: the weights and numbers of an uninterrupted run (as
    tests/integration/test_resume.py does for fine-tuning)."""

    from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"{f}\n" for f in (OXIDES + SULFIDES + FORMULAS) * 4))
    labelled = tmp_path / "gaps.csv"
    labelled.write_text(
        "formula,gap\n" + "".join(f"{f},{i * 0.5}\n" for i, f in enumerate(OXIDES + SULFIDES))
    )
    common = [
        "pretrain",
        "--corpus",
        corpus,
        "--objective",
        "causal",
        "--size",
        "tiny",
        "--kind",
        "composition",
    ]
    common += ["--condition", f"gap:{labelled}:gap", "--bins", "3", "--epochs", "3", "--batch-size", "8"]
    common += ["--val-rows", "8", "--checkpoint-every", "2", "--warmup-steps", "2", "--no-progress"]
    assert cli_main(*common, "--out", tmp_path / "whole") == 0

    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    assert not (killed / "metrics.json").exists()
    step = torch.load(ckpt, weights_only=True)["global_step"]
    assert 0 < step < 3 * 9  # 72 train rows: 9 batches per epoch

    assert cli_main(*common, "--out", killed, "--resume") == 0
    whole, cut = load_file(tmp_path / "whole" / "model.safetensors"), load_file(killed / "model.safetensors")
    assert whole.keys() == cut.keys() and all(torch.equal(whole[k], cut[k]) for k in whole)

    def numbers(d):
        metrics = json.loads((d / "metrics.json").read_text())
        return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}

    assert numbers(killed) == numbers(tmp_path / "whole")
    assert json.loads((killed / "manifest.json").read_text())["resumed_from_step"] == step
    assert (killed / "chemtl.json").read_text() == (tmp_path / "whole" / "chemtl.json").read_text()
