"""parameter_groups: the exact learning rate and weight decay of every named parameter."""

from __future__ import annotations

import pytest
import torch

from chemtl.transfer import StrategyConfig, TransferError, apply_strategy, parameter_groups

LR, HEAD_LR = 1e-3, 1e-2


def per_parameter(groups) -> dict[str, tuple[str, float, float]]:
    table = {}
    for g in groups:
        assert len(g["params"]) == len(g["param_names"])
        for name in g["param_names"]:
            assert name not in table
            table[name] = (g["name"], g["lr"], g["weight_decay"])
    return table


def layer_expectation(i: int, lr: float, prefix: str = "chemtl") -> dict[str, tuple[str, float, float]]:
    p = f"{prefix}.encoder.layers.{i}"
    tag = f"layer.{i}"
    nd = (f"{tag}.no_decay", lr, 0.0)
    wd = (tag, lr, 0.01)
    return {
        f"{p}.attention_norm.weight": nd,
        f"{p}.attention_norm.bias": nd,
        f"{p}.attention.query.weight": wd,
        f"{p}.attention.query.bias": nd,
        f"{p}.attention.key.weight": wd,
        f"{p}.attention.key.bias": nd,
        f"{p}.attention.value.weight": wd,
        f"{p}.attention.value.bias": nd,
        f"{p}.attention.dense.weight": wd,
        f"{p}.attention.dense.bias": nd,
        f"{p}.ffn_norm.weight": nd,
        f"{p}.ffn_norm.bias": nd,
        f"{p}.ffn.fc_in.weight": wd,
        f"{p}.ffn.fc_in.bias": nd,
        f"{p}.ffn.fc_out.weight": wd,
        f"{p}.ffn.fc_out.bias": nd,
    }


def test_full_with_layerwise_decay(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("full"))
    groups = parameter_groups(model, lr=LR, head_lr=HEAD_LR, lr_decay=0.5, weight_decay=0.01)
    expected = {
        # embeddings: below both layers, lr * 0.5 ** 2; the tables take no weight decay
        "chemtl.embeddings.word_embeddings.weight": ("embeddings.no_decay", LR / 4, 0.0),
        "chemtl.embeddings.fraction_encoding.projection.weight": ("embeddings", LR / 4, 0.01),
        "chemtl.embeddings.fraction_encoding.projection.bias": ("embeddings.no_decay", LR / 4, 0.0),
        "chemtl.embeddings.layer_norm.weight": ("embeddings.no_decay", LR / 4, 0.0),
        "chemtl.embeddings.layer_norm.bias": ("embeddings.no_decay", LR / 4, 0.0),
        **layer_expectation(0, LR / 2),
        **layer_expectation(1, LR),
        "chemtl.encoder.final_norm.weight": ("encoder_top.no_decay", LR, 0.0),
        "chemtl.encoder.final_norm.bias": ("encoder_top.no_decay", LR, 0.0),
        "classifier.transform.weight": ("head", HEAD_LR, 0.01),
        "classifier.transform.bias": ("head.no_decay", HEAD_LR, 0.0),
        "classifier.out.weight": ("head", HEAD_LR, 0.01),
        "classifier.out.bias": ("head.no_decay", HEAD_LR, 0.0),
    }
    assert per_parameter(groups) == expected
    assert [g["name"] for g in groups] == [
        "embeddings",
        "embeddings.no_decay",
        "layer.0",
        "layer.0.no_decay",
        "layer.1",
        "layer.1.no_decay",
        "encoder_top.no_decay",
        "head",
        "head.no_decay",
    ]
    # every trainable parameter exactly once, and torch accepts the groups as they are
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW(groups, lr=LR)
    assert [g["lr"] for g in optimizer.param_groups] == [g["lr"] for g in groups]


def test_defaults_no_decay_and_head_at_lr(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("full"))
    table = per_parameter(parameter_groups(model, lr=LR))
    assert {lr for _, lr, _ in table.values()} == {LR}
    assert table["classifier.out.weight"] == ("head", LR, 0.01)


def test_only_trainable_parameters(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("partial", trainable_layers=1))
    table = per_parameter(parameter_groups(model, lr=LR, head_lr=HEAD_LR, lr_decay=0.5))
    assert table == {
        **layer_expectation(1, LR),
        "chemtl.encoder.final_norm.weight": ("encoder_top.no_decay", LR, 0.0),
        "chemtl.encoder.final_norm.bias": ("encoder_top.no_decay", LR, 0.0),
        "classifier.transform.weight": ("head", HEAD_LR, 0.01),
        "classifier.transform.bias": ("head.no_decay", HEAD_LR, 0.0),
        "classifier.out.weight": ("head", HEAD_LR, 0.01),
        "classifier.out.bias": ("head.no_decay", HEAD_LR, 0.0),
    }


def test_lora_adapters_follow_their_layer(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("lora"))
    table = per_parameter(parameter_groups(model, lr=LR, head_lr=HEAD_LR, lr_decay=0.5))
    p = "base_model.model.chemtl.encoder.layers"
    h = "base_model.model.classifier.modules_to_save.default"
    assert table == {
        **{
            f"{p}.0.attention.{m}.lora_{ab}.default.weight": ("layer.0", LR / 2, 0.01)
            for m in ("query", "value")
            for ab in "AB"
        },
        **{
            f"{p}.1.attention.{m}.lora_{ab}.default.weight": ("layer.1", LR, 0.01)
            for m in ("query", "value")
            for ab in "AB"
        },
        f"{h}.transform.weight": ("head", HEAD_LR, 0.01),
        f"{h}.transform.bias": ("head.no_decay", HEAD_LR, 0.0),
        f"{h}.out.weight": ("head", HEAD_LR, 0.01),
        f"{h}.out.bias": ("head.no_decay", HEAD_LR, 0.0),
    }


@pytest.mark.parametrize(
    ("name", "table_name"),
    [("prompt", "prompt_encoder.default.embedding.weight"), ("prefix", "prefix_encoder.embedding.weight")],
)
def test_prompt_and_prefix_tables_train_at_head_lr_without_decay(name, table_name, load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig(name))
    table = per_parameter(parameter_groups(model, lr=LR, head_lr=HEAD_LR, lr_decay=0.5))
    assert table[table_name] == ("head.no_decay", HEAD_LR, 0.0)
    assert len(table) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lr=0), "lr must be a finite number > 0, got 0"),
        (dict(lr=1e-3, head_lr=-1.0), "head_lr must be a finite number > 0, got -1.0"),
        (dict(lr=1e-3, lr_decay=1.5), "lr_decay must be in (0, 1], got 1.5"),
        (dict(lr=1e-3, lr_decay=0), "lr_decay must be a finite number > 0, got 0"),
        (dict(lr=1e-3, weight_decay=-0.1), "weight_decay must be a number >= 0, got -0.1"),
    ],
)
def test_errors(kwargs, message, load_tiny):
    with pytest.raises(TransferError) as err:
        parameter_groups(load_tiny(), **kwargs)
    assert str(err.value) == message
