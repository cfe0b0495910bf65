"""A prototypical network to meta-train: the model, its episode objective and its config.

``ProtoNetModel`` = a pretrained encoder (``ChemtlModel``, from any chemtl model directory) + an
optional linear projection head (``projection_dim``; None: the pooled embedding itself) + a
learnable ``log_temperature`` (logits ``-d / exp(log_temperature)``, see
``chemtl.transfer.fewshot.protonet``). With ``train_encoder=False`` (the default) the encoder is
frozen (no gradients, kept in eval mode so dropout does not perturb the features) and only the head
and the temperature learn; ``train_encoder=True`` meta-trains the whole encoder too.
``EpisodeLoss`` is the engine ``Objective``: the cross-entropy of an episode's query logits.

Episodic training itself (the episode stream, the run directory, loading a meta-trained
directory back) is ``chemtl.pipelines.metatrain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from chemtl.errors import ChemtlError
from chemtl.training.config import ConfigError, TrainConfig, _JsonConfig
from chemtl.transfer.fewshot.protonet import DISTANCES, class_prototypes, prototype_logits

FEWSHOT_FILE = "fewshot.json"
HEAD_FILE = "fewshot_head.safetensors"
FEWSHOT_FORMAT = "chemtl-fewshot"
RUN_KIND = "fewshot-train"


def _check_int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        extra = " or None" if allow_none else ""
        raise ConfigError(f"{name} must be an integer >= {low}{extra}, got {value!r}")


@dataclass(frozen=True)
class MetaTrainConfig(_JsonConfig):
    """What an episode is and what the prototypical network learns.

    ``ways`` classes per episode (None: every class with enough members), ``shots`` support and
    ``queries`` query rows per class, ``episodes`` episodes per epoch (the engine's
    ``max_epochs`` / ``max_steps`` bound the run). ``distance``: euclidean (squared) or cosine.
    ``projection_dim``: a linear head on the pooled embedding (None: none). ``temperature``: the
    initial temperature, learnt. ``val_episodes``: fixed validation episodes (when validation
    tasks are given).
    """

    ways: int | None = 5
    shots: int = 5
    queries: int = 10
    episodes: int = 200
    distance: str = "euclidean"
    train_encoder: bool = False
    projection_dim: int | None = 128
    temperature: float = 1.0
    max_length: int = 256
    seed: int = 0
    val_episodes: int = 20

    def __post_init__(self) -> None:
        _check_int("ways", self.ways, 2, allow_none=True)
        _check_int("shots", self.shots, 1)
        _check_int("queries", self.queries, 1)
        _check_int("episodes", self.episodes, 1)
        _check_int("projection_dim", self.projection_dim, 1, allow_none=True)
        _check_int("max_length", self.max_length, 3)
        _check_int("seed", self.seed, 0)
        _check_int("val_episodes", self.val_episodes, 1)
        if self.distance not in DISTANCES:
            raise ConfigError(f"distance {self.distance!r} is not one of {', '.join(DISTANCES)}")
        if not isinstance(self.train_encoder, bool):
            raise ConfigError(f"train_encoder must be true or false, got {self.train_encoder!r}")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise ConfigError(f"temperature must be a finite number > 0, got {t!r}")


class ProtoNetModel(nn.Module):
    """Encoder + optional projection + learnable temperature; see the module docstring."""

    def __init__(
        self,
        encoder: nn.Module,
        projection_dim: int | None = None,
        temperature: float = 1.0,
        distance: str = "euclidean",
        train_encoder: bool = False,
    ) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ChemtlError(f"distance {distance!r} is not one of {', '.join(DISTANCES)}")
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.projection = nn.Linear(hidden, projection_dim) if projection_dim else None
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature), dtype=torch.float32))
        self.distance = distance
        self.train_encoder = bool(train_encoder)
        for p in self.encoder.parameters():
            p.requires_grad_(self.train_encoder)

    @property
    def temperature(self) -> float:
        return float(self.log_temperature.detach().exp())

    @property
    def out_dim(self) -> int:
        return (
            self.projection.out_features if self.projection is not None else self.encoder.config.hidden_size
        )

    def train(self, mode: bool = True) -> ProtoNetModel:
        super().train(mode)
        if not self.train_encoder:  # a frozen encoder gives fixed features: no dropout
            self.encoder.eval()
        return self

    def embed(self, batch: dict) -> torch.Tensor:
        """(B, d') embeddings of a tokenised batch: pooled encoder output, then the projection."""
        if self.train_encoder:
            pooled = self.encoder(**batch, return_dict=True).pooler_output
        else:
            with torch.no_grad():
                pooled = self.encoder(**batch, return_dict=True).pooler_output
        return self.projection(pooled) if self.projection is not None else pooled

    def episode_logits(self, batch: dict) -> torch.Tensor:
        """(Q, C) logits of an episode batch (see ``EpisodeCollate``)."""
        z = self.embed(batch["inputs"])  # (S + Q, d')
        n = int(batch["n_support"])
        prototypes = class_prototypes(z[:n], batch["support_labels"], int(batch["n_classes"]))  # (C, d')
        return prototype_logits(z[n:], prototypes, self.distance, self.log_temperature.exp())

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        """The few-shot head's tensors: ``log_temperature`` and ``projection.*``."""
        state = {"log_temperature": self.log_temperature.detach().reshape(1).clone()}
        if self.projection is not None:
            for name, value in self.projection.state_dict().items():
                state[f"projection.{name}"] = value.detach().clone()
        return state

    def load_head_state_dict(self, state: dict[str, torch.Tensor], where: str = "") -> None:
        expected = set(self.head_state_dict())
        if set(state) != expected:
            raise ModelHeadError(
                f"{where or 'few-shot head'}: holds tensors {sorted(state)}, expected {sorted(expected)}"
            )
        with torch.no_grad():
            self.log_temperature.copy_(state["log_temperature"].reshape(()))
            if self.projection is not None:
                self.projection.load_state_dict(
                    {k[len("projection.") :]: v for k, v in state.items() if k != "log_temperature"}
                )


class ModelHeadError(ChemtlError):
    """A few-shot head file that does not fit its ``fewshot.json`` or encoder."""


class EpisodeLoss:
    """The ``Objective`` of meta-training: cross-entropy of the query logits; logs accuracy."""

    def training_loss(
        self, model: ProtoNetModel, batch: dict
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = model.episode_logits(batch)
        labels = batch["query_labels"]
        loss = nn.functional.cross_entropy(logits, labels)
        accuracy = (logits.argmax(dim=-1) == labels).float().mean()
        return loss, {"accuracy": accuracy.detach()}

    def validation_loss(self, model: ProtoNetModel, batch: dict) -> torch.Tensor:
        return nn.functional.cross_entropy(model.episode_logits(batch), batch["query_labels"])


def episode_scores(model: ProtoNetModel, loader) -> tuple[float, float]:
    """Mean query loss and accuracy of ``model`` over the episodes of ``loader`` (eval mode)."""
    was_training = model.training
    model.eval()
    losses, accuracies = [], []
    try:
        with torch.no_grad():
            for batch in loader:
                logits = model.episode_logits(batch)
                labels = batch["query_labels"]
                losses.append(float(nn.functional.cross_entropy(logits, labels)))
                accuracies.append(float((logits.argmax(dim=-1) == labels).float().mean()))
    finally:
        model.train(was_training)
    return float(np.mean(losses)), float(np.mean(accuracies))


def _param_groups(net: ProtoNetModel, train: TrainConfig) -> list[dict[str, Any]]:
    """``chemtl.transfer.parameter_groups`` (head lr, layer-wise decay, no decay on norms and
    embeddings), with the temperature in a group of its own without weight decay."""
    from chemtl.transfer import parameter_groups

    groups = parameter_groups(net, train.lr, train.head_lr, train.lr_decay, train.weight_decay)
    for g in groups:
        keep = [(p, n) for p, n in zip(g["params"], g["param_names"]) if n != "log_temperature"]
        g["params"], g["param_names"] = [p for p, _ in keep], [n for _, n in keep]
    groups = [g for g in groups if g["params"]]
    head_lr = train.lr if train.head_lr is None else train.head_lr
    groups.append(
        {
            "name": "temperature",
            "lr": head_lr,
            "weight_decay": 0.0,
            "params": [net.log_temperature],
            "param_names": ["log_temperature"],
        }
    )
    return groups


__all__ = [
    "FEWSHOT_FILE",
    "HEAD_FILE",
    "EpisodeLoss",
    "MetaTrainConfig",
    "ModelHeadError",
    "ProtoNetModel",
    "episode_scores",
]
