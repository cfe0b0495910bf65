"""The engine's seams for domain adaptation on a toy model: objectives see the training
progress, ``fit`` takes callbacks and a second (cycling) data stream whose position is
checkpointed, and an objective's own trainable parts are optimised and checkpointed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from chemtl.training import engine
from chemtl.training.config import TrainConfig
from chemtl.training.data import CyclingStream, EpochBatches, ResumableLoader, eval_loader
from chemtl.training.engine import checkpoint_path, fit
from chemtl.training.module import TaskModule


class TwoStreams(nn.Module):
    """Squared error on the main stream plus a term on the target stream through an own weight;
    records the progress it is given and the ids of the target rows it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(4, 1)
        self.initial = self.extra.weight.detach().clone()
        self.progress: list[float] = []
        self.seen: list[list[int]] = []

    def set_progress(self, p: float) -> None:
        self.progress.append(p)

    def training_loss(self, model, batch):
        x, y, _ = batch["main"]
        tx, _, ids = batch["target"]
        self.seen.append(ids.tolist())
        task = ((model(x).squeeze(-1) - y) ** 2).mean()
        other = (self.extra(model[0](tx)[:, :4]) ** 2).mean()
        return task + 0.1 * other, {"other": other.detach()}

    def validation_loss(self, model, batch):
        x, y, _ = batch
        return ((model(x).squeeze(-1) - y) ** 2).mean()


def collate(rows, seed):
    x = torch.tensor(np.stack([r[0] for r in rows]), dtype=torch.float32)
    return x, torch.tensor([r[1] for r in rows], dtype=torch.float32), torch.tensor([r[2] for r in rows])


class Interrupt(Exception):
    pass


class StopAt(engine.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise Interrupt


def run(out, *, resume=False, stop_at=None, epochs=2):
    cfg = TrainConfig(
        lr=1e-2, batch_size=8, max_epochs=epochs, patience=None, checkpoint_every_n_steps=2, seed=1
    )
    cfg = TrainConfig(**{**cfg.to_dict(), "progress_bar": False})
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0])).tolist()
    rows = [(x[i], y[i], i) for i in range(70)]
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    objective = TwoStreams()
    module = TaskModule(model, objective, cfg)
    streams = {
        "main": ResumableLoader(EpochBatches(rows[:40], collate, 8, seed=cfg.seed)),  # 5 batches
        "target": ResumableLoader(EpochBatches(rows[40:64], collate, 8, seed=cfg.seed)),  # 3 batches
    }
    val = eval_loader(rows[64:], collate, 16)
    callbacks = [StopAt(stop_at)] if stop_at is not None else []
    result = fit(module, streams, val, cfg, out, resume=resume, callbacks=callbacks)
    weights = torch.cat([p.detach().flatten() for p in module.parameters()])
    return result, weights, objective


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    return (*run(out), out)


def test_the_objective_sees_the_progress_of_each_step(whole):
    result, _, objective, _ = whole
    assert result.global_step == 10  # 5 main batches a epoch, 2 epochs
    assert objective.progress == [s / 10 for s in range(10)]


def test_the_target_stream_cycles_through_its_own_epochs(whole):
    _, _, objective, _ = whole
    assert [len(ids) for ids in objective.seen] == [8] * 10
    # 3 target batches per target epoch: steps 0-2 are one permutation of rows 40..63
    assert sorted(sum(objective.seen[:3], [])) == list(range(40, 64))
    assert sorted(sum(objective.seen[3:6], [])) == list(range(40, 64))
    assert objective.seen[:3] != objective.seen[3:6]  # a new epoch, a new order


def test_the_objective_weights_are_optimised_and_checkpointed(whole):
    _, _, objective, out = whole
    saved = torch.load(checkpoint_path(out), weights_only=True)
    assert {"objective.extra.weight", "objective.extra.bias"} <= set(saved["state_dict"])
    assert torch.equal(saved["state_dict"]["objective.extra.weight"], objective.extra.weight.detach())
    assert not torch.equal(objective.initial, objective.extra.weight.detach())
    assert len(saved["optimizer_states"][0]["param_groups"]) == 2  # the model's and the objective's
    # the default optimizer is torch's fused AdamW kernel
    assert [g["fused"] for g in saved["optimizer_states"][0]["param_groups"]] == [True, True]
    assert saved["callbacks"]["StreamPosition[target]"] == {"epoch": 3, "consumed": 1}  # 10 = 3*3 + 1


@pytest.mark.parametrize("stop_at", [4, 5, 7])  # mid-epoch, at an epoch's end, in a later target epoch
def test_a_resumed_two_stream_run_reaches_the_same_weights(tmp_path, whole, stop_at):
    with pytest.raises(Interrupt):
        run(tmp_path, stop_at=stop_at)
    saved = torch.load(checkpoint_path(tmp_path), weights_only=True)
    step = int(saved["global_step"])
    assert 0 < step <= stop_at
    assert saved["callbacks"]["StreamPosition[target]"] == {"epoch": step // 3, "consumed": step % 3}
    result, weights, objective = run(tmp_path, resume=True)
    assert result.resumed_from_step == step
    assert torch.equal(weights, whole[1])
    assert objective.seen == whole[2].seen[step:]
    assert objective.progress == whole[2].progress[step:]


def test_a_cycling_stream_restarts_at_its_saved_position():
    rows = [(np.zeros(4, np.float32), 0.0, i) for i in range(24)]
    stream = CyclingStream(ResumableLoader(EpochBatches(rows, collate, 8, seed=3)))
    it = iter(stream)
    first = [next(it)[2].tolist() for _ in range(5)]
    for _ in range(4):
        stream.advance()
    assert stream.state_dict() == {"epoch": 1, "consumed": 1}
    again = CyclingStream(ResumableLoader(EpochBatches(rows, collate, 8, seed=3)))
    again.load_state_dict({"epoch": 1, "consumed": 1})
    assert next(iter(again))[2].tolist() == first[4]
