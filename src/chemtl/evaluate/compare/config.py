"""What a comparison runs: ``CompareConfig``, the strategy options, and the flag-value parsers
(seeds, integer lists) that ``chemtl compare`` and the benchmarks share."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.atomic import write_json
from chemtl.training.config import ConfigError, DataConfig, TrainConfig

DEFAULT_STRATEGIES = ("full", "feature", "partial", "prompt", "lora", "scratch")
CONFIG_FILE = "compare_config.json"
# Per task: the headline metric and the extra metrics summarised beside it.
TASK_METRICS = {"regression": ("mae", ("rmse", "r2")), "classification": ("roc_auc", ("accuracy", "f1"))}
SUMMARY_COLUMNS = (
    "strategy",
    "train_size",
    "n_runs",
    "metric",
    "mean",
    "std",
    # regression: rmse_mean, rmse_std, r2_mean, r2_std; classification: accuracy_*, f1_*
    "trainable_params",
    "total_params",
    "train_seconds_mean",
    "peak_rss_mb_max",
    "inference_per_s",
    "epochs_mean",
    "overfit_runs",
)
RUN_COLUMNS = (
    "strategy",
    "train_size",
    "fold",
    "seed",
    "status",
    "trainable_params",
    "total_params",
    "train_seconds",
    "peak_rss_mb",
    "epochs_run",
    "best_epoch",
    "overfit_epoch",
    "inference_per_s",
    "run_dir",
    "error",
)


class CompareError(ConfigError):
    """A comparison that cannot run as asked (the message names the bad value)."""


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def parse_int_list(text: str, flag: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> ``(0, 1, 2)``: integers >= 0 separated by commas, each at most once (empty
    items are ignored, so ``"7,"`` is ``(7,)``); a bad value is a one-line ``CompareError``."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items or not all(t.isdigit() for t in items):
        raise CompareError(f"{flag} {text!r}: write integers >= 0 separated by commas, such as 0,1,2")
    values = tuple(int(t) for t in items)
    if len(set(values)) != len(values):
        raise CompareError(f"{flag} {text!r}: a value is given twice")
    return values


def parse_seeds(text: str, flag: str = "--seeds") -> tuple[int, ...]:
    """The one meaning of ``--seeds`` on every verb and benchmark: a comma-separated list of seed
    values (``0,1,2``); ``3`` is the single seed 3, not a count."""
    return parse_int_list(text, flag)


def default_trainable_layers(num_layers: int | None) -> int:
    """``partial``'s default: the top half of the encoder's layers, at least 1 (2 layers assumed
    when the model is not known yet)."""
    return max(1, (num_layers or 2) // 2)


# ----------------------------------------------------------------------------------------------
# config


@dataclass(frozen=True)
class CompareConfig:
    """What to compare: one model, one table, several strategies, sizes and seeds.

    model: a shipped model name or a model directory (``chemtl.pretrained.resolve_model_dir``).
    data: the table, its columns and its split (``DataConfig``; the split's ``fold`` is one fold,
        ``folds`` several).
    strategies: names from ``chemtl.transfer.STRATEGIES``, run in this order.
    train_sizes: training-set sizes, integers >= 2 and/or ``"all"``; kept sorted (``"all"`` last).
    seeds: an integer ``k`` (seeds 0..k-1) or the seeds themselves.
    folds: several folds of a k-fold split (e.g. matbench 0-4) as replicates; ``None``: the one
        split ``data`` names.
    train: the optimiser settings of every run (its ``seed`` is replaced by each run's seed).
    trainable_layers: ``partial``: top layers that train (``None``: half the encoder's layers,
        at least 1). lora_r, lora_alpha, lora_dropout, lora_target_modules: ``lora``.
        num_virtual_tokens: ``prompt`` and ``prefix``. prompt_init: ``prompt``. prefix_projection,
        prefix_hidden_size: ``prefix``. init_seed, element_init: ``scratch``. Each option goes to the strategies
        it belongs to (``chemtl.transfer.StrategyConfig``), the same for every run.
    size_cap: clip every training-set size (``"all"`` included) to this many rows (quick runs).
    tolerance: the recommendation's "within x of the best" margin (0.02 = 2%, relative).
    overfit_patience: epochs of rising validation loss that mark overfitting (``overfit_epoch``).
    throughput_rows, throughput_repeats: the inference timing (test inputs, timed passes).
    keep_checkpoints: keep each finished run's ``checkpoints/`` (only needed to resume it).
    """

    model: str
    data: DataConfig
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    train_sizes: tuple[int | str, ...] = ("all",)
    seeds: tuple[int, ...] | int = (0,)
    folds: tuple[int, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    trainable_layers: int | None = None
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple[str, ...] | None = None
    num_virtual_tokens: int = 10
    prompt_init: str = "random"
    prefix_projection: bool = False
    prefix_hidden_size: int | None = None
    init_seed: int | None = None
    element_init: str | None = None
    size_cap: int | None = None
    tolerance: float = 0.02
    overfit_patience: int = 2
    throughput_rows: int = 512
    throughput_repeats: int = 3
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        if isinstance(self.model, os.PathLike):
            set_("model", os.fspath(self.model))
        if not isinstance(self.model, str) or not self.model:
            raise CompareError(f"model must be a shipped model name or a directory, got {self.model!r}")
        if not isinstance(self.data, DataConfig):
            raise CompareError(f"data must be a DataConfig, got {type(self.data).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise CompareError(f"train must be a TrainConfig, got {type(self.train).__name__}")
        set_("strategies", self._check_strategies(self.strategies))
        set_("train_sizes", self._check_sizes(self.train_sizes))
        set_("seeds", self._check_seeds(self.seeds))
        if self.folds is not None:
            folds = (self.folds,) if _is_int(self.folds) else tuple(self.folds)
            if not folds or not all(_is_int(f) and f >= 0 for f in folds):
                raise CompareError(f"folds must be integers >= 0, got {self.folds!r}")
            if len(set(folds)) != len(folds):
                raise CompareError(f"fold repeated in {list(folds)!r}")
            if self.data.fold is not None:
                raise CompareError(
                    f"give either folds {list(folds)!r} or data.fold {self.data.fold!r}, not both"
                )
            set_("folds", folds)
        if self.trainable_layers is not None and (
            not _is_int(self.trainable_layers) or self.trainable_layers < 1
        ):
            raise CompareError(f"trainable_layers must be an integer >= 1, got {self.trainable_layers!r}")
        for name in (
            "lora_r",
            "num_virtual_tokens",
            "overfit_patience",
            "throughput_rows",
            "throughput_repeats",
        ):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise CompareError(f"{name} must be an integer >= 1, got {value!r}")
        if (
            isinstance(self.lora_alpha, bool)
            or not isinstance(self.lora_alpha, int | float)
            or self.lora_alpha <= 0
        ):
            raise CompareError(f"lora_alpha must be a positive number, got {self.lora_alpha!r}")
        if self.size_cap is not None and (not _is_int(self.size_cap) or self.size_cap < 2):
            raise CompareError(f"size_cap must be an integer >= 2, got {self.size_cap!r}")
        if (
            isinstance(self.tolerance, bool)
            or not isinstance(self.tolerance, int | float)
            or not 0 <= self.tolerance < 1
        ):
            raise CompareError(f"tolerance must be a fraction in [0, 1) such as 0.02, got {self.tolerance!r}")
        if isinstance(self.lora_target_modules, str | list):
            modules = self.lora_target_modules
            set_("lora_target_modules", (modules,) if isinstance(modules, str) else tuple(modules))
        if not isinstance(self.keep_checkpoints, bool):
            raise CompareError(f"keep_checkpoints must be true or false, got {self.keep_checkpoints!r}")
        for name in self.strategies:  # the strategy options must fit each strategy
            self.strategy_config(name, num_layers=None)

    @staticmethod
    def _check_strategies(value: Any) -> tuple[str, ...]:
        from chemtl.transfer import STRATEGIES

        names = tuple(s.strip() for s in value.split(",")) if isinstance(value, str) else tuple(value)
        if not names:
            raise CompareError("strategies must name at least one strategy")
        for name in names:
            if name not in STRATEGIES:
                raise CompareError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
        if len(set(names)) != len(names):
            raise CompareError(f"strategy repeated in {','.join(names)!r}")
        return names

    @staticmethod
    def _check_sizes(value: Any) -> tuple[int | str, ...]:
        items = value.split(",") if isinstance(value, str) else ([value] if _is_int(value) else list(value))
        sizes: list[int | str] = []
        for item in items:
            size: int | str | None = None
            if isinstance(item, str):
                text = item.strip().lower()
                size = "all" if text == "all" else int(text) if text.isdigit() else None
            elif _is_int(item):
                size = item
            if size is None or (size != "all" and size < 2):  # type: ignore[operator]
                raise CompareError(f"train size {item!r} must be an integer >= 2 or 'all'")
            if size in sizes:
                raise CompareError(f"train size {item!r} given twice")
            sizes.append(size)
        if not sizes:
            raise CompareError("train_sizes must name at least one size")
        ints = sorted(s for s in sizes if s != "all")
        return (*ints, *(["all"] if "all" in sizes else []))

    @staticmethod
    def _check_seeds(value: Any) -> tuple[int, ...]:
        if _is_int(value):
            if value < 1:
                raise CompareError(f"seeds must be a count >= 1 or a list of seeds, got {value!r}")
            return tuple(range(value))
        seeds = tuple(value)
        if not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
            raise CompareError(f"seeds must be a count >= 1 or integers >= 0, got {value!r}")
        if len(set(seeds)) != len(seeds):
            raise CompareError(f"seed repeated in {list(seeds)!r}")
        return seeds

    def strategy_config(self, name: str, num_layers: int | None):
        """The ``StrategyConfig`` of strategy ``name`` for a model with ``num_layers`` encoder layers
        (``None``: only check the options): each option of this config that the strategy takes."""
        return strategy_config(
            name,
            num_layers,
            trainable_layers=self.trainable_layers,
            lora_r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            lora_target_modules=self.lora_target_modules,
            num_virtual_tokens=self.num_virtual_tokens,
            prompt_init=self.prompt_init,
            prefix_projection=self.prefix_projection,
            prefix_hidden_size=self.prefix_hidden_size,
            init_seed=self.init_seed,
            element_init=self.element_init,
        )

    # --- JSON -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["data"] = self.data.to_dict()
        out["train"] = self.train.to_dict()
        for name in ("strategies", "train_sizes", "seeds", "folds", "lora_target_modules"):
            out[name] = None if out[name] is None else list(out[name])
        if out["element_init"] is None:  # added later: configs written before it read back equal
            del out["element_init"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompareConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise CompareError(f"unknown CompareConfig field(s): {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("data"), dict):
            values["data"] = DataConfig.from_dict(values["data"])
        if isinstance(values.get("train"), dict):
            values["train"] = TrainConfig.from_dict(values["train"])
        for name in ("strategies", "train_sizes", "seeds", "folds", "lora_target_modules"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(**values)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> CompareConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CompareError(f"cannot read {str(path)!r} as a compare config: {exc}") from None
        return cls.from_dict(data)


def strategy_config(name: str, num_layers: int | None, **options: Any):
    """The ``StrategyConfig`` of strategy ``name`` from ``options`` (``StrategyConfig`` fields):
    only the options that strategy takes are passed on (``None`` values are left at its defaults);
    ``partial`` without ``trainable_layers`` gets ``default_trainable_layers(num_layers)``. The one
    place ``compare`` and the benchmarks build a strategy."""
    from chemtl.transfer import STRATEGIES, StrategyConfig

    if name not in STRATEGIES:
        raise CompareError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    takes = STRATEGIES[name].options
    given = {k: v for k, v in options.items() if k in takes and v is not None}
    if name == "partial":
        layers = given.get("trainable_layers")
        if layers is None:
            given["trainable_layers"] = default_trainable_layers(num_layers)
        elif num_layers is not None and layers > num_layers:
            raise CompareError(
                f"trainable_layers {layers} is larger than the model's {num_layers} encoder layers"
            )
    return StrategyConfig(name=name, **given)
