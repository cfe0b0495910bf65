"""Weight averaging in the engine (``TrainConfig.swa``): the trained model is the mean of the
snapshots taken at the epoch ends (the cycle minima with the cyclic schedule), and a run
interrupted in the middle of averaging resumes to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from chemtl.training import engine
from chemtl.training.config import TrainConfig
from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
from chemtl.training.engine import checkpoint_path, evaluate_loss, fit
from chemtl.training.module import TaskModule


class Squared:
    def training_loss(self, model, batch):
        x, y = batch
        return ((model(x).squeeze(-1) - y) ** 2).mean(), {}

    def validation_loss(self, model, batch):
        return self.training_loss(model, batch)[0]


def collate(rows, seed):
    x = torch.tensor(np.stack([r[0] for r in rows]), dtype=torch.float32)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return x + 0.01 * noise, torch.tensor([r[1] for r in rows], dtype=torch.float32)


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


class Snapshots(engine.Callback):
    """The model's weights at every epoch end (1-based epoch -> flat weights)."""

    def __init__(self):
        self.at = {}

    def on_train_epoch_end(self, trainer, pl_module):
        self.at[trainer.current_epoch + 1] = flat(pl_module.model)


class Interrupt(Exception):
    pass


class Stop(engine.Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise Interrupt


# 40 training rows, batch 8: 5 steps an epoch, 8 epochs, 40 steps
SETTINGS = dict(lr=1e-2, batch_size=8, max_epochs=8, patience=None, checkpoint_every_n_steps=3, seed=1)


def run(out, cfg, *, resume=False, callbacks=()):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype(np.float32)
    rows = list(zip(x, (x @ np.array([1.0, -2.0, 0.5, 0.0])).tolist()))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    module = TaskModule(model, Squared(), cfg)
    train = ResumableLoader(EpochBatches(rows[:40], collate, 8, seed=cfg.seed))
    val = eval_loader(rows[40:], collate, 16)
    result = fit(module, train, val, cfg, out, resume=resume, callbacks=list(callbacks))
    return result, module, val


@pytest.mark.parametrize(
    ("options", "epochs"),
    [
        # cyclic, a cycle every 2 epochs: minima at steps 10, 20, 30, 40; from progress 0.5 on
        (dict(scheduler="cyclic", cycle_epochs=2), [4, 6, 8]),
        (dict(scheduler="onecycle"), [4, 5, 6, 7, 8]),  # every epoch end from step 20 of 40
        (dict(scheduler="constant", swa_start=0.7), [6, 7, 8]),  # from step 28: 30, 35, 40
    ],
)
def test_the_trained_weights_are_the_mean_of_the_snapshots(tmp_path, options, epochs):
    cfg = TrainConfig(**SETTINGS, progress_bar=False, swa=True, **options)
    snaps = Snapshots()
    result, module, val = run(tmp_path, cfg, callbacks=[snaps])
    assert (result.swa_snapshots, result.swa_epochs) == (len(epochs), epochs)
    mean = torch.stack([snaps.at[e] for e in epochs]).mean(0)
    torch.testing.assert_close(flat(module.model), mean, rtol=1e-6, atol=1e-7)
    assert not torch.equal(flat(module.model), snaps.at[8])  # not simply the last weights
    assert result.swa_val_loss == evaluate_loss(module, val)
    metrics = result.metrics()
    assert (metrics["swa_snapshots"], metrics["swa_epochs"], metrics["swa_val_loss"]) == (
        len(epochs),
        epochs,
        result.swa_val_loss,
    )


def test_without_swa_nothing_is_averaged_and_metrics_keep_their_keys(tmp_path):
    cfg = TrainConfig(**{**SETTINGS, "max_epochs": 2}, progress_bar=False)
    snaps = Snapshots()
    result, module, _ = run(tmp_path, cfg, callbacks=[snaps])
    assert (result.swa_snapshots, result.swa_val_loss) == (None, None)
    assert not any(k.startswith("swa") for k in result.metrics())
    assert torch.equal(flat(module.model), snaps.at[2])


def test_a_run_that_ends_before_a_cycle_minimum_keeps_the_best_weights(tmp_path):
    # a cycle of 4 epochs (20 steps); max_steps 9 ends mid-cycle: no snapshot is taken
    cfg = TrainConfig(
        **{**SETTINGS, "max_epochs": 4, "max_steps": 9},
        progress_bar=False,
        scheduler="cyclic",
        cycle_epochs=4,
        swa=True,
        swa_start=0.0,
    )
    snaps = Snapshots()
    result, module, _ = run(tmp_path, cfg, callbacks=[snaps])
    assert (result.swa_snapshots, result.swa_epochs, result.swa_val_loss) == (0, [], None)
    assert torch.equal(flat(module.model), snaps.at[result.best_epoch])


CYCLIC = TrainConfig(**SETTINGS, progress_bar=False, scheduler="cyclic", swa=True, swa_start=0.25)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    result, module, _ = run(tmp_path_factory.mktemp("whole"), CYCLIC)
    return result, flat(module.model)


@pytest.mark.parametrize(
    ("stop_at", "saved_step", "saved_epochs"),
    [
        (8, 6, []),  # before the first snapshot
        (22, 21, [2, 4]),  # mid-epoch, two snapshots in the average
        (31, 30, [2, 4, 6]),  # just after the epoch-end checkpoint of a cycle minimum
    ],
)
def test_a_run_interrupted_while_averaging_resumes_to_the_same_weights(
    tmp_path, uninterrupted, stop_at, saved_step, saved_epochs
):
    with pytest.raises(Interrupt):
        run(tmp_path, CYCLIC, callbacks=[Stop(stop_at)])
    saved = torch.load(checkpoint_path(tmp_path), weights_only=True)
    assert saved["global_step"] == saved_step
    assert saved["callbacks"]["WeightAveraging"]["epochs"] == saved_epochs
    result, module, _ = run(tmp_path, CYCLIC, resume=True)
    assert result.resumed_from_step == saved_step
    assert torch.equal(flat(module.model), uninterrupted[1])
    whole = uninterrupted[0]
    assert (
        (result.swa_epochs, result.swa_val_loss)
        == (whole.swa_epochs, whole.swa_val_loss)
        == ([2, 4, 6, 8], whole.swa_val_loss)
    )


def test_resuming_a_finished_averaged_run_changes_nothing(tmp_path):
    cfg = TrainConfig(
        **{**SETTINGS, "max_epochs": 4}, progress_bar=False, scheduler="cyclic", swa=True, swa_start=0.0
    )
    first, module, _ = run(tmp_path, cfg)
    before = flat(module.model)
    again, module, _ = run(tmp_path, cfg, resume=True)
    assert torch.equal(flat(module.model), before)
    assert (
        (again.swa_epochs, again.swa_val_loss)
        == (first.swa_epochs, first.swa_val_loss)
        == ([2, 4], first.swa_val_loss)
    )
