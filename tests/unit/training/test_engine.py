"""The training engine on a toy regression model: same seed, same weights; an interrupted run
resumed from its last checkpoint ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from chemtl.training import engine
from chemtl.training.config import TrainConfig
from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
from chemtl.training.engine import checkpoint_path, fit
from chemtl.training.module import TaskModule


class Squared:
    def training_loss(self, model, batch):
        x, y = batch
        return ((model(x).squeeze(-1) - y) ** 2).mean(), {}

    def validation_loss(self, model, batch):
        return self.training_loss(model, batch)[0]


def collate(rows, seed):
    x = torch.tensor(np.stack([r[0] for r in rows]), dtype=torch.float32)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))  # per-batch randomness
    return x + 0.01 * noise, torch.tensor([r[1] for r in rows], dtype=torch.float32)


class Interrupt(Exception):
    pass


def run(out, *, epochs=4, patience=2, resume=False, stop_at=None, monkeypatch=None, workers=0):
    cfg = TrainConfig(
        lr=1e-2,
        batch_size=8,
        max_epochs=epochs,
        patience=patience,
        checkpoint_every_n_steps=3,
        seed=1,
        progress_bar=False,
    )
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype(np.float32)
    rows = list(zip(x, (x @ np.array([1.0, -2.0, 0.5, 0.0])).tolist()))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    module = TaskModule(model, Squared(), cfg)
    train = ResumableLoader(EpochBatches(rows[:40], collate, 8, seed=cfg.seed), num_workers=workers)
    val = eval_loader(rows[40:], collate, 16)
    if stop_at is not None:

        class Stop(engine.Callback):
            def on_train_batch_end(self, trainer, *args):
                if trainer.global_step == stop_at:
                    raise Interrupt

        build = engine.build_trainer
        monkeypatch.setattr(engine, "build_trainer", lambda c, d, cbs: build(c, d, [Stop(), *cbs]))
    result = fit(module, train, val, cfg, out, resume=resume)
    return result, torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return run(tmp_path_factory.mktemp("full"), epochs=30)


def test_same_seed_gives_identical_weights(tmp_path, uninterrupted):
    result, weights = run(tmp_path / "again", epochs=30)
    assert torch.equal(weights, uninterrupted[1])
    assert (result.epochs_run, result.best_epoch, result.best_val_loss) == (
        uninterrupted[0].epochs_run,
        uninterrupted[0].best_epoch,
        uninterrupted[0].best_val_loss,
    )


def test_early_stopping_restores_the_best_weights(uninterrupted):
    result, _ = uninterrupted
    assert result.stopped_early and result.best_epoch < result.epochs_run
    assert result.epochs_run - result.best_epoch == 2  # patience


@pytest.mark.parametrize(
    ("stop_at", "workers"),
    [(4, 0), (6, 0), (11, 0), (17, 0), (6, 1), (9, 1)],  # mid-epoch, after an epoch's checkpoint; workers
)
def test_resume_after_an_interruption_reaches_the_same_weights(
    tmp_path, monkeypatch, uninterrupted, stop_at, workers
):
    with pytest.raises(Interrupt):
        run(tmp_path, epochs=30, stop_at=stop_at, monkeypatch=monkeypatch, workers=workers)
    monkeypatch.undo()
    saved = torch.load(checkpoint_path(tmp_path), weights_only=True)
    assert 0 < saved["global_step"] < stop_at + 1
    result, weights = run(tmp_path, epochs=30, resume=True, workers=workers)
    assert result.resumed_from_step == saved["global_step"]
    assert torch.equal(weights, uninterrupted[1])
    assert (result.epochs_run, result.best_epoch, result.global_step) == (
        uninterrupted[0].epochs_run,
        uninterrupted[0].best_epoch,
        uninterrupted[0].global_step,
    )


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    _, before = run(tmp_path, epochs=3, patience=None)
    result, after = run(tmp_path, epochs=3, patience=None, resume=True)
    assert torch.equal(before, after) and result.resumed_from_step == result.global_step == 15


def test_curves_go_to_the_csv_log(tmp_path):
    run(tmp_path, epochs=2, patience=None)
    header = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "step", "train_loss_step", "val_loss"} <= set(header)
