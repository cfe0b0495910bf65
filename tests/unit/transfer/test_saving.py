"""A fine-tuned model of every strategy saves as safetensors and reloads to the same predictions."""

from __future__ import annotations

import json

import pytest
import torch

from chemtl.models import ChemtlForPropertyPrediction
from chemtl.transfer import (
    StrategyConfig,
    TransferError,
    apply_strategy,
    load_finetuned,
    parameter_groups,
    save_finetuned,
)

OPTIONS = {"partial": {"trainable_layers": 1}, "prefix": {"prefix_projection": True}}
STRATEGY_NAMES = ["full", "feature", "partial", "scratch", "prompt", "prefix", "lora"]


def train_a_few_steps(model, batch, steps: int = 3):
    optimizer = torch.optim.AdamW(parameter_groups(model, lr=0.05))
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch, labels=torch.tensor([0.5, -1.0, 2.0])).loss.backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize("kind", ["composition", "smiles"])
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_save_and_reload_predicts_the_same(name, kind, load_tiny, batches, tmp_path):
    config = StrategyConfig(name, **OPTIONS.get(name, {}))
    model = train_a_few_steps(apply_strategy(load_tiny(kind), config), batches[kind])
    with torch.no_grad():
        expected = model(**batches[kind]).logits
    save_finetuned(model, tmp_path / "run", config)
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "model.safetensors" in files and "config.json" in files and "strategy.json" in files
    assert not any(f.endswith((".bin", ".pt", ".pth")) for f in files)

    loaded, loaded_config = load_finetuned(tmp_path / "run")
    assert loaded_config == config
    assert not loaded.training
    with torch.no_grad():
        got = loaded(**batches[kind]).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # saving does not disturb the model being trained
    with torch.no_grad():
        torch.testing.assert_close(model(**batches[kind]).logits, expected)


def test_saved_files_per_strategy(load_tiny, batches, tmp_path):
    expected = {
        "full": [],
        "prompt": ["prompt_adapter"],
        "prefix": ["prefix_encoder.safetensors"],
        "lora": [],
    }
    for name, extra in expected.items():
        config = StrategyConfig(name)
        out = save_finetuned(apply_strategy(load_tiny(), config), tmp_path / name, config)
        files = sorted(p.name for p in out.iterdir())
        assert files == sorted(["config.json", "model.safetensors", "strategy.json", *extra]), name
        assert json.loads((out / "strategy.json").read_text())["name"] == name
    adapter = sorted(p.name for p in (tmp_path / "prompt" / "prompt_adapter").iterdir())
    assert adapter == ["adapter_config.json", "adapter_model.safetensors"]


def test_lora_saves_a_plain_merged_model(load_tiny, batches, tmp_path):
    config = StrategyConfig("lora")
    model = train_a_few_steps(apply_strategy(load_tiny(), config), batches["composition"])
    with torch.no_grad():
        expected = model(**batches["composition"]).logits
    save_finetuned(model, tmp_path / "run", config)
    plain = ChemtlForPropertyPrediction.from_pretrained(tmp_path / "run").eval()  # no PEFT needed
    assert not any("lora" in n or "modules_to_save" in n for n, _ in plain.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(plain(**batches["composition"]).logits, expected, rtol=1e-5, atol=1e-6)
    loaded, _ = load_finetuned(tmp_path / "run")
    assert type(loaded) is ChemtlForPropertyPrediction


def test_prompt_and_prefix_base_is_the_frozen_encoder_with_the_trained_head(
    load_tiny, pretrained_dirs, tmp_path
):
    for name in ("prompt", "prefix"):
        config = StrategyConfig(name)
        model = apply_strategy(load_tiny(), config)
        head = model.get_base_model().classifier
        head = getattr(head, "modules_to_save", {"default": head})["default"]
        with torch.no_grad():
            head.out.bias.fill_(3.0)
        save_finetuned(model, tmp_path / name, config)
        base = ChemtlForPropertyPrediction.from_pretrained(tmp_path / name)
        pretrained = ChemtlForPropertyPrediction.from_pretrained(pretrained_dirs["composition"])
        assert base.classifier.out.bias.item() == 3.0
        for (n, p), q in zip(base.chemtl.named_parameters(), pretrained.chemtl.parameters()):
            assert torch.equal(p, q), n


def test_load_finetuned_needs_strategy_json(pretrained_dirs):
    with pytest.raises(TransferError) as err:
        load_finetuned(pretrained_dirs["composition"])
    assert str(err.value) == (
        f"{pretrained_dirs['composition']!r} has no strategy.json; it is not a fine-tuned chemtl model directory"
    )
