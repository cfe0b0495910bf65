"""The training engine: one ``fit`` for every objective, on Lightning.

``fit(module, train_loader, val_loader, config, run_dir, resume=...)``:

- seeds everything (``seed_run``) and picks deterministic kernels, so the same command twice
  gives the same numbers on the CPU;
- writes ``run_dir/checkpoints/last.ckpt`` atomically every ``checkpoint_every_n_steps`` optimiser
  steps and after every epoch; ``resume=True`` continues from it and reaches the same final
  weights as an uninterrupted run (loader position, optimiser, schedule, early-stopping state
  and best weights are all in the checkpoint; per-batch randomness depends only on position);
- early-stops on ``val_loss`` with ``patience`` and restores the best weights at the end;
  with ``config.swa`` the weights averaged at epoch ends (``WeightAveraging``) replace them
  instead, and their validation loss is ``FitResult.swa_val_loss``;
- runs DDP over ``devices`` x ``num_nodes`` processes (gloo on the CPU); under ``torchrun`` or
  SLURM Lightning joins the existing process group instead of launching its own;
- shows a progress bar with loss and ETA and logs curves to ``run_dir/logs/metrics.csv``.

More than one data stream: ``train_loader`` may be a dict of named ``ResumableLoader``s. The first
is the main stream (its batches make the epoch, its position the checkpoint's); every other one
is a ``CyclingStream`` that gives one batch per main batch, cycling through its own epochs, with
its position checkpointed and restored the same way (``StreamPosition``). Lightning's
``CombinedLoader`` (mode ``min_size``) zips them; a training batch is then a dict
``{name: batch}``. ``callbacks`` are further Lightning callbacks (run after the engine's own
position callbacks, before the checkpoint writer); ``monitor`` is the logged metric that early
stopping and the best weights follow (default ``val_loss``).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, Checkpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from chemtl.training.checkpoint import load_training_checkpoint
from chemtl.training.ckpt_io import AtomicCheckpointIO
from chemtl.training.config import TrainConfig
from chemtl.training.data import CyclingStream, ResumableLoader
from chemtl.training.distributed import global_rank_from_env
from chemtl.training.module import TaskModule
from chemtl.training.resources import peak_rss_mb
from chemtl.training.seeding import seed_run

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
LOG_DIR = "logs"
LOG_FILE = "metrics.csv"
# Rows logged before the resume point, kept while a resumed run writes its own metrics.csv
# (Lightning's CSVLogger starts the file afresh); merged back when the run ends.
LOG_HISTORY = "metrics.before-resume.csv"


@dataclass
class FitResult:
    """What a fit did. ``best_epoch`` is 1-based (epoch 1 is the first); None without validation.

    With weight averaging (``TrainConfig.swa``) ``best_epoch``/``best_val_loss`` still describe the
    best single epoch, while the model holds the average of ``swa_snapshots`` snapshots (taken at
    the ends of the 1-based ``swa_epochs``), whose validation loss is ``swa_val_loss``; without a
    snapshot (stopped before ``swa_start``) the model keeps the best weights. None without swa.
    """

    epochs_run: int
    global_step: int
    best_epoch: int | None
    best_val_loss: float | None
    stopped_early: bool
    train_seconds: float
    peak_rss_mb: float
    peak_rss_mb_per_rank: list[float] = field(default_factory=list)
    is_global_zero: bool = True
    world_size: int = 1
    resumed_from_step: int | None = None
    swa_snapshots: int | None = None
    swa_epochs: list[int] | None = None
    swa_val_loss: float | None = None

    def metrics(self) -> dict[str, Any]:
        """The fit's numbers as a run's ``metrics.json`` records them (every training verb)."""
        swa = (
            {}
            if self.swa_snapshots is None
            else {
                "swa_snapshots": self.swa_snapshots,
                "swa_epochs": self.swa_epochs,
                "swa_val_loss": self.swa_val_loss,
            }
        )
        return {
            "train_seconds": self.train_seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "peak_rss_mb_per_rank": self.peak_rss_mb_per_rank,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "stopped_early": self.stopped_early,
            "global_step": self.global_step,
            "world_size": self.world_size,
            **swa,
        }


def checkpoint_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT


class LoaderPosition(Callback):
    """Tells the resumable loader how many batches of the epoch are done (after each step)."""

    def __init__(self, loader: ResumableLoader) -> None:
        self.loader = loader

    def setup(self, trainer, pl_module, stage: str) -> None:
        # Called once the process group exists: shard the training batches over the ranks.
        self.loader.shard(trainer.global_rank, trainer.world_size)
        steps = self.loader.n_batches * trainer.max_epochs
        if trainer.max_steps is not None and trainer.max_steps >= 0:
            steps = min(steps, trainer.max_steps)
        pl_module.total_steps = steps
        pl_module.steps_per_epoch = self.loader.n_batches

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.loader.consumed = 0
        self.loader.set_epoch(trainer.current_epoch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.loader.consumed = batch_idx + 1

    # The position also travels as this callback's state: Lightning restores callbacks before it
    # builds the train iterator, also when it resumes at an epoch boundary (where it does not call
    # the loader's own ``load_state_dict``); workers copy the position when the iterator is built.
    def state_dict(self) -> dict[str, int]:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.loader.load_state_dict(state)


class StreamPosition(Callback):
    """Advances a secondary ``CyclingStream`` after each step and checkpoints its position."""

    def __init__(self, name: str, stream: CyclingStream) -> None:
        self.name = name
        self.stream = stream

    @property
    def state_key(self) -> str:
        return f"StreamPosition[{self.name}]"

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.stream.shard(trainer.global_rank, trainer.world_size)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.stream.advance()

    def state_dict(self) -> dict[str, int]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.stream.load_state_dict(state)


class BestWeights(Callback):
    """Early stopping on ``val_loss`` that keeps (and checkpoints) a copy of the best weights."""

    def __init__(self, patience: int | None, monitor: str = "val_loss") -> None:
        self.patience = patience
        self.monitor = monitor
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped = False
        self.weights: dict[str, torch.Tensor] | None = None
        self._fresh = False

    @property
    def state_key(self) -> str:
        return "BestWeights"

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._fresh = True

    def on_train_start(self, trainer, pl_module) -> None:
        if self.stopped:  # resumed after the stopping decision was checkpointed
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not self._fresh or self.monitor not in trainer.callback_metrics:
            return
        self._fresh = False
        value = float(trainer.callback_metrics[self.monitor])
        if self.best is None or value < self.best:
            self.best, self.best_epoch, self.wait = value, trainer.current_epoch + 1, 0
            self.weights = {k: v.detach().clone() for k, v in pl_module.model.state_dict().items()}
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.stopped = True
                trainer.should_stop = True

    def restore(self, pl_module) -> bool:
        if self.weights is None:
            return False
        pl_module.model.load_state_dict(self.weights)
        return True

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": self.stopped,
            "weights": self.weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = state["wait"]
        self.stopped = state["stopped"]
        self.weights = state["weights"]


class WeightAveraging(Callback):
    """Averages the model's weights at epoch ends (``torch.optim.swa_utils.AveragedModel``).

    A snapshot is the weights after an epoch's last step, taken once training progress
    (``global_step / total_steps``) has reached ``start``; with ``cycle_epochs`` (the cyclic
    schedule) only at the cycle minima, the steps that are a multiple of a cycle. Only the model's
    parameters are averaged (no BatchNorm in chemtl's models: no statistics to recompute). The
    running average, its count and the snapshot epochs are this callback's checkpoint state, so a
    resumed run averages the same snapshots to the same numbers.
    """

    def __init__(self, start: float, cycle_epochs: int | None = None) -> None:
        self.start = start
        self.cycle_epochs = cycle_epochs
        self.averaged: torch.optim.swa_utils.AveragedModel | None = None
        self.epochs: list[int] = []  # 1-based epochs whose final weights are in the average
        self._restored: dict[str, torch.Tensor] | None = None

    @property
    def state_key(self) -> str:
        return "WeightAveraging"

    def _due(self, trainer, pl_module) -> bool:
        step, total = trainer.global_step, pl_module.total_steps or trainer.global_step
        if step == 0 or step / max(total, 1) < self.start:
            return False
        if self.cycle_epochs is not None:
            return step % (self.cycle_epochs * max(pl_module.steps_per_epoch or 1, 1)) == 0
        return True

    def _average(self, model: torch.nn.Module) -> torch.optim.swa_utils.AveragedModel:
        if self.averaged is None:
            self.averaged = torch.optim.swa_utils.AveragedModel(model, use_buffers=False)
            if self._restored is not None:
                mine = dict(self.averaged.module.named_parameters())
                with torch.no_grad():
                    for name, value in self._restored.items():
                        mine[name].copy_(value)
                self.averaged.n_averaged.fill_(len(self.epochs))
                self._restored = None
        return self.averaged

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._due(trainer, pl_module):
            self._average(pl_module.model).update_parameters(pl_module.model)
            self.epochs.append(trainer.current_epoch + 1)

    def apply(self, model: torch.nn.Module) -> bool:
        """Put the averaged weights into ``model``; False (model untouched) without a snapshot."""
        if not self.epochs:
            return False
        averaged = dict(self._average(model).module.named_parameters())
        with torch.no_grad():
            for name, param in model.named_parameters():
                param.copy_(averaged[name])
        return True

    def state_dict(self) -> dict[str, Any]:
        if self.averaged is not None:
            weights = {n: p.detach() for n, p in self.averaged.module.named_parameters()}
        else:
            weights = self._restored
        return {"epochs": list(self.epochs), "weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = list(state["epochs"])
        self.averaged = None
        self._restored = state["weights"]


class AtomicLastCheckpoint(Checkpoint):
    """Writes ``last.ckpt`` every N steps (not on an epoch's last batch) and after every epoch."""

    def __init__(self, path: Path, every_n_steps: int, loader: ResumableLoader) -> None:
        self.path = path
        self.every_n_steps = every_n_steps
        self.loader = loader
        self.saves = 0

    def _save(self, trainer) -> None:
        trainer.save_checkpoint(self.path)
        self.saves += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # The epoch-end save follows the last batch (after validation); saving here too would
        # restore into an epoch whose validation never ran.
        if batch_idx + 1 < self.loader.n_batches and trainer.global_step % self.every_n_steps == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._save(trainer)


class PeakMemory(Callback):
    """Peak RSS of every rank, gathered at the end of training."""

    def __init__(self) -> None:
        self.per_rank: list[float] = []

    def on_train_end(self, trainer, pl_module) -> None:
        mine = torch.tensor([peak_rss_mb()], dtype=torch.float64)
        if trainer.world_size > 1:
            gathered = trainer.strategy.all_gather(mine)
            self.per_rank = [float(x) for x in gathered.reshape(-1)]
        else:
            self.per_rank = [float(mine[0])]


def _quiet_lightning() -> None:
    for name in (
        "lightning.pytorch.utilities.rank_zero",
        "lightning.pytorch.accelerators.cuda",
        "lightning.fabric.utilities.seed",
        "lightning.fabric.utilities.distributed",
        "lightning.pytorch.trainer.connectors.checkpoint_connector",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in (
        ".*does not have many workers.*",
        ".*Experiment logs directory.*exists and is not empty.*",
        ".*`weights_only` was not set.*",
        ".*Your `IterableDataset` has `__len__` defined.*",
        ".*Found .* module\\(s\\) in eval mode.*",
        ".*The number of training batches .* is smaller than the logging interval.*",
        ".*Checkpoint directory .* exists and is not empty.*",
        ".*smaller than the logging interval.*",
        ".*when logging on epoch level in distributed setting.*",
        ".*all_gather is deprecated.*",
        ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
        # every objective has a validation step; a run without validation rows skips it on purpose
        ".*You defined a `validation_step` but have no `val_dataloader`.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


def build_trainer(
    config: TrainConfig,
    run_dir: Path,
    callbacks: list[Callback],
) -> L.Trainer:
    _quiet_lightning()
    if config.world_size > 1:
        from lightning.pytorch.strategies import DDPStrategy

        strategy: Any = DDPStrategy(find_unused_parameters=True)
    else:
        strategy = "auto"
    return L.Trainer(
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=strategy,
        precision=config.precision,
        max_epochs=config.max_epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        deterministic="warn" if config.deterministic else None,
        gradient_clip_val=config.grad_clip,
        logger=CSVLogger(save_dir=str(run_dir), name=LOG_DIR, version=""),
        # A terminal redraws one line; a log file would get a line per refresh, so refresh less.
        callbacks=[*callbacks, TQDMProgressBar(refresh_rate=1 if sys.stderr.isatty() else 50)]
        if config.progress_bar
        else callbacks,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        enable_checkpointing=True,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        log_every_n_steps=1,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=str(run_dir),
    )


def _read_log(path: Path):
    import pandas as pd

    return pd.read_csv(path) if path.is_file() and path.stat().st_size else None


def keep_log_history(log_dir: Path, resumed_from: int) -> None:
    """Before a resume: keep the logged rows of the steps before ``resumed_from`` in LOG_HISTORY.

    Lightning's CSVLogger replaces ``metrics.csv`` when a run starts, so without this the curves of
    a resumed run would begin at the resume point. Rows at or after the checkpoint's step are
    dropped: the resumed run logs those steps again. Repeated interruptions accumulate correctly.
    """
    import pandas as pd

    from chemtl.atomic import atomic_open

    parts = [t for t in (_read_log(log_dir / LOG_HISTORY), _read_log(log_dir / LOG_FILE)) if t is not None]
    if not parts:
        return
    history = pd.concat(parts, ignore_index=True)
    history = history[history["step"] < resumed_from]
    with atomic_open(log_dir / LOG_HISTORY, "w") as handle:
        history.to_csv(handle, index=False)
    (log_dir / LOG_FILE).unlink(missing_ok=True)


def merge_log_history(log_dir: Path) -> None:
    """After a resumed run: ``metrics.csv`` = the kept history followed by the resumed run's rows."""
    import pandas as pd

    from chemtl.atomic import atomic_open

    history = _read_log(log_dir / LOG_HISTORY)
    if history is None:
        return
    current = _read_log(log_dir / LOG_FILE)
    merged = history if current is None else pd.concat([history, current], ignore_index=True)
    columns = ["epoch", "step"] + sorted(c for c in merged.columns if c not in ("epoch", "step"))
    with atomic_open(log_dir / LOG_FILE, "w") as handle:
        merged[[c for c in columns if c in merged.columns]].to_csv(handle, index=False)
    (log_dir / LOG_HISTORY).unlink()


def combine_streams(
    streams: dict[str, ResumableLoader],
) -> tuple[ResumableLoader, Any, list[Callback]]:
    """The main loader, the loader Lightning iterates (a ``CombinedLoader`` of the main stream and
    a ``CyclingStream`` per other stream) and the callbacks that keep the other positions."""
    from lightning.pytorch.utilities import CombinedLoader

    if not streams:
        raise ValueError("fit needs at least one training stream")
    names = list(streams)
    main = streams[names[0]]
    cycling = {name: CyclingStream(streams[name]) for name in names[1:]}
    combined = CombinedLoader({names[0]: main, **cycling}, mode="min_size")
    return main, combined, [StreamPosition(name, stream) for name, stream in cycling.items()]


def fit(
    module: TaskModule,
    train_loader: ResumableLoader | dict[str, ResumableLoader],
    val_loader: Any | None,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    callbacks: list[Callback] | None = None,
    monitor: str = "val_loss",
) -> FitResult:
    """Train ``module`` and leave its best (or last) weights in place; see the module docstring."""
    run_dir = Path(run_dir)
    ckpt = checkpoint_path(run_dir)
    best = BestWeights(config.patience if val_loader is not None else None, monitor=monitor)
    memory = PeakMemory()
    swa = (
        WeightAveraging(config.swa_start, config.cycle_epochs if config.scheduler == "cyclic" else None)
        if config.swa
        else None
    )
    if isinstance(train_loader, dict):
        main, loader, positions = combine_streams(train_loader)
    else:
        main, loader, positions = train_loader, train_loader, []
    callbacks = [
        LoaderPosition(main),
        *positions,
        *(callbacks or []),
        *([swa] if swa is not None else []),
        best,
        memory,
        AtomicLastCheckpoint(ckpt, config.checkpoint_every_n_steps, main),
    ]
    seed_run(config.seed, config.deterministic)
    resumed_from = None
    ckpt_path = None
    if resume and ckpt.is_file():
        ckpt_path = str(ckpt)
        # Read once here (one-line error if damaged) before Lightning reads it to restore the run.
        resumed_from = int(load_training_checkpoint(ckpt)["global_step"])
        if global_rank_from_env() == 0:  # DDP workers re-enter fit(); only the launcher moves files
            keep_log_history(run_dir / LOG_DIR, resumed_from)
    trainer = build_trainer(config, run_dir, callbacks)
    start = time.perf_counter()
    trainer.fit(module, loader, val_loader, ckpt_path=ckpt_path, weights_only=True)
    seconds = time.perf_counter() - start
    if trainer.is_global_zero:
        merge_log_history(run_dir / LOG_DIR)
    best.restore(module)
    swa_val_loss = None
    if swa is not None and swa.apply(module.model) and val_loader is not None:
        swa_val_loss = evaluate_loss(module, val_loader)
    per_rank = memory.per_rank or [peak_rss_mb()]
    return FitResult(
        epochs_run=int(trainer.current_epoch),
        global_step=int(trainer.global_step),
        best_epoch=best.best_epoch,
        best_val_loss=best.best,
        stopped_early=best.stopped,
        train_seconds=round(seconds, 3),
        peak_rss_mb=max(per_rank),
        peak_rss_mb_per_rank=per_rank,
        is_global_zero=bool(trainer.is_global_zero),
        world_size=int(trainer.world_size),
        resumed_from_step=resumed_from,
        swa_snapshots=None if swa is None else len(swa.epochs),
        swa_epochs=None if swa is None else list(swa.epochs),
        swa_val_loss=swa_val_loss,
    )


def evaluate_loss(module: TaskModule, loader: Any) -> float | None:
    """Mean validation loss of ``module``'s model over ``loader`` (eval mode, weighted by rows)."""
    from chemtl.training.module import batch_size_of

    model = module.model
    was_training = model.training
    model.eval()
    total, rows = 0.0, 0
    try:
        with torch.no_grad():
            for batch in loader:
                if batch is None:
                    continue
                n = batch_size_of(batch)
                total += float(module.objective.validation_loss(model, batch)) * n
                rows += n
    finally:
        model.train(was_training)
    return total / rows if rows else None


__all__ = [
    "FitResult",
    "WeightAveraging",
    "build_trainer",
    "checkpoint_path",
    "combine_streams",
    "evaluate_loss",
    "fit",
]
