"""StrategyConfig: validation with exact one-line messages, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

from chemtl.errors import ChemtlError
from chemtl.models.element_tables import ELEMENT_TABLES
from chemtl.transfer import StrategyConfig, TrainableLayersError, TransferError, UnknownStrategyError


def test_unknown_strategy_names_the_value_and_the_choices():
    with pytest.raises(UnknownStrategyError) as err:
        StrategyConfig("adapter")
    assert str(err.value) == (
        "unknown strategy 'adapter'; choose one of full, feature, partial, scratch, prompt, prefix, lora"
    )
    assert isinstance(err.value, ChemtlError)


def test_partial_needs_trainable_layers():
    with pytest.raises(TrainableLayersError) as err:
        StrategyConfig("partial")
    assert str(err.value) == "strategy 'partial' needs trainable_layers (--trainable-layers K)"


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_trainable_layers_must_be_a_positive_integer(value):
    with pytest.raises(TrainableLayersError) as err:
        StrategyConfig("partial", trainable_layers=value)
    assert str(err.value) == f"trainable_layers must be an integer >= 1, got {value!r}"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            dict(name="full", trainable_layers=2),
            "trainable_layers=2 only applies to strategy partial, not 'full'",
        ),
        (dict(name="full", lora_r=4), "lora_r=4 only applies to strategy lora, not 'full'"),
        (
            dict(name="lora", num_virtual_tokens=5),
            "num_virtual_tokens=5 only applies to strategy prompt or prefix, not 'lora'",
        ),
        (dict(name="prompt", init_seed=3), "init_seed=3 only applies to strategy scratch, not 'prompt'"),
        (
            dict(name="full", element_init="mat2vec"),
            "element_init='mat2vec' only applies to strategy scratch, not 'full'",
        ),
        (
            dict(name="scratch", element_init="word2vec"),
            "unknown element_init 'word2vec'; choose one of " + ", ".join(ELEMENT_TABLES),
        ),
        (dict(name="lora", lora_dropout=1.0), "lora_dropout must be a number in [0, 1), got 1.0"),
        (dict(name="lora", lora_r=0), "lora_r must be an integer >= 1, got 0"),
        (dict(name="prompt", prompt_init="text"), "unknown prompt_init 'text'; choose one of random, vocab"),
        (dict(name="prefix", num_virtual_tokens=0), "num_virtual_tokens must be an integer >= 1, got 0"),
        (
            dict(name="prefix", freeze_prompt=True),
            "freeze_prompt=True only applies to strategy prompt, not 'prefix'",
        ),
        (dict(name="prompt", freeze_prompt="yes"), "freeze_prompt must be true or false, got 'yes'"),
        (dict(name="prefix", prefix_hidden_size=64), "prefix_hidden_size=64 needs prefix_projection=True"),
        (
            dict(name="lora", lora_target_modules=()),
            "lora_target_modules must be non-empty module names, got ()",
        ),
    ],
)
def test_invalid_combinations(config, message):
    with pytest.raises(TransferError) as err:
        StrategyConfig(**config)
    assert str(err.value) == message


def test_lora_target_module_unknown_to_the_model(load_tiny):
    from chemtl.transfer import apply_strategy

    with pytest.raises(TransferError) as err:
        apply_strategy(load_tiny(), StrategyConfig("lora", lora_target_modules=["query", "q_proj"]))
    assert str(err.value) == (
        "lora_target_modules 'q_proj' not found in the encoder layers; "
        "choose from dense, fc_in, fc_out, key, query, value"
    )


def test_json_round_trip(tmp_path):
    configs = [
        StrategyConfig("partial", trainable_layers=3),
        StrategyConfig(
            "lora", lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_target_modules=["query", "key"]
        ),
        StrategyConfig("prefix", num_virtual_tokens=5, prefix_projection=True, prefix_hidden_size=64),
        StrategyConfig("scratch", init_seed=0),
        StrategyConfig("scratch", element_init="mat2vec"),
    ]
    for config in configs:
        path = tmp_path / "strategy.json"
        config.save(path)
        assert StrategyConfig.load(path) == config
        assert StrategyConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert configs[1].lora_target_modules == ("query", "key")
    assert json.loads(path.read_text())["name"] == "scratch"


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(TransferError) as err:
        StrategyConfig.from_dict({"name": "full", "lr": 0.1})
    assert str(err.value) == "unknown StrategyConfig field(s): lr"
