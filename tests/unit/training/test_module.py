"""The learning-rate schedules of ``TaskModule``: values at given steps, per-group ratios, resume."""

from __future__ import annotations

import io
import math

import pytest
import torch

from chemtl.training.config import TrainConfig
from chemtl.training.module import build_scheduler, lr_lambda


def optimizer(lr=1e-3, head_lr=1e-2):
    """AdamW over two groups, as TaskModule builds them (encoder lr, head lr)."""
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(2))]},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": head_lr},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def lrs(cfg, total, per_epoch, steps=None, state=None):
    """The lr of each group at every step (the one its optimiser step uses)."""
    opt = optimizer(cfg.lr, 10 * cfg.lr)
    sched = build_scheduler(opt, cfg, total, per_epoch)
    if state is not None:
        opt.load_state_dict(state[0])
        sched.load_state_dict(state[1])
    out = []
    for _ in range(total if steps is None else steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out, (opt, sched)


def test_onecycle_warms_up_to_lr_at_30_percent_then_anneals_to_lr_over_25e4():
    got, _ = lrs(TrainConfig(scheduler="onecycle", lr=1e-3), total=100, per_epoch=10)
    enc = [g[0] for g in got]
    assert enc[0] == pytest.approx(1e-3 / 25, rel=1e-12)
    assert enc[29] == pytest.approx(1e-3, rel=1e-12)  # phase one ends at 0.3 * 100 - 1
    assert max(enc) == enc[29]
    assert enc[64] == pytest.approx((1e-3 + 1e-3 / 25 / 1e4) / 2, rel=1e-12)  # halfway down (cosine)
    assert enc[99] == pytest.approx(1e-3 / 25 / 1e4, rel=1e-12)
    # cosine warm-up: lr(s) = max + (initial - max) / 2 * (cos(pi * s / 29) + 1)
    assert enc[10] == pytest.approx(1e-3 + (4e-5 - 1e-3) / 2 * (math.cos(math.pi * 10 / 29) + 1), rel=1e-12)
    assert all(a < b for a, b in zip(enc[:29], enc[1:30])) and all(
        a > b for a, b in zip(enc[29:99], enc[30:])
    )
    # every group keeps its own ratio (head lr 10x)
    assert all(h == pytest.approx(10 * e, rel=1e-12) for e, h in got)


def test_cyclic_is_triangular_between_lr_times_ratio_and_lr_once_per_cycle_epochs():
    cfg = TrainConfig(scheduler="cyclic", lr=1e-3, cycle_epochs=2, cycle_min_ratio=0.1)
    got, _ = lrs(cfg, total=30, per_epoch=5)
    enc = [g[0] for g in got]
    low, high = 1e-4, 1e-3
    for step, value in [
        (0, low),
        (2, low + 0.4 * (high - low)),
        (5, high),  # one epoch up
        (8, high - 0.6 * (high - low)),
        (10, low),  # one epoch down: a cycle's minimum at every second epoch boundary
        (15, high),
        (20, low),
        (25, high),
    ]:
        assert enc[step] == pytest.approx(value, rel=1e-12), step
    assert all(h == pytest.approx(10 * e, rel=1e-12) for e, h in got)


def test_cyclic_with_one_epoch_per_cycle_and_the_crabnet_ratio():
    got, _ = lrs(TrainConfig(scheduler="cyclic", lr=6e-3, cycle_epochs=1), total=12, per_epoch=4)
    enc = [g[0] for g in got]
    assert [enc[i] for i in (0, 2, 4, 6, 8)] == pytest.approx([1e-4, 6e-3, 1e-4, 6e-3, 1e-4], rel=1e-12)


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(scheduler="onecycle"),
        TrainConfig(scheduler="cyclic", cycle_epochs=3),
        TrainConfig(scheduler="cosine", warmup_steps=5),
    ],
)
def test_a_schedule_restored_from_a_weights_only_checkpoint_continues_the_same_curve(cfg):
    whole, _ = lrs(cfg, total=40, per_epoch=6)
    first, (opt, sched) = lrs(cfg, total=40, per_epoch=6, steps=17)
    buffer = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    rest, _ = lrs(cfg, total=40, per_epoch=6, steps=23, state=(saved["optimizer"], saved["scheduler"]))
    assert first + rest == whole


def test_the_lambda_schedules_are_unchanged():
    f = lr_lambda("cosine", 10, 110)
    assert [f(0), f(9), f(10), f(60), f(110)] == pytest.approx([0.1, 1.0, 1.0, 0.5, 0.0])
    g = lr_lambda("linear", 0, 100)
    assert [g(0), g(25), g(100)] == pytest.approx([1.0, 0.75, 0.0])
