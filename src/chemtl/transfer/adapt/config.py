"""``AdaptConfig``: what a domain-adaptation run (`chemtl adapt`) does. No torch here."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.atomic import write_json
from chemtl.errors import ChemtlError

METHODS = ("source-only", "dann")
SELECTIONS = ("source-val", "dev")
KINDS = ("composition", "smiles", "selfies")


class AdaptError(ChemtlError, ValueError):
    """An adaptation option or input that cannot be used (the message names the value)."""


@dataclass(frozen=True)
class AdaptConfig:
    """A labelled ``source`` (registered name or csv), an unlabelled ``target``.

    ``target_col`` names the property: the target's label column (read only for ``evaluate`` and
    ``target_labels``) and the source's too unless ``source_col`` is given. ``method``:
    ``source-only`` (the control: the same pipeline, the domain classifier trained on detached
    embeddings so that nothing reaches the encoder) or ``dann`` (the classifier behind gradient
    reversal, lambda on Ganin's schedule times ``domain_weight``). ``target_labels`` N: N labelled
    target rows (drawn with ``seed``) join the training rows. ``selection``: which validation
    loss picks the best epoch: the source validation loss, or DEV (importance-weighted by the
    domain classifier's density ratios). ``split``/``split_params``/``fold``/``val_frac``/
    ``split_seed``: the source's split (as ``DataConfig``; validation rows are carved from train
    when the split has none). ``diagnostics``: domain-gap numbers before and after adaptation
    (when ``chemtl.evaluate.domain_gap`` is installed), on at most ``diagnostics_rows`` rows of
    each domain.
    """

    source: str
    target: str
    target_col: str | None = None
    source_col: str | None = None
    input_col: str | None = None
    kind: str | None = None
    method: str = "dann"
    target_labels: int | None = None
    selection: str = "source-val"
    domain_weight: float = 1.0
    domain_hidden: int | None = None
    evaluate: bool = False
    seed: int = 0
    split: str = "auto"
    split_params: dict[str, Any] = field(default_factory=dict)
    fold: int | None = None
    val_frac: float = 0.1
    split_seed: int = 0
    max_length: int = 256
    skip_invalid: bool = False
    diagnostics: bool = True
    diagnostics_rows: int = 2000

    def __post_init__(self) -> None:
        for name in ("source", "target"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise AdaptError(f"{name} must be a dataset name or a csv path, got {value!r}")
        if self.method not in METHODS:
            raise AdaptError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.selection not in SELECTIONS:
            raise AdaptError(f"selection {self.selection!r} is not one of {', '.join(SELECTIONS)}")
        if self.kind is not None and self.kind not in KINDS:
            raise AdaptError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.target_labels is not None and (
            not isinstance(self.target_labels, int)
            or isinstance(self.target_labels, bool)
            or self.target_labels < 1
        ):
            raise AdaptError(f"target_labels must be an integer >= 1, got {self.target_labels!r}")
        w = self.domain_weight
        if not isinstance(w, int | float) or isinstance(w, bool) or not math.isfinite(w) or w <= 0:
            raise AdaptError(f"domain_weight must be a finite number > 0, got {w!r}")
        for name in ("seed", "split_seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AdaptError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("domain_hidden", "diagnostics_rows"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise AdaptError(f"{name} must be an integer >= 1, got {value!r}")

    def data_config(self):
        """The source as a ``DataConfig`` (its label column, split and validation rows)."""
        from chemtl.training.config import DataConfig

        return DataConfig(
            dataset=self.source,
            input_col=self.input_col,
            target_col=self.source_col or self.target_col,
            kind=self.kind,
            task="regression",
            split=self.split,
            split_params=dict(self.split_params),
            fold=self.fold,
            val_frac=self.val_frac,
            split_seed=self.split_seed,
            max_length=self.max_length,
            skip_invalid=self.skip_invalid,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise AdaptError(f"unknown AdaptConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> AdaptConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
