"""Run configs: validation messages name the value; JSON round trips."""

from __future__ import annotations

import pytest

from chemtl.errors import ChemtlError
from chemtl.training.config import ConfigError, DataConfig, ModelConfig, PretrainConfig, TrainConfig


def test_round_trip_through_json(tmp_path):
    for cfg in (
        TrainConfig(lr=3e-4, head_lr=None, max_steps=10, patience=None, seed=7),
        TrainConfig(scheduler="cyclic", cycle_epochs=3, cycle_min_ratio=0.05, swa=True, swa_start=0.2),
        DataConfig(dataset="matbench_expt_gap", split="matbench", fold=2, split_params={"frac": [0.8, 0.2]}),
        ModelConfig(size="tiny", kind="smiles", overrides={"pooling": "mean"}),
        PretrainConfig(objectives=("mlm", "contrastive"), mask="span"),
    ):
        path = tmp_path / f"{type(cfg).__name__}.json"
        cfg.save(path)
        assert type(cfg).load(path) == cfg


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TrainConfig(lr=0), "lr must be a finite number > 0, got 0"),
        (lambda: TrainConfig(lr_decay=1.5), "lr_decay must be in (0, 1], got 1.5"),
        (lambda: TrainConfig(batch_size=0), "batch_size must be an integer >= 1, got 0"),
        (lambda: TrainConfig(precision="16"), "precision '16' is not one of 32, bf16-mixed"),
        (lambda: TrainConfig(max_steps=0), "max_steps must be an integer >= 1 or None, got 0"),
        (
            lambda: TrainConfig(scheduler="step"),
            "scheduler 'step' is not one of constant, linear, cosine, onecycle, cyclic",
        ),
        (
            lambda: TrainConfig(scheduler="onecycle", warmup_steps=100),
            "warmup_steps 100 cannot go with scheduler onecycle, which warms up itself: "
            "set it to 0 (--warmup-steps 0)",
        ),
        (
            lambda: TrainConfig(scheduler="cyclic", cycle_epochs=0),
            "cycle_epochs must be an integer >= 1, got 0",
        ),
        (
            lambda: TrainConfig(scheduler="cyclic", cycle_min_ratio=1.0),
            "cycle_min_ratio must be in (0, 1), got 1.0",
        ),
        (
            lambda: TrainConfig(cycle_epochs=4),
            "cycle_epochs 4 needs scheduler cyclic (--scheduler cyclic), got scheduler constant",
        ),
        (lambda: TrainConfig(swa=True, swa_start=1.0), "swa_start must be in [0, 1), got 1.0"),
        (lambda: TrainConfig(swa_start=0.25), "swa_start 0.25 needs swa (--swa)"),
        (lambda: TrainConfig(swa="yes"), "swa must be true or false, got 'yes'"),
        (lambda: DataConfig(dataset="x", val_frac=1.0), "val_frac must be in [0, 1), got 1.0"),
        (
            lambda: DataConfig(dataset="x", kind="protein"),
            "kind 'protein' is not one of composition, smiles, selfies",
        ),
        (lambda: ModelConfig(kind="dna"), "kind 'dna' is not one of composition, smiles, selfies"),
        (
            lambda: PretrainConfig(objectives="mlm,gan"),
            "objective 'gan' is not one of mlm, contrastive, causal",
        ),
        (lambda: PretrainConfig(mask="blocks"), "mask 'blocks' is not one of random, element-group, span"),
    ],
)
def test_bad_values_are_one_line_errors(make, message):
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value) == message
    assert isinstance(info.value, ChemtlError)


def test_objectives_from_a_comma_list():
    assert PretrainConfig(objectives="mlm,contrastive").objectives == ("mlm", "contrastive")


def test_unknown_field_in_json_is_refused():
    with pytest.raises(ConfigError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"lr": 1e-3, "learning_rate": 1e-3})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"select": "kmeans"}, "select 'kmeans' needs select_n too (--select METHOD with --n K)"),
        ({"select_n": 8}, "select_n 8 needs select too (--select METHOD with --n K)"),
        ({"select": "greedy", "select_n": 8}, "select 'greedy' is not one of kmeans, random"),
        ({"select": "random", "select_n": 0}, "select_n must be an integer >= 1, got 0"),
    ],
)
def test_data_config_selection_is_both_or_neither(kwargs, message):
    with pytest.raises(ConfigError) as info:
        DataConfig(dataset="x", split="random", **kwargs)
    assert str(info.value) == message


def test_data_config_selection_round_trips():
    cfg = DataConfig(dataset="x", split="random", select="kmeans", select_n=16)
    assert DataConfig.from_dict(cfg.to_dict()) == cfg
    assert (cfg.select, cfg.select_n) == ("kmeans", 16)
    assert DataConfig(dataset="x", split="random").select is None


def test_causal_objective_stands_alone_and_takes_conditions():

    config = PretrainConfig(objectives="causal", conditions=["band_gap:matbench_expt_gap"], bins=6)
    assert (config.objectives, config.conditions, config.bins) == (
        ("causal",),
        ("band_gap:matbench_expt_gap",),
        6,
    )
    assert PretrainConfig.from_dict(config.to_dict()) == config
    for kwargs, message in [
        (
            {"objectives": "mlm,causal"},
            "objective causal trains a generator and cannot be combined: 'mlm,causal'",
        ),
        ({"conditions": ("gap:x.csv",)}, "conditions need the causal objective (--objective causal)"),
        ({"objectives": "causal", "conditions": ("gap",)}, "condition 'gap' is not NAME:DATASET[:COL]"),
        ({"objectives": "causal", "conditions": ("a:x", "a:y")}, "condition name repeated in 'a:x, a:y'"),
        ({"objectives": "causal", "bins": 1}, "bins must be an integer from 2 to 100, got 1"),
    ]:
        with pytest.raises(ChemtlError) as info:
            PretrainConfig(**kwargs)
        assert str(info.value) == message


def test_a_config_saved_before_the_schedule_fields_loads_with_their_defaults():
    old = {k: v for k, v in TrainConfig().to_dict().items() if not k.startswith(("cycle_", "swa"))}
    cfg = TrainConfig.from_dict(old)
    assert (cfg.scheduler, cfg.cycle_epochs, cfg.cycle_min_ratio, cfg.swa, cfg.swa_start) == (
        "constant",
        2,
        1e-4 / 6e-3,
        False,
        0.5,
    )
