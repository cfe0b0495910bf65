"""Typed run configurations: validated in ``__post_init__``, saved and loaded as JSON beside outputs.

- ``ModelConfig``: which encoder to build from scratch (size, kind, config overrides).
- ``TrainConfig``: optimiser, schedule, stopping, seed, devices and precision.
- ``DataConfig``: which dataset, which columns, which split.
- ``PretrainConfig``: objectives and masking of a pretraining run.

A config never holds an argparse Namespace; the CLI builds these from flags, Python callers
build them directly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.atomic import write_json
from chemtl.errors import ChemtlError

KINDS = ("composition", "smiles", "selfies")
TASKS = ("regression", "classification")
PRECISIONS = ("32", "bf16-mixed")
ACCELERATORS = ("cpu", "gpu", "auto")
SCHEDULERS = ("constant", "linear", "cosine", "onecycle", "cyclic")
# CrabNet's cyclic learning rate runs from 1e-4 to 6e-3: its minimum is 1/60 of its maximum.
CYCLE_MIN_RATIO = 1e-4 / 6e-3
LOSSES = ("mse", "l1", "robust-l1")
HEADS = ("pooled", "elementwise")
# ``TrainConfig.features``: molecule features beside the pooled embedding (``chemtl.data.features``).
FEATURES = ("none", "morgan", "rdkit")
OPTIMIZERS = ("adamw-fused", "adamw")
OBJECTIVES = ("mlm", "contrastive", "descriptors", "causal")
MASKINGS = ("random", "element-group", "span")
# Training-batch augmentation (``DataConfig.augment``): "auto" is "jitter" for compositions and
# "random-smiles" for SMILES and SELFIES (randomised through SMILES).
AUGMENTS = ("none", "auto", "jitter", "random-smiles")
AUGMENT_KINDS = {"jitter": ("composition",), "random-smiles": ("smiles", "selfies")}
DEFAULT_JITTER = 0.02
# ``TrainConfig.batch_size = "auto"``: CrabNet's rule, resolved from the training rows.
AUTO_BATCH_MIN, AUTO_BATCH_MAX = 2**7, 2**12


class ConfigError(ChemtlError, ValueError):
    """An option value, or a combination of options, that a run cannot use."""


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} {value!r} is not one of {', '.join(map(str, choices))}")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}")


def resolve_augment(augment: str, kind: str) -> str:
    """The augmentation ``augment`` means for inputs of ``kind``: "none", "jitter" or
    "random-smiles" ("auto" picks by kind); ``ConfigError`` when it does not fit the kind."""
    _check_choice("augment", augment, AUGMENTS)
    if augment == "none":
        return "none"
    if augment == "auto":
        return "jitter" if kind == "composition" else "random-smiles"
    if kind not in AUGMENT_KINDS[augment]:
        raise ConfigError(
            f"augment {augment!r} applies to {' and '.join(AUGMENT_KINDS[augment])} inputs, not {kind}"
        )
    return augment


def auto_batch_size(n_train: int) -> int:
    """CrabNet's batch size for ``n_train`` training rows: ``2 ** round(log2(n_train) - 4)``
    (about 1/16 of the rows, a power of two) clamped to 128..4096 (``AUTO_BATCH_MIN``/``MAX``)."""
    if not isinstance(n_train, int) or isinstance(n_train, bool) or n_train < 1:
        raise ConfigError(f"batch_size 'auto' needs a number of training rows >= 1, got {n_train!r}")
    return min(max(2 ** round(math.log2(n_train) - 4), AUTO_BATCH_MIN), AUTO_BATCH_MAX)


class _JsonConfig:
    """Mixin: ``to_dict`` / ``from_dict`` / ``save`` / ``load`` for a flat dataclass."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    # Fields added after runs were first recorded, with the value every run before them had.
    # ``key_dict`` leaves such a field out while it holds that value, so a finished run keyed before
    # it existed is still found (and reused), and ``chemtl.pipelines.runs`` resumes an interrupted
    # run whose saved config lacks it as one that ran with that value. A field whose default is
    # not that value (``optimizer``) enters the key at its default: new runs are new.
    _legacy: dict[str, Any] = {}

    def key_dict(self) -> dict[str, Any]:
        """``to_dict`` for run keys (``chemtl.evaluate.compare.run_hash``): without the ``_legacy``
        fields that hold their legacy values."""
        return {k: v for k, v in self.to_dict().items() if not (k in self._legacy and v == self._legacy[k])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        data = {k: tuple(v) if isinstance(v, list) and k in cls._tuple_fields else v for k, v in data.items()}
        return cls(**data)

    _tuple_fields: tuple[str, ...] = ()

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path):
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ModelConfig(_JsonConfig):
    """An encoder built from scratch: ``ChemtlConfig.from_size(size, kind, vocab_size)`` + overrides."""

    size: str = "small"
    kind: str = "composition"
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, KINDS)
        if not isinstance(self.size, str) or not self.size:
            raise ConfigError(f"size must be a name such as 'tiny' or 'small', got {self.size!r}")
        if not isinstance(self.overrides, dict):
            raise ConfigError(f"overrides must be a mapping, got {self.overrides!r}")


@dataclass(frozen=True)
class TrainConfig(_JsonConfig):
    """How to optimise: the same TrainConfig and seed give the same numbers on the CPU.

    ``batch_size`` is per process: with ``devices=2`` each step sees ``2 * batch_size`` rows.
    ``batch_size="auto"`` grows with the data (CrabNet's rule, ``auto_batch_size``): ``finetune``
    resolves it from its training rows (``for_rows``) before training and records the number.
    ``max_steps=None`` trains for ``max_epochs``; otherwise training stops at whichever comes first.
    ``head_lr=None`` uses ``lr`` for the head too. ``lr_decay`` < 1 multiplies the learning rate of
    each encoder layer below the top by that factor per layer (layer-wise decay).
    ``patience=None`` disables early stopping (the last epoch's weights are kept).
    ``checkpoint_every_n_steps`` writes ``checkpoints/last.ckpt`` every N optimiser steps, besides
    after every epoch.
    ``loss`` (regression): ``mse``, ``l1`` or ``robust-l1`` (the head also predicts each row's
    standard deviation, which ``chemtl predict`` reports); the validation loss that picks the best
    epoch is the same loss. ``output_gate`` (regression): a sigmoid gate that lets the head
    predict exactly 0 in the user's units (targets with a point mass at 0, such as metals' band
    gaps). Both become the fine-tuned model's ``regression_loss`` / ``output_gate``.
    ``optimizer``: ``adamw-fused`` (torch's fused AdamW kernel: one pass over all parameters per
    step, the same update as ``adamw`` up to float rounding; faster on these small models,
    ``chemtl benchmark speed``) or ``adamw`` (the per-parameter loop every run before 2026-12-01
    used).
    ``head``: ``pooled`` (an MLP on the pooled embedding) or ``elementwise`` (compositions:
    CrabNet's residual MLP on every element's hidden state, averaged over the elements); the
    fine-tuned model's ``head_type``.
    ``features`` (SMILES/SELFIES, pooled head): ``none``, ``morgan`` (2048 Morgan bits, radius 2,
    unscaled) or ``rdkit`` (RDKit's 2D descriptors, standardised with the training rows' mean and
    std) concatenated to the pooled embedding before the head, as Chemprop's feature generators;
    the fine-tuned model's ``extra_features``, its scaling stored in its config.
    """

    lr: float = 1e-4
    head_lr: float | None = 1e-3
    lr_decay: float = 1.0
    weight_decay: float = 0.01
    batch_size: int | str = 32
    max_epochs: int = 50
    max_steps: int | None = None
    patience: int | None = 10
    seed: int = 0
    devices: int = 1
    num_nodes: int = 1
    accelerator: str = "cpu"
    precision: str = "32"
    num_workers: int = 0
    deterministic: bool = True
    scheduler: str = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = 1.0
    checkpoint_every_n_steps: int = 50
    progress_bar: bool = True
    cycle_epochs: int = 2
    cycle_min_ratio: float = CYCLE_MIN_RATIO
    swa: bool = False
    swa_start: float = 0.5
    loss: str = "mse"
    output_gate: bool = False
    head: str = "pooled"
    optimizer: str = "adamw-fused"
    features: str = "none"
    _legacy = {
        "loss": "mse",
        "output_gate": False,
        "cycle_epochs": 2,
        "cycle_min_ratio": CYCLE_MIN_RATIO,
        "swa": False,
        "swa_start": 0.5,
        "head": "pooled",
        "optimizer": "adamw",
        "features": "none",
    }

    def __post_init__(self) -> None:
        _check_positive("lr", self.lr)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("head", self.head, HEADS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("features", self.features, FEATURES)
        if self.features != "none" and self.head != "pooled":
            raise ConfigError(
                f"features {self.features!r} join the pooled embedding; head {self.head!r} reads every "
                "element's hidden state: use head pooled"
            )
        if not isinstance(self.output_gate, bool):
            raise ConfigError(f"output_gate must be true or false, got {self.output_gate!r}")
        if self.head_lr is not None:
            _check_positive("head_lr", self.head_lr)
        _check_positive("lr_decay", self.lr_decay)
        if self.lr_decay > 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        _check_positive("weight_decay", self.weight_decay, allow_zero=True)
        b = self.batch_size
        if b != "auto" and (not isinstance(b, int) or isinstance(b, bool) or b < 1):
            raise ConfigError(f"batch_size must be an integer >= 1 or 'auto', got {b!r}")
        for name in ("max_epochs", "devices", "num_nodes", "checkpoint_every_n_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("max_steps", "patience"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1 or None, got {value!r}")
        for name in ("seed", "num_workers", "warmup_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("accelerator", self.accelerator, ACCELERATORS)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        if self.grad_clip is not None:
            _check_positive("grad_clip", self.grad_clip)
        if self.scheduler in ("onecycle", "cyclic") and self.warmup_steps:
            raise ConfigError(
                f"warmup_steps {self.warmup_steps} cannot go with scheduler {self.scheduler}, "
                "which warms up itself: set it to 0 (--warmup-steps 0)"
            )
        c = self.cycle_epochs
        if not isinstance(c, int) or isinstance(c, bool) or c < 1:
            raise ConfigError(f"cycle_epochs must be an integer >= 1, got {c!r}")
        r = self.cycle_min_ratio
        if not isinstance(r, int | float) or isinstance(r, bool) or not 0 < r < 1:
            raise ConfigError(f"cycle_min_ratio must be in (0, 1), got {r!r}")
        if self.scheduler != "cyclic":
            for name, default in (("cycle_epochs", 2), ("cycle_min_ratio", CYCLE_MIN_RATIO)):
                if getattr(self, name) != default:
                    raise ConfigError(
                        f"{name} {getattr(self, name)!r} needs scheduler cyclic (--scheduler cyclic), "
                        f"got scheduler {self.scheduler}"
                    )
        if not isinstance(self.swa, bool):
            raise ConfigError(f"swa must be true or false, got {self.swa!r}")
        start = self.swa_start
        if not isinstance(start, int | float) or isinstance(start, bool) or not 0 <= start < 1:
            raise ConfigError(f"swa_start must be in [0, 1), got {start!r}")
        if start != 0.5 and not self.swa:
            raise ConfigError(f"swa_start {start!r} needs swa (--swa)")

    @property
    def world_size(self) -> int:
        return self.devices * self.num_nodes

    def for_rows(self, n_train: int) -> TrainConfig:
        """This config with ``batch_size="auto"`` resolved for ``n_train`` training rows
        (``auto_batch_size``); itself when the batch size is already a number."""
        if self.batch_size != "auto":
            return self
        return dataclasses.replace(self, batch_size=auto_batch_size(n_train))


@dataclass(frozen=True)
class DataConfig(_JsonConfig):
    """Which rows to learn from and how to split them.

    ``dataset``: a registered name or a CSV path (``input_col``/``target_col``/``kind``/``task``
    as ``chemtl.data.load_dataset`` takes them). ``split``: a method of
    ``chemtl.data.splits.make_split`` (random, matbench, scaffold, kfold, shipped, ...) with
    ``split_params`` (e.g. ``{"frac": [0.8, 0.1, 0.1]}``); the default ``"auto"`` becomes
    ``chemtl.data.splits.default_split_method(dataset)`` (matbench folds, a shipped split, else
    ``grouped``: random by compound) when the config is made; ``fold`` picks one fold of a k-fold
    method (matbench: the published 5 folds). A split without validation rows (the matbench and
    k-fold ones) gets ``val_frac`` of its training rows, drawn with ``split_seed``, as validation.
    ``split_file``: a split saved by ``chemtl split`` instead of a method. ``max_length``: inputs are
    truncated to this many tokens (with [CLS] and [SEP]). ``select`` / ``select_n``: after the
    split, train on only ``select_n`` rows of the training side, chosen by ``select`` (a method of
    ``chemtl.transfer.fewshot.support.SELECT_METHODS``: k-means on the pretrained model's
    embeddings, or random) with ``split_seed``; validation and test rows are untouched.
    ``augment``: how training batches (never validation, test or prediction rows) are varied, one
    of ``AUGMENTS``: "jitter" multiplies each element's fraction by ``1 + N(0, jitter)`` and
    renormalises (CrabNet's, compositions), "random-smiles" writes each molecule as a randomised
    SMILES (SMILES, SELFIES), "auto" picks by kind; the noise comes from each batch's seed.
    """

    dataset: str
    input_col: str | None = None
    target_col: str | None = None
    kind: str | None = None
    task: str | None = None
    split: str = "auto"
    split_params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    val_frac: float = 0.1
    split_seed: int = 0
    split_file: str | None = None
    max_length: int = 256
    skip_invalid: bool = False
    select: str | None = None
    select_n: int | None = None
    augment: str = "none"
    jitter: float = DEFAULT_JITTER
    _legacy = {"augment": "none", "jitter": DEFAULT_JITTER}

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError(f"dataset must be a name or a path, got {self.dataset!r}")
        if self.kind is not None:
            _check_choice("kind", self.kind, KINDS)
        if self.task is not None:
            _check_choice("task", self.task, TASKS)
        if not isinstance(self.split, str) or not self.split:
            raise ConfigError(f"split must be a method name, got {self.split!r}")
        if self.split == "auto":
            from chemtl.data.splits import default_split_method

            chosen = "random" if self.split_file is not None else default_split_method(self.dataset)[0]
            object.__setattr__(self, "split", chosen)
        if not isinstance(self.split_params, dict):
            raise ConfigError(f"split_params must be a mapping, got {self.split_params!r}")
        if self.fold is not None and (
            not isinstance(self.fold, int) or isinstance(self.fold, bool) or self.fold < 0
        ):
            raise ConfigError(f"fold must be an integer >= 0, got {self.fold!r}")
        if not isinstance(self.val_frac, int | float) or not 0 <= self.val_frac < 1:
            raise ConfigError(f"val_frac must be in [0, 1), got {self.val_frac!r}")
        if not isinstance(self.split_seed, int) or isinstance(self.split_seed, bool) or self.split_seed < 0:
            raise ConfigError(f"split_seed must be an integer >= 0, got {self.split_seed!r}")
        if not isinstance(self.max_length, int) or self.max_length < 3:
            raise ConfigError(f"max_length must be an integer >= 3, got {self.max_length!r}")
        if (self.select is None) != (self.select_n is None):
            given, missing = ("select", "select_n") if self.select_n is None else ("select_n", "select")
            raise ConfigError(
                f"{given} {getattr(self, given)!r} needs {missing} too (--select METHOD with --n K)"
            )
        if self.select is not None:
            from chemtl.transfer.fewshot.support import SELECT_METHODS

            _check_choice("select", self.select, SELECT_METHODS)
            if not isinstance(self.select_n, int) or isinstance(self.select_n, bool) or self.select_n < 1:
                raise ConfigError(f"select_n must be an integer >= 1, got {self.select_n!r}")
        _check_choice("augment", self.augment, AUGMENTS)
        j = self.jitter
        if not isinstance(j, int | float) or isinstance(j, bool) or not (math.isfinite(j) and 0 < j < 1):
            raise ConfigError(f"jitter must be a number in (0, 1), got {j!r}")
        if self.kind is not None:
            resolve_augment(self.augment, self.kind)
        if j != DEFAULT_JITTER and self.augment in ("none", "random-smiles"):
            raise ConfigError(f"jitter {j!r} needs augment 'jitter' or 'auto', not {self.augment!r}")


@dataclass(frozen=True)
class PretrainConfig(_JsonConfig):
    """What a pretraining run optimises.

    ``objectives``: any of ``mlm``, ``contrastive`` and ``descriptors`` (losses summed, the
    contrastive one weighted by ``contrastive_weight``, the descriptor one by
    ``descriptor_weight``). ``descriptors`` (SMILES/SELFIES): multi-task regression on RDKit
    descriptors (``chemtl.data.features.PRETRAIN_DESCRIPTORS``) computed for each batch, label
    free (ChemBERTa-2's MTR), standardised with statistics fitted once on the held-out head rows;
    alone it is pure multi-task regression. ``mask``: ``random`` tokens, whole ``element-group``s
    (compositions) or ``span``s (SMILES). ``val_rows`` rows at the head of the corpus are held out
    for the validation loss; the rest stream through training.

    ``("causal",)`` (alone) trains a GPT-2 generator instead of an encoder (``mask`` unused).
    ``conditions``: with it, ``NAME:DATASET[:COL]`` specs of labelled sets whose values are cut
    into ``bins`` quantile bins; each labelled row joins the corpus behind its bin's token
    ``[NAME=bK]`` (see ``chemtl.data.conditions``), ``condition_repeat`` times (so a small
    labelled set is not drowned by a large corpus).
    """

    objectives: tuple[str, ...] = ("mlm",)
    mask: str = "random"
    mask_prob: float = 0.15
    contrastive_weight: float = 1.0
    descriptor_weight: float = 1.0
    temperature: float = 0.1
    max_length: int = 128
    val_rows: int = 1000
    conditions: tuple[str, ...] = ()
    bins: int = 4
    condition_repeat: int = 1
    _tuple_fields = ("objectives", "conditions")
    _legacy = {"condition_repeat": 1, "descriptor_weight": 1.0}

    def __post_init__(self) -> None:
        if isinstance(self.objectives, str):
            object.__setattr__(self, "objectives", tuple(o.strip() for o in self.objectives.split(",")))
        objectives = tuple(self.objectives)
        object.__setattr__(self, "objectives", objectives)
        if not objectives:
            raise ConfigError("objectives must name at least one of mlm, contrastive, descriptors")
        for o in objectives:
            _check_choice("objective", o, OBJECTIVES)
        if len(set(objectives)) != len(objectives):
            raise ConfigError(f"objective repeated in {','.join(objectives)!r}")
        if "causal" in objectives and len(objectives) > 1:
            raise ConfigError(
                f"objective causal trains a generator and cannot be combined: {','.join(objectives)!r}"
            )
        object.__setattr__(self, "conditions", tuple(self.conditions))
        if self.conditions:
            from chemtl.data.conditions import parse_condition_spec

            if objectives != ("causal",):
                raise ConfigError("conditions need the causal objective (--objective causal)")
            names = [parse_condition_spec(c)[0] for c in self.conditions]
            if len(set(names)) != len(names):
                raise ConfigError(f"condition name repeated in {', '.join(self.conditions)!r}")
        if not isinstance(self.bins, int) or isinstance(self.bins, bool) or not 2 <= self.bins <= 100:
            raise ConfigError(f"bins must be an integer from 2 to 100, got {self.bins!r}")
        r = self.condition_repeat
        if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= 1000:
            raise ConfigError(f"condition_repeat must be an integer from 1 to 1000, got {r!r}")
        if r > 1 and not self.conditions:
            raise ConfigError(f"condition_repeat {r} needs a condition (--condition)")
        _check_choice("mask", self.mask, MASKINGS)
        if not 0 < self.mask_prob < 1:
            raise ConfigError(f"mask_prob must be in (0, 1), got {self.mask_prob!r}")
        _check_positive("contrastive_weight", self.contrastive_weight)
        _check_positive("descriptor_weight", self.descriptor_weight)
        if self.descriptor_weight != 1.0 and "descriptors" not in objectives:
            raise ConfigError(
                f"descriptor_weight {self.descriptor_weight!r} needs the descriptors objective "
                "(--objective ...,descriptors)"
            )
        _check_positive("temperature", self.temperature)
        if not isinstance(self.max_length, int) or self.max_length < 4:
            raise ConfigError(f"max_length must be an integer >= 4, got {self.max_length!r}")
        if not isinstance(self.val_rows, int) or self.val_rows < 0:
            raise ConfigError(f"val_rows must be an integer >= 0, got {self.val_rows!r}")
