"""The one LightningModule: a model, an objective, an optimiser schedule.

Every objective (masked LM, contrastive, property heads; later few-shot, domain adaptation,
generation) is an ``Objective``: an object with ``training_loss(model, batch)`` returning the loss
and a dict of named parts to log, and ``validation_loss(model, batch)``. Two optional seams:

- ``set_progress(p)``: called before every training step with the training progress
  ``p = global_step / total_steps`` in [0, 1] (a pure function of the step, so a resumed run
  gives the same values), for objectives whose weights follow a schedule (DANN's lambda);
- an objective that is an ``nn.Module`` (one that owns trainable parts, such as a domain
  classifier) is registered as a submodule: its parameters are optimised (one more AdamW group,
  at ``head_lr``, else ``lr``) and checkpointed with the model's.

``TaskModule`` runs any objective with AdamW (optionally over explicit parameter groups: head learning rate, layer-wise
decay), a warm-up + constant/linear/cosine schedule or torch's one-cycle or cyclic schedule
(``build_scheduler``), and per-step reseeding of the model's
randomness (dropout) from ``(seed, global_step, rank)``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import lightning as L
import torch
from torch import nn

from chemtl.training.config import TrainConfig
from chemtl.training.seeding import derive_seed, reseed


class Objective(Protocol):
    def training_loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...

    def validation_loss(self, model: nn.Module, batch: Any) -> torch.Tensor: ...


def batch_size_of(batch: Any) -> int:
    """Rows in a batch: the leading dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, dict):
        for value in batch.values():
            n = batch_size_of(value)
            if n:
                return n
    if isinstance(batch, list | tuple):
        for value in batch:
            n = batch_size_of(value)
            if n:
                return n
    return 0


def lr_lambda(scheduler: str, warmup_steps: int, total_steps: int):
    """Multiplier of the base learning rate at step ``s``: linear warm-up, then the schedule."""

    def f(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if scheduler == "constant":
            return 1.0
        span = max(total_steps - warmup_steps, 1)
        progress = min(max(step - warmup_steps, 0) / span, 1.0)
        if scheduler == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return f


def build_optimizer(groups: list[dict[str, Any]], cfg: TrainConfig) -> torch.optim.AdamW:
    """The AdamW of a run: ``cfg.optimizer`` says torch's fused kernel or its per-parameter loop."""
    fused = True if cfg.optimizer == "adamw-fused" else None
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-step learning-rate schedule of ``cfg.scheduler`` over ``optimizer``'s groups.

    Every schedule scales each group's own learning rate, so head lr and layer-wise decay keep
    their ratios. ``onecycle`` is torch's ``OneCycleLR`` with its defaults (``max_lr``: each
    group's lr; momentum not cycled, AdamW's betas stay); ``cyclic`` is torch's ``CyclicLR``
    (triangular, from ``lr * cycle_min_ratio`` to ``lr``, a whole cycle every ``cycle_epochs``
    epochs of ``steps_per_epoch`` steps, half up and half down). Their state (the step) travels
    in the checkpoint like LambdaLR's, so a resumed run continues the same curve.
    """
    lrs = [float(g["lr"]) for g in optimizer.param_groups]
    sched = torch.optim.lr_scheduler
    if cfg.scheduler == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=lrs, total_steps=max(total_steps, 1), cycle_momentum=False)
    if cfg.scheduler == "cyclic":
        return sched.CyclicLR(
            optimizer,
            base_lr=[lr * cfg.cycle_min_ratio for lr in lrs],
            max_lr=lrs,
            step_size_up=cfg.cycle_epochs * max(steps_per_epoch, 1) / 2,
            mode="triangular",
            cycle_momentum=False,
        )
    return sched.LambdaLR(optimizer, lr_lambda(cfg.scheduler, cfg.warmup_steps, total_steps))


class TaskModule(L.LightningModule):
    """Train ``model`` on ``objective``; ``param_groups`` (AdamW groups) default to all trainable."""

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        train_config: TrainConfig,
        param_groups: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.objective = objective
        self.train_config = train_config
        self._param_groups = param_groups
        # Set by the engine once the loader is sharded. ``trainer.estimated_stepping_batches``
        # would build the train iterator before a checkpoint's loader position is restored.
        self.total_steps: int | None = None
        self.steps_per_epoch: int | None = None  # likewise (the cyclic schedule's period)
        # Training progress in [0, 1] at the current step (see ``set_progress`` above).
        self.progress = 0.0

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        reseed(derive_seed(self.train_config.seed, "step", self.global_step, self.global_rank))
        total = self.total_steps
        self.progress = min(self.global_step / total, 1.0) if total else 0.0
        set_progress = getattr(self.objective, "set_progress", None)
        if callable(set_progress):
            set_progress(self.progress)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        if batch is None:  # every row of the batch was unreadable: skip the step
            return None
        loss, parts = self.objective.training_loss(self.model, batch)
        n = batch_size_of(batch)
        sync = self.trainer.world_size > 1
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=sync)
        for name, value in parts.items():
            self.log(f"train_{name}", value, on_step=True, on_epoch=True, batch_size=n, sync_dist=sync)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch is None:
            return
        loss = self.objective.validation_loss(self.model, batch)
        # Every rank scores the whole validation set: no sync needed, all ranks agree.
        self.log(
            "val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=batch_size_of(batch)
        )

    def configure_optimizers(self):
        cfg = self.train_config
        if self._param_groups is not None:
            groups = [g for g in self._param_groups if any(p.requires_grad for p in g["params"])]
            for g in groups:
                g["params"] = [p for p in g["params"] if p.requires_grad]
        else:
            groups = [{"params": [p for p in self.model.parameters() if p.requires_grad]}]
        if not any(g["params"] for g in groups):
            raise ValueError("the model has no trainable parameters")
        if isinstance(self.objective, nn.Module):  # the objective's own trainable parts
            extra = [(n, p) for n, p in self.objective.named_parameters() if p.requires_grad]
            if extra:
                group: dict[str, Any] = {"params": [p for _, p in extra], "lr": cfg.head_lr or cfg.lr}
                if any("param_names" in g for g in groups):  # torch wants names on all or none
                    group["param_names"] = [f"objective.{n}" for n, _ in extra]
                groups.append(group)
        optimizer = build_optimizer(groups, cfg)
        total = (
            self.total_steps if self.total_steps is not None else int(self.trainer.estimated_stepping_batches)
        )
        per_epoch = (
            self.steps_per_epoch
            if self.steps_per_epoch is not None
            else max(total // max(self.trainer.max_epochs or 1, 1), 1)
        )
        schedule = build_scheduler(optimizer, cfg, total, per_epoch)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
