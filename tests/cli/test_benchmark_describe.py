"""`chemtl benchmark describe --quick`: read-back, heads, text metrics in the result JSON; no verdicts."""

from __future__ import annotations

import json

import pytest

from chemtl.cli import main as cli_main


@pytest.fixture
def models(tmp_path):
    """An untrained tiny describer and a random tiny encoder (no training: a smoke run)."""
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.models.seq2seq import build_text_tokenizer, new_describer
    from chemtl.pipelines.describe import save_describer
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    torch.manual_seed(0)
    tok = build_text_tokenizer(
        ["metal, band gap 0.0 eV (DFT).", "non-metal semiconductor, band gap 1.2 eV (DFT)."]
    )
    describer = tmp_path / "describer"
    save_describer(
        describer, new_describer(tok.get_vocab_size(), "tiny").eval(), tok, size="tiny", max_target_length=8
    )
    encoder = tmp_path / "encoder"
    ctok = get_tokenizer("composition")
    config = ChemtlConfig.from_size("tiny", "composition")
    save_model_dir(encoder, ChemtlForMaskedLM(config).save_pretrained, ctok, make_meta(kind="composition"))
    return describer, encoder


def test_quick_describe_benchmark(capsys, tmp_path, models):
    describer, encoder = models
    results, docs = tmp_path / "results", tmp_path / "BENCHMARKS.md"
    argv = ["benchmark", "describe", "--quick", "--model", describer, "--head-model", encoder,
            "--n-test", 8, "--n-train", 40, "--results-dir", results, "--docs", docs,
            "--work-dir", tmp_path / "work"]  # fmt: skip
    code = cli_main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((results / "describe.quick.json").read_text())
    assert result["quick"] is True
    assert [t["pass"] for t in result["targets"]] == [None]  # a smoke run: no verdicts
    data = result["data"]
    assert (data["n_train"], data["n_val"], data["n_test"]) == (40, 5, 8)
    assert set(data["describer"]) == {"band_gap_mae", "metal_accuracy", "read_back_rate", "n"}
    assert set(data["text"]) == {"bleu", "rouge_l", "exact_match"}
    assert {"band_gap_mae", "metal_accuracy"} <= set(data["heads"])
    assert data["reference_floor"]["read_back_rate"] == 1.0  # every reference description reads back
    assert data["reference_floor"]["metal_accuracy"] == 1.0
    assert data["reference_floor"]["band_gap_mae"] <= 0.05  # one decimal
    assert data["sources"] == ["matbench_expt_gap", "matbench_expt_is_metal"]
    assert "Describe: composition to text" in docs.read_text()
