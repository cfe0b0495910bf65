"""``StrategyConfig``: which transfer strategy a fine-tuning run uses, and that strategy's options.

One flat, frozen dataclass so the CLI fills it from flags and a run saves it as ``strategy.json``
next to its outputs. Each strategy declares which fields it reads (``Strategy.options`` in its own
module); setting another strategy's option to a non-default value is an error, so a typo such as
``--strategy full --lora-r 4`` fails instead of being ignored.

This module imports neither torch nor peft.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chemtl.atomic import write_json
from chemtl.errors import ChemtlError

PROMPT_INITS = ("random", "vocab")


class TransferError(ChemtlError, ValueError):
    """A transfer option, or a combination of options, that cannot be used (the message names it)."""


class UnknownStrategyError(TransferError):
    """A strategy name that is not registered in ``chemtl.transfer.STRATEGIES``."""


class TrainableLayersError(TransferError):
    """``trainable_layers`` missing, not a positive integer, or larger than the model's depth."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise TransferError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class StrategyConfig:
    """A transfer strategy and its options.

    name: one of ``chemtl.transfer.STRATEGIES`` (full, feature, partial, scratch, prompt, prefix, lora).
    trainable_layers: ``partial`` only (required there): how many of the top encoder layers train.
    lora_r, lora_alpha, lora_dropout: ``lora`` only: rank, scaling numerator (scale = alpha / r) and
        dropout on the LoRA branch's input.
    lora_target_modules: ``lora`` only: module-name suffixes inside the encoder to adapt; ``None``
        means ``chemtl.models.LORA_TARGET_MODULES`` (query and value projections).
    num_virtual_tokens: ``prompt`` and ``prefix``: number of learned virtual tokens / prefix positions.
    prompt_init: ``prompt`` only: ``"random"`` or ``"vocab"`` (start from the embeddings of randomly
        drawn regular tokens, as Lester et al. 2021 recommend; for compositions: elements).
    freeze_prompt: ``prompt`` only: keep the virtual tokens at their initial values (a *fixed*
        prompt: only the head trains), the control against which a learned prompt is measured.
    prefix_projection, prefix_hidden_size: ``prefix`` only: reparameterise the prefixes through a
        two-layer tanh MLP (Li & Liang 2021) of width ``prefix_hidden_size`` (default: hidden size).
    init_seed: ``scratch`` only: seed for re-initialising the weights; ``None`` draws from the
        current global RNG (so the run's own seed decides).
    element_init: ``scratch`` only (compositions): initialise the element embeddings from this
        element table (``"mat2vec"``, ... ``chemtl.models.element_tables.ELEMENT_TABLES``) instead of
        at random; ``None`` keeps the model's own ``element_init``.
    """

    name: str = "full"
    trainable_layers: int | None = None
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple[str, ...] | None = None
    num_virtual_tokens: int = 10
    prompt_init: str = "random"
    freeze_prompt: bool = False
    prefix_projection: bool = False
    prefix_hidden_size: int | None = None
    init_seed: int | None = None
    element_init: str | None = None

    def __post_init__(self) -> None:
        from chemtl.transfer import STRATEGIES  # the registry imports the strategy modules

        if self.name not in STRATEGIES:
            raise UnknownStrategyError(
                f"unknown strategy {self.name!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if isinstance(self.lora_target_modules, list | str):
            modules = (
                (self.lora_target_modules,)
                if isinstance(self.lora_target_modules, str)
                else self.lora_target_modules
            )
            object.__setattr__(self, "lora_target_modules", tuple(modules))
        strategy = STRATEGIES[self.name]
        defaults = StrategyConfig.__dataclass_fields__
        for f in dataclasses.fields(self):
            if f.name == "name" or f.name in strategy.options:
                continue
            if getattr(self, f.name) != defaults[f.name].default:
                owners = [n for n, s in STRATEGIES.items() if f.name in s.options]
                raise TransferError(
                    f"{f.name}={getattr(self, f.name)!r} only applies to strategy {' or '.join(owners)}, "
                    f"not {self.name!r}"
                )
        self._check_values()
        strategy.validate(self)

    def _check_values(self) -> None:
        if self.trainable_layers is not None and (
            not _is_int(self.trainable_layers) or self.trainable_layers < 1
        ):
            raise TrainableLayersError(
                f"trainable_layers must be an integer >= 1, got {self.trainable_layers!r}"
            )
        _check_int("lora_r", self.lora_r, 1)
        if (
            not isinstance(self.lora_alpha, int | float)
            or isinstance(self.lora_alpha, bool)
            or self.lora_alpha <= 0
        ):
            raise TransferError(f"lora_alpha must be a positive number, got {self.lora_alpha!r}")
        if not isinstance(self.lora_dropout, int | float) or not 0.0 <= self.lora_dropout < 1.0:
            raise TransferError(f"lora_dropout must be a number in [0, 1), got {self.lora_dropout!r}")
        if self.lora_target_modules is not None and (
            not self.lora_target_modules
            or not all(isinstance(m, str) and m for m in self.lora_target_modules)
        ):
            raise TransferError(
                f"lora_target_modules must be non-empty module names, got {self.lora_target_modules!r}"
            )
        _check_int("num_virtual_tokens", self.num_virtual_tokens, 1)
        if self.prompt_init not in PROMPT_INITS:
            raise TransferError(
                f"unknown prompt_init {self.prompt_init!r}; choose one of {', '.join(PROMPT_INITS)}"
            )
        if not isinstance(self.freeze_prompt, bool):
            raise TransferError(f"freeze_prompt must be true or false, got {self.freeze_prompt!r}")
        if not isinstance(self.prefix_projection, bool):
            raise TransferError(f"prefix_projection must be true or false, got {self.prefix_projection!r}")
        if self.prefix_hidden_size is not None:
            _check_int("prefix_hidden_size", self.prefix_hidden_size, 1)
            if not self.prefix_projection:
                raise TransferError(
                    f"prefix_hidden_size={self.prefix_hidden_size} needs prefix_projection=True"
                )
        if self.init_seed is not None:
            _check_int("init_seed", self.init_seed, 0)
        if self.element_init is not None:
            from chemtl.models.element_tables import ELEMENT_TABLES

            if self.element_init not in ELEMENT_TABLES:
                raise TransferError(
                    f"unknown element_init {self.element_init!r}; choose one of {', '.join(ELEMENT_TABLES)}"
                )

    # --- JSON -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; ``freeze_prompt`` and ``element_init`` only when set, so that every config written
        before it existed (strategy.json, run hashes, resumable runs) reads back unchanged."""
        data = dataclasses.asdict(self)
        if not data["freeze_prompt"]:
            del data["freeze_prompt"]
        if data["element_init"] is None:
            del data["element_init"]
        if data["lora_target_modules"] is not None:
            data["lora_target_modules"] = list(data["lora_target_modules"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StrategyConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise TransferError(f"unknown StrategyConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> StrategyConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
