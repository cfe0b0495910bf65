"""The schedule and weight-averaging flags of the training verbs reach TrainConfig."""

from __future__ import annotations

import pytest

from chemtl.cli import compare as compare_cli
from chemtl.cli.finetune import train_config_from_args
from chemtl.cli.main import build_parser, main
from chemtl.training.config import CYCLE_MIN_RATIO

FINETUNE = ["finetune", "--model", "composition-small", "--data", "matbench_expt_gap", "--out", "o"]


def schedule(cfg):
    return (cfg.scheduler, cfg.warmup_steps, cfg.cycle_epochs, cfg.cycle_min_ratio, cfg.swa, cfg.swa_start)


def test_defaults_are_a_constant_lr_without_averaging():
    cfg = train_config_from_args(build_parser().parse_args(FINETUNE))
    assert schedule(cfg) == ("constant", 0, 2, CYCLE_MIN_RATIO, False, 0.5)
    assert CYCLE_MIN_RATIO == 1e-4 / 6e-3  # CrabNet's 1e-4 to 6e-3


@pytest.mark.parametrize("verb", [FINETUNE, ["pretrain", "--out", "o", "--warmup-steps", "0"]])
def test_cyclic_with_averaging_from_the_flags(verb):
    argv = [*verb, "--scheduler", "cyclic", "--cycle-epochs", "4", "--cycle-min-ratio", "0.1"]
    cfg = train_config_from_args(build_parser().parse_args([*argv, "--swa", "--swa-start", "0.25"]))
    assert schedule(cfg) == ("cyclic", 0, 4, 0.1, True, 0.25)


def test_compare_takes_the_same_flags():
    parser = build_parser()
    args = parser.parse_args(
        [
            "compare",
            "--model",
            "m",
            "--data",
            "matbench_expt_gap",
            "--out",
            "o",
            "--scheduler",
            "onecycle",
            "--swa",
        ]
    )
    assert schedule(compare_cli.config_from_args(args).train) == (
        "onecycle",
        0,
        2,
        CYCLE_MIN_RATIO,
        True,
        0.5,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--cycle-epochs", "3"],
            "cycle_epochs 3 needs scheduler cyclic (--scheduler cyclic), got scheduler constant",
        ),
        (["--swa-start", "0.2"], "swa_start 0.2 needs swa (--swa)"),
        (
            ["--scheduler", "onecycle", "--warmup-steps", "10"],
            "warmup_steps 10 cannot go with scheduler onecycle, which warms up itself: set it to 0 (--warmup-steps 0)",
        ),
    ],
)
def test_bad_combinations_are_one_line_errors(capsys, flags, message):
    assert main([*FINETUNE, *flags]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
