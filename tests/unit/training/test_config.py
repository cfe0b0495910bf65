"""Run configs: validation messages name the value; JSON round trips."""

from __future__ import annotations

import pytest

from chemtl.errors import ChemtlError
from chemtl.training.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    PretrainConfig,
    TrainConfig,
    auto_batch_size,
    resolve_augment,
)


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
        (lambda: TrainConfig(batch_size=0), "batch_size must be an integer >= 1 or 'auto', got 0"),
        (lambda: TrainConfig(batch_size="big"), "batch_size must be an integer >= 1 or 'auto', got 'big'"),
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
            "objective 'gan' is not one of mlm, contrastive, descriptors, causal",
        ),
        (lambda: PretrainConfig(mask="blocks"), "mask 'blocks' is not one of random, element-group, span"),
        (lambda: TrainConfig(loss="huber"), "loss 'huber' is not one of mse, l1, robust-l1"),
        (lambda: TrainConfig(output_gate=1), "output_gate must be true or false, got 1"),
        (lambda: TrainConfig(head="crab"), "head 'crab' is not one of pooled, elementwise"),
        (lambda: TrainConfig(optimizer="sgd"), "optimizer 'sgd' is not one of adamw-fused, adamw"),
        (lambda: TrainConfig(features="ecfp"), "features 'ecfp' is not one of none, morgan, rdkit"),
        (
            lambda: TrainConfig(features="morgan", head="elementwise"),
            "features 'morgan' join the pooled embedding; head 'elementwise' reads every element's "
            "hidden state: use head pooled",
        ),
    ],
)
def test_bad_values_are_one_line_errors(make, message):
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value) == message
    assert isinstance(info.value, ChemtlError)


def test_objectives_from_a_comma_list():
    assert PretrainConfig(objectives="mlm,contrastive").objectives == ("mlm", "contrastive")


def test_the_descriptors_objective_alone_or_summed():
    assert PretrainConfig(objectives="descriptors").objectives == ("descriptors",)
    both = PretrainConfig(objectives="mlm,descriptors", descriptor_weight=0.5)
    assert (both.objectives, both.descriptor_weight) == (("mlm", "descriptors"), 0.5)
    assert PretrainConfig.from_dict(both.to_dict()) == both
    assert PretrainConfig._legacy["descriptor_weight"] == 1.0  # older runs resume at 1.0
    for kwargs, message in [
        (
            {"objectives": "causal,descriptors"},
            "objective causal trains a generator and cannot be combined: 'causal,descriptors'",
        ),
        (
            {"descriptor_weight": 0.5},
            "descriptor_weight 0.5 needs the descriptors objective (--objective ...,descriptors)",
        ),
        (
            {"objectives": "descriptors", "descriptor_weight": 0},
            "descriptor_weight must be a finite number > 0, got 0",
        ),
    ]:
        with pytest.raises(ConfigError) as info:
            PretrainConfig(**kwargs)
        assert str(info.value) == message


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


def test_run_keys_leave_out_later_fields_at_their_defaults():
    # a run keyed before ``loss`` and ``output_gate`` existed has the same key as one with them at
    # their defaults, so finished benchmark runs stay reusable; any other value changes the key
    plain = TrainConfig(seed=3, optimizer="adamw")
    later = {
        "loss",
        "output_gate",
        "cycle_epochs",
        "cycle_min_ratio",
        "swa",
        "swa_start",
        "head",
        "optimizer",
        "features",
    }
    assert set(plain.to_dict()) - set(plain.key_dict()) == later
    assert {k: v for k, v in plain.to_dict().items() if k not in later} == plain.key_dict()
    assert TrainConfig(swa=True).key_dict()["swa"] is True
    assert TrainConfig(loss="l1").key_dict()["loss"] == "l1"
    assert TrainConfig(output_gate=True).key_dict()["output_gate"] is True
    assert TrainConfig(head="elementwise").key_dict()["head"] == "elementwise"
    assert TrainConfig(features="rdkit").key_dict()["features"] == "rdkit"
    # the fused optimizer is the default but not what older runs used: it enters the key
    assert TrainConfig().key_dict()["optimizer"] == "adamw-fused"
    data = DataConfig(dataset="x", split="random")
    assert set(data.to_dict()) - set(data.key_dict()) == {"augment", "jitter"}
    assert DataConfig(dataset="x", split="random", augment="jitter").key_dict()["augment"] == "jitter"


@pytest.mark.parametrize(
    ("n_train", "batch_size"),
    [
        (1, 128),  # clamped up to 2**7
        (100, 128),
        (2048, 128),  # 2**(11 - 4)
        (3315, 256),  # matbench_expt_gap fold 0's training rows: log2 11.69 - 4 rounds to 8
        (5792, 256),  # log2 12.49985
        (5793, 512),  # log2 12.50009
        (16384, 1024),
        (65536, 4096),
        (342_000, 4096),  # clamped down to 2**12
    ],
)
def test_auto_batch_size_is_crabnets_rule(n_train, batch_size):
    assert auto_batch_size(n_train) == batch_size


def test_auto_batch_size_resolves_from_the_training_rows_and_round_trips(tmp_path):
    cfg = TrainConfig(batch_size="auto", lr=3e-4)
    cfg.save(tmp_path / "t.json")
    assert TrainConfig.load(tmp_path / "t.json") == cfg
    resolved = cfg.for_rows(3315)
    assert (resolved.batch_size, resolved.lr) == (256, 3e-4)
    assert TrainConfig(batch_size=48).for_rows(3315).batch_size == 48  # a number stays
    assert TrainConfig().batch_size == 32
    with pytest.raises(ConfigError) as info:
        cfg.for_rows(0)
    assert str(info.value) == "batch_size 'auto' needs a number of training rows >= 1, got 0"


@pytest.mark.parametrize(
    ("augment", "kind", "method"),
    [
        ("none", "composition", "none"),
        ("auto", "composition", "jitter"),
        ("auto", "smiles", "random-smiles"),
        ("auto", "selfies", "random-smiles"),
        ("jitter", "composition", "jitter"),
        ("random-smiles", "smiles", "random-smiles"),
    ],
)
def test_augment_resolves_by_kind(augment, kind, method):
    assert resolve_augment(augment, kind) == method


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"augment": "mixup"}, "augment 'mixup' is not one of none, auto, jitter, random-smiles"),
        (
            {"augment": "random-smiles", "kind": "composition"},
            "augment 'random-smiles' applies to smiles and selfies inputs, not composition",
        ),
        (
            {"augment": "jitter", "kind": "smiles"},
            "augment 'jitter' applies to composition inputs, not smiles",
        ),
        ({"augment": "jitter", "jitter": 0.0}, "jitter must be a number in (0, 1), got 0.0"),
        ({"augment": "jitter", "jitter": 1.5}, "jitter must be a number in (0, 1), got 1.5"),
        ({"jitter": 0.05}, "jitter 0.05 needs augment 'jitter' or 'auto', not 'none'"),
    ],
)
def test_data_config_augment_bad_values_are_one_line_errors(kwargs, message):
    with pytest.raises(ConfigError) as info:
        DataConfig(dataset="x", split="random", **kwargs)
    assert str(info.value) == message


def test_data_config_augment_defaults_and_round_trips():
    default = DataConfig(dataset="x", split="random")
    assert (default.augment, default.jitter) == ("none", 0.02)
    cfg = DataConfig(dataset="x", split="random", augment="auto", jitter=0.05)
    assert DataConfig.from_dict(cfg.to_dict()) == cfg


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
