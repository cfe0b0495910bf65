"""``compare``: every transfer strategy on identical rows and seeds, summarised and reported.

    config = CompareConfig(model="composition-small", data=DataConfig("matbench_expt_gap",
                           split="matbench", fold=0), strategies=("full", "lora", "scratch"),
                           train_sizes=(100, "all"), seeds=3, train=TrainConfig(max_epochs=20))
    result = compare(config, "runs/gap-compare")
    print(format_table(result.rows)); print(result.recommendation)

How the rows are chosen (the same for every strategy):

- The split comes from ``config.data`` exactly as ``chemtl finetune`` resolves it (method, fold,
  split seed; validation rows carved from the training side with ``val_frac`` when the method has
  none). Each fold in ``config.folds`` is one more replicate, like a seed.
- A training-set size ``n`` takes the first ``n`` rows of a permutation of the split's training
  side drawn from ``derive_seed(seed, "compare-train-subset", fold)``: it depends on the seed and
  the fold only, never on the strategy or the size, so smaller subsets are prefixes of larger
  ones (nested learning curves) and every strategy of a (size, fold, seed) trains on identical
  rows. ``"all"`` is the whole training side (with several folds: the smallest training side of
  them, so every fold trains on as many rows); ``size_cap`` clips every size.
- Validation and test rows are the split's own, the same for every size, strategy and seed; the
  validation rows (early stopping) are not counted in ``n``.
- Run ``(strategy, n, fold, seed)`` is ``finetune(...)`` with ``TrainConfig.seed = seed`` into
  ``out_dir/runs/<strategy>/n<n>/seed<seed>`` (``fold<f>_seed<seed>`` with several folds), on the
  table restricted to its rows (``out_dir/splits/<tag>.json`` is the split it read,
  ``<tag>.rows.json`` the row numbers in the full table).

Resuming: each run directory gets ``compare_run.json`` with a hash of everything that decides its
numbers (model weights, table sha256, the run's rows, data/train/strategy configs). Running the
same compare again skips runs whose ``metrics.json`` exists with a matching hash, resumes an
interrupted one from its checkpoint, and retries failed ones. ``out_dir/compare_config.json``
holds the config; a different config in the same directory is refused unless ``overwrite``
(runs whose hash still matches are reused even then; the others are replaced).

Files written into ``out_dir`` (all atomically):

    compare_config.json   the CompareConfig
    summary.csv           one row per (strategy, train size): see ``SUMMARY_COLUMNS``
    runs.csv              one row per run: scores, cost, epochs, overfitting epoch, status
    compare.json          config, summary rows, runs, recommendation, provenance
    report.html           table, recommendation, figures, provenance (renders offline)
    figures/              metric_vs_params.png, metric_vs_time.png, learning_curves.png, loss_curves.png
    splits/               the rows of each (size, fold, seed)
    runs/...              one ``finetune`` run directory each (checkpoints removed once finished
                          unless ``keep_checkpoints``)

Cost columns: ``trainable_params``/``total_params`` and ``train_seconds`` come from each run's
metrics.json; ``peak_rss_mb`` is the peak resident memory of this process during the run (the peak
is reset before each run through ``/proc/self/clear_refs`` where Linux allows it, so runs do not
inherit an earlier run's peak; imports and the loaded table are part of every figure);
``inference_per_s`` is measured once per strategy on its run at the largest size (first fold and
seed): the saved run directory loaded as ``chemtl predict`` loads it, a forward pass in eval mode
with batch 256 over up to ``throughput_rows`` test inputs (tokenisation included), the median of
``throughput_repeats`` timed passes after one warm-up.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import atomic_open, write_json
from chemtl.training.config import ConfigError, DataConfig, TrainConfig

DEFAULT_STRATEGIES = ("full", "feature", "partial", "prompt", "lora", "scratch")
CONFIG_FILE = "compare_config.json"
RUN_FILE = "compare_run.json"
RUN_FORMAT = 1
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
        at least 1). lora_r, lora_alpha: ``lora``. num_virtual_tokens: ``prompt`` and ``prefix``.
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
    num_virtual_tokens: int = 10
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
        (``None``: only check the options)."""
        from chemtl.transfer import StrategyConfig

        options: dict[str, Any] = {}
        if name == "partial":
            layers = self.trainable_layers
            if layers is None:
                layers = max(1, (num_layers or 2) // 2)
            elif num_layers is not None and layers > num_layers:
                raise CompareError(
                    f"trainable_layers {layers} is larger than the model's {num_layers} encoder layers"
                )
            options["trainable_layers"] = layers
        elif name == "lora":
            options.update(lora_r=self.lora_r, lora_alpha=self.lora_alpha)
        elif name in ("prompt", "prefix"):
            options["num_virtual_tokens"] = self.num_virtual_tokens
        return StrategyConfig(name=name, **options)

    # --- JSON -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["data"] = self.data.to_dict()
        out["train"] = self.train.to_dict()
        for name in ("strategies", "train_sizes", "seeds", "folds"):
            out[name] = None if out[name] is None else list(out[name])
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
        for name in ("strategies", "train_sizes", "seeds", "folds"):
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


# ----------------------------------------------------------------------------------------------
# results


@dataclass
class RunRecord:
    """One (strategy, size, fold, seed) run. ``status``: ``trained`` (ran now), ``reused`` (found
    finished with the same settings) or ``failed`` (``error`` says why)."""

    strategy: str
    train_size: int
    fold: int | None
    seed: int
    run_dir: str  # relative to the compare's out_dir
    status: str
    metrics: dict[str, Any] | None = None
    peak_rss_mb: float | None = None
    inference_per_s: float | None = None
    overfit_epoch: int | None = None
    curves: dict[str, list] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("trained", "reused") and self.metrics is not None

    def score(self, name: str) -> float | None:
        value = ((self.metrics or {}).get("test") or {}).get(name)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    def to_row(self) -> dict[str, Any]:
        m = self.metrics or {}
        return {
            "strategy": self.strategy,
            "train_size": self.train_size,
            "fold": self.fold,
            "seed": self.seed,
            "status": self.status,
            **{f"test_{k}": v for k, v in (m.get("test") or {}).items()},
            "trainable_params": m.get("trainable_params"),
            "total_params": m.get("total_params"),
            "train_seconds": m.get("train_seconds"),
            "peak_rss_mb": self.peak_rss_mb,
            "epochs_run": m.get("epochs_run"),
            "best_epoch": m.get("best_epoch"),
            "overfit_epoch": self.overfit_epoch,
            "inference_per_s": self.inference_per_s,
            "run_dir": self.run_dir,
            "error": self.error,
        }


@dataclass
class CompareResult:
    """What ``compare`` returns: every run, the summary rows, the recommendation, the files."""

    config: CompareConfig
    out_dir: Path
    task: str
    metric: str  # e.g. "test_mae"
    records: list[RunRecord]
    rows: list[dict[str, Any]]
    recommendation: str
    paths: dict[str, Path]
    wall_seconds: float
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def executed(self) -> int:
        """Runs trained by this call (not reused)."""
        return sum(r.status == "trained" for r in self.records)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.records if r.status == "failed"]


# ----------------------------------------------------------------------------------------------
# helpers: rows, hashes, memory, curves


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_fingerprint(model_dir: Path) -> str:
    """sha256 over the model directory's config.json and model.safetensors."""
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        path = model_dir / name
        h.update(name.encode())
        h.update((_sha256_file(path) if path.is_file() else "-").encode())
    return h.hexdigest()


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def subset_rows(pool: np.ndarray, n: int, seed: int, fold: int | None) -> np.ndarray:
    """The ``n`` training rows of replicate (fold, seed): the first ``n`` of a permutation of
    ``pool`` drawn from (seed, fold) only, so a smaller ``n`` gives a subset (prefix) of a larger
    one; returned sorted."""
    from chemtl.training.seeding import derive_seed

    pool = np.sort(np.asarray(pool, dtype=np.int64))
    if not 0 < n <= len(pool):
        raise CompareError(f"train size {n} does not fit the {len(pool)} training rows")
    rng = np.random.default_rng(derive_seed(seed, "compare-train-subset", -1 if fold is None else fold))
    return np.sort(pool[rng.permutation(len(pool))[:n]])


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_peak_rss_mb() -> float | None:
    """``VmHWM`` of this process in MiB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def read_loss_curves(run_dir: str | Path) -> dict[str, list]:
    """Per-epoch curves of a finetune run from ``logs/metrics.csv`` (Lightning's CSV logger).

    Returns ``{"epoch": [1, 2, ...], "train_loss": [...], "val_loss": [...]}``: ``train_loss`` is
    the epoch mean of ``train_loss_epoch``, ``val_loss`` the epoch's ``val_loss``; the logger's
    0-based epochs become 1-based (as ``best_epoch``); a value the log lacks is None; a repeated
    epoch (a resumed run) keeps its last value.
    """
    path = Path(run_dir) / "logs" / "metrics.csv"
    train: dict[int, float] = {}
    val: dict[int, float] = {}
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    epoch = int(float(row.get("epoch") or ""))
                except ValueError:
                    continue
                for key, store in (("train_loss_epoch", train), ("val_loss", val)):
                    text = (row.get(key) or "").strip()
                    if text:
                        try:
                            store[epoch] = float(text)
                        except ValueError:
                            pass
    epochs = sorted(set(train) | set(val))
    return {
        "epoch": [e + 1 for e in epochs],
        "train_loss": [train.get(e) for e in epochs],
        "val_loss": [val.get(e) for e in epochs],
    }


def measure_throughput(
    run_dir: str | Path, inputs: list[str], repeats: int = 3, batch_size: int = 256
) -> float:
    """Inputs per second through a saved run directory (loaded as ``chemtl predict`` loads it):
    tokenise + forward in eval mode, batch ``batch_size``; median of ``repeats`` timed passes after
    one warm-up batch."""
    from chemtl.pipelines.finetune import forward_outputs
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import load_finetuned

    quiet_transformers()
    loaded = load_model_dir(run_dir)
    model, _ = load_finetuned(run_dir)
    length = int(loaded.meta.get("max_length") or 256)
    if not inputs:
        return math.nan
    forward_outputs(model, loaded.tokenizer, inputs[: min(len(inputs), 32)], length, batch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward_outputs(model, loaded.tokenizer, inputs, length, batch_size)
        times.append(time.perf_counter() - start)
    return len(inputs) / max(statistics.median(times), 1e-9)


# ----------------------------------------------------------------------------------------------
# summary


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _std(values: list[float]) -> float | None:
    """Sample standard deviation (ddof 1); None for fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def summarise(
    records: list[RunRecord], task: str, strategies: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """One row per (train size, strategy) over the finished runs (folds x seeds): see
    ``SUMMARY_COLUMNS``; rows sorted by size, then in ``strategies`` order."""
    main, extras = TASK_METRICS[task]
    order = list(strategies or dict.fromkeys(r.strategy for r in records))
    groups: dict[tuple[int, str], list[RunRecord]] = {}
    for r in records:
        if r.ok:
            groups.setdefault((r.train_size, r.strategy), []).append(r)
    rows = []
    for (size, strategy), runs in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0], order.index(kv[0][1]) if kv[0][1] in order else 99, kv[0][1]),
    ):
        scores = [s for s in (r.score(main) for r in runs) if s is not None]
        row: dict[str, Any] = {
            "strategy": strategy,
            "train_size": size,
            "n_runs": len(runs),
            "metric": f"test_{main}",
            "mean": _mean(scores),
            "std": _std(scores),
        }
        for name in extras:
            values = [s for s in (r.score(name) for r in runs) if s is not None]
            row[f"{name}_mean"] = _mean(values)
            row[f"{name}_std"] = _std(values)
        m0 = runs[0].metrics or {}
        seconds = [
            float(r.metrics["train_seconds"]) for r in runs if r.metrics.get("train_seconds") is not None
        ]
        rss = [r.peak_rss_mb for r in runs if r.peak_rss_mb is not None]
        speed = [r.inference_per_s for r in runs if r.inference_per_s is not None]
        epochs = [float(r.metrics["epochs_run"]) for r in runs if r.metrics.get("epochs_run") is not None]
        row.update(
            trainable_params=m0.get("trainable_params"),
            total_params=m0.get("total_params"),
            train_seconds_mean=_mean(seconds),
            peak_rss_mb_max=max(rss) if rss else None,
            inference_per_s=float(np.median(speed)) if speed else None,
            epochs_mean=_mean(epochs),
            overfit_runs=sum(r.overfit_epoch is not None for r in runs),
        )
        rows.append(row)
    return rows


def summary_columns(task: str) -> list[str]:
    _, extras = TASK_METRICS[task]
    cols = list(SUMMARY_COLUMNS)
    at = cols.index("std") + 1
    cols[at:at] = [f"{n}_{s}" for n in extras for s in ("mean", "std")]
    return cols


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else format(value, ".6g")
    return str(value)


def write_csv(path: str | Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    """``rows`` as csv with exactly ``columns`` (missing values empty), written atomically."""
    target = Path(path)
    with atomic_open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    return target


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return format(value, spec)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The summary as an aligned text table (what ``chemtl compare`` prints)."""
    from chemtl.evaluate.frontier import metric_label

    if not rows:
        return "(no finished runs)"
    label = metric_label(rows[0]["metric"])
    extras = [
        k[: -len("_mean")]
        for k in rows[0]
        if k.endswith("_mean") and k not in ("train_seconds_mean", "epochs_mean")
    ]
    header = ["strategy", "n_train", "runs", label, *(e.upper() if len(e) <= 4 else e for e in extras)]
    header += ["trainable", "train s", "peak MB", "infer/s", "overfit"]
    table = [header]
    for r in rows:
        score = _fmt(r["mean"])
        if r.get("std") is not None:
            score += f" ± {_fmt(r['std'], '.2g')}"
        table.append(
            [
                r["strategy"],
                _fmt(r["train_size"]),
                str(r["n_runs"]),
                score,
                *(_fmt(r.get(f"{e}_mean")) for e in extras),
                _fmt(r.get("trainable_params")),
                _fmt(r.get("train_seconds_mean"), ".1f"),
                _fmt(r.get("peak_rss_mb_max"), ".0f"),
                _fmt(r.get("inference_per_s"), ",.0f"),
                f"{r.get('overfit_runs', 0)}/{r['n_runs']}",
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# the comparison


def _config_diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _config_diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if old == new else [path]


def _comparable(config_dict: dict[str, Any]) -> dict[str, Any]:
    d = json.loads(json.dumps(config_dict))
    d.get("train", {}).pop("progress_bar", None)
    return d


def _claim_out_dir(out: Path, config: CompareConfig, overwrite: bool) -> None:
    path = out / CONFIG_FILE
    if out.exists() and not out.is_dir():
        raise CompareError(f"output {str(out)!r} exists and is not a directory")
    if path.is_file() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        changed = (
            ["(unreadable)"] if old is None else _config_diff(_comparable(old), _comparable(config.to_dict()))
        )
        if changed:
            raise CompareError(
                f"{str(out)!r} holds a comparison with other settings ({', '.join(changed)} differ); "
                "use another --out or pass --overwrite (runs with unchanged settings are reused)"
            )
    out.mkdir(parents=True, exist_ok=True)
    config.save(path)


def _run_tag(size: int, fold: int | None, seed: int, several_folds: bool) -> tuple[str, str]:
    """(split file tag, run sub-directory) of a replicate."""
    rep = f"fold{fold}_seed{seed}" if several_folds else f"seed{seed}"
    return f"n{size}_{rep}", f"n{size}/{rep}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class _Context:
    """What every run of one comparison shares."""

    config: CompareConfig
    out: Path
    model_dir: Path
    fingerprint: str
    dataset: Any
    strategies: dict[str, Any]
    can_reset_rss: bool
    command: list[str] | None


@dataclass
class _Replicate:
    """One (size, fold, seed): the table restricted to its rows and the split file over them."""

    dataset: Any
    split_path: Path
    rows_sha256: str


def _resolve_sizes(config: CompareConfig, splits: dict[int | None, Any]) -> list[int]:
    """Each requested size as a row count ("all" = the smallest training side), capped, deduplicated."""
    pool_n = min(len(s.train) for s in splits.values())
    sizes: list[int] = []
    for size in config.train_sizes:
        n = pool_n if size == "all" else int(size)
        if config.size_cap is not None:
            n = min(n, config.size_cap)
        if n > pool_n:
            first = next(iter(splits.values()))
            raise CompareError(
                f"train size {size} is larger than the {pool_n} training rows of split {first.describe()}; "
                "use a smaller size or 'all'"
            )
        if n not in sizes:
            sizes.append(n)
    return sorted(sizes)


def _prepare_replicate(ctx: _Context, split, n: int, fold: int | None, seed: int, tag: str) -> _Replicate:
    """Draw the replicate's training rows and write ``splits/<tag>.json`` (the split of the
    restricted table, as ``finetune`` reads it) and ``splits/<tag>.rows.json`` (full-table rows)."""
    from chemtl.data.splits import Split, save_split
    from chemtl.training.manifest import indices_sha256

    ds = ctx.dataset
    train_rows = subset_rows(split.train, n, seed, fold)
    rows = np.concatenate([train_rows, split.val, split.test])
    sub_ds = ds.subset(rows)
    sub_split = Split(
        method=split.method,
        train=np.arange(n),
        val=np.arange(n, n + len(split.val)),
        test=np.arange(n + len(split.val), len(rows)),
        n=len(rows),
        seed=split.seed,
        params={**split.params, "compare_train_size": n, "compare_seed": seed},
        fold=split.fold,
    )
    split_path = save_split(sub_split, ctx.out / "splits" / f"{tag}.json", inputs=sub_ds.inputs)
    write_json(
        ctx.out / "splits" / f"{tag}.rows.json",
        {
            "dataset": ds.name,
            "dataset_sha256": ds.info.get("sha256"),
            "split": split.describe(),
            "train": train_rows.tolist(),
            "val": split.val.tolist(),
            "test": split.test.tolist(),
        },
    )
    return _Replicate(sub_ds, split_path, indices_sha256(train_rows, split.val, split.test))


def _run_hash(ctx: _Context, rep: _Replicate, fold: int | None, train_cfg: TrainConfig, strategy) -> str:
    """sha256 of everything that decides a run's numbers (not where its files are)."""
    return _hash(
        {
            "format": RUN_FORMAT,
            "model": ctx.fingerprint,
            "dataset": ctx.dataset.name,
            "dataset_sha256": ctx.dataset.info.get("sha256"),
            "rows": rep.rows_sha256,
            "data": {**ctx.config.data.to_dict(), "fold": fold},
            "train": {k: v for k, v in train_cfg.to_dict().items() if k != "progress_bar"},
            "strategy": strategy.to_dict(),
        }
    )


def _execute(
    ctx: _Context, rep: _Replicate, name: str, n: int, fold: int | None, seed: int, sub: str
) -> RunRecord:
    """One run: reuse it if finished with the same hash, else train (resuming an interrupted run
    with the same hash, replacing one with another); a failure is recorded, not raised."""
    from chemtl.pipelines.finetune import finetune

    run_rel = f"runs/{name}/{sub}"
    run_dir = ctx.out / run_rel
    train_cfg = dataclasses.replace(ctx.config.train, seed=seed)
    strategy = ctx.strategies[name]
    run_hash = _run_hash(ctx, rep, fold, train_cfg, strategy)
    stamp = _read_json(run_dir / RUN_FILE) or {}
    record = RunRecord(name, n, fold, seed, run_rel, "trained")
    same = stamp.get("hash") == run_hash
    if same and stamp.get("status") == "done" and (run_dir / "metrics.json").is_file():
        record.status = "reused"
        record.metrics = _read_json(run_dir / "metrics.json")
        record.peak_rss_mb = stamp.get("peak_rss_mb")
        return record
    stale = run_dir.exists() and not same
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / RUN_FILE, {"format": RUN_FORMAT, "hash": run_hash, "status": "running"})
    if ctx.can_reset_rss:
        reset_peak_rss()
    try:
        result = finetune(
            ctx.model_dir,
            dataclasses.replace(ctx.config.data, split_file=str(rep.split_path), fold=None),
            train_cfg,
            strategy,
            run_dir,
            dataset=rep.dataset,
            resume=same,
            overwrite=stale,
            command=ctx.command,
        )
    except Exception as exc:  # one failed run must not lose the others
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        write_json(
            run_dir / RUN_FILE,
            {
                "format": RUN_FORMAT,
                "hash": run_hash,
                "status": "failed",
                "error": record.error,
                "traceback": traceback.format_exc(),
            },
        )
        return record
    record.metrics = result.metrics
    peak = current_peak_rss_mb() if ctx.can_reset_rss else None
    record.peak_rss_mb = peak if peak is not None else (result.metrics or {}).get("peak_rss_mb")
    write_json(
        run_dir / RUN_FILE,
        {
            "format": RUN_FORMAT,
            "hash": run_hash,
            "status": "done",
            "strategy": name,
            "train_size": n,
            "fold": fold,
            "seed": seed,
            "peak_rss_mb": record.peak_rss_mb,
            "peak_rss_reset": ctx.can_reset_rss,
        },
    )
    if not ctx.config.keep_checkpoints:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return record


def _time_strategies(
    ctx: _Context, records: list[RunRecord], inputs: list[str], say: Callable[[str], None]
) -> None:
    """Inference items/s once per strategy, on its first finished run at the largest size (records
    are in size order, so the last size's first fold and seed); kept in that run's stamp."""
    timing = {"rows": len(inputs), "repeats": ctx.config.throughput_repeats, "batch_size": 256}
    top = max((r.train_size for r in records if r.ok), default=None)
    for name in ctx.config.strategies:
        chosen = next((r for r in records if r.ok and r.strategy == name and r.train_size == top), None)
        if chosen is None:
            continue
        stamp_path = ctx.out / chosen.run_dir / RUN_FILE
        stamp = _read_json(stamp_path) or {}
        speed = stamp.get("inference_per_s") if stamp.get("inference_timing") == timing else None
        if speed is None:
            try:
                speed = measure_throughput(ctx.out / chosen.run_dir, inputs, ctx.config.throughput_repeats)
            except Exception as exc:  # a timing failure must not lose the comparison
                say(f"inference timing of {name} failed: {type(exc).__name__}: {exc}")
                speed = None
            if speed is not None:
                write_json(stamp_path, {**stamp, "inference_per_s": speed, "inference_timing": timing})
        for r in records:
            if r.strategy == name:
                r.inference_per_s = speed


def compare(
    config: CompareConfig,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    command: list[str] | None = None,
) -> CompareResult:
    """Run every (strategy, train size, fold, seed) of ``config`` and summarise them into ``out_dir``.

    ``log`` receives one line per run (the CLI prints them on stderr). ``report=False`` skips the
    figures and report.html (the csv and json files are still written). A run that fails is
    recorded (``status="failed"``, its traceback in its ``compare_run.json``) and the others go on;
    run the same compare again to retry it. Everything is checked (model, data, split, sizes)
    before ``out_dir`` is touched.
    """
    from chemtl.evaluate.frontier import metric_label, overfit_epoch, recommend
    from chemtl.pipelines.finetune import load_data, resolve_split
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pretrained import resolve_model_dir
    from chemtl.training.manifest import git_commit, machine, now_iso, versions

    say = log or (lambda line: None)
    started_iso = now_iso()
    t0 = time.perf_counter()
    out = Path(out_dir)

    # 1. everything that can be refused, before any file is written
    model_dir = resolve_model_dir(config.model)
    source = load_model_dir(model_dir)  # refuses pickles and mismatched tokenizers
    num_layers = int(source.config.num_hidden_layers)
    strategies = {name: config.strategy_config(name, num_layers) for name in config.strategies}
    ds = load_data(config.data, source.kind)
    if ds.kind != source.kind:
        raise CompareError(
            f"dataset {ds.name!r} holds {ds.kind} inputs but the model {config.model!r} reads {source.kind}"
        )
    task = config.data.task or ds.task
    if task not in TASK_METRICS:
        raise CompareError(f"dataset {ds.name!r} has no target to compare on; name one with --target")
    main_metric = TASK_METRICS[task][0]
    folds: list[int | None] = list(config.folds) if config.folds is not None else [config.data.fold]
    splits = {f: resolve_split(ds, dataclasses.replace(config.data, fold=f)) for f in folds}
    for split in splits.values():
        if len(split.train) < 2 or len(split.test) < 1:
            raise CompareError(
                f"split {split.describe()} leaves too few rows (needs at least 2 train and 1 test)"
            )
    sizes = _resolve_sizes(config, splits)
    _claim_out_dir(out, config, overwrite)

    # 2. the runs: sizes, then folds, then seeds, then strategies (a size finishes for every strategy first)
    ctx = _Context(
        config,
        out,
        Path(model_dir),
        model_fingerprint(Path(model_dir)),
        ds,
        strategies,
        reset_peak_rss(),
        command,
    )
    plan = [(n, f, s, name) for n in sizes for f in folds for s in config.seeds for name in config.strategies]
    records: list[RunRecord] = []
    replicate: tuple[tuple, _Replicate] | None = None
    for k, (n, fold, seed, name) in enumerate(plan, 1):
        tag, sub = _run_tag(n, fold, seed, config.folds is not None)
        if replicate is None or replicate[0] != (n, fold, seed):
            replicate = ((n, fold, seed), _prepare_replicate(ctx, splits[fold], n, fold, seed, tag))
        record = _execute(ctx, replicate[1], name, n, fold, seed, sub)
        where = f"[{k}/{len(plan)}] {name} n={n}{'' if fold is None else f' fold {fold}'} seed {seed}"
        if record.ok:
            record.curves = read_loss_curves(out / record.run_dir)
            try:
                record.overfit_epoch = overfit_epoch(
                    record.curves["train_loss"], record.curves["val_loss"], config.overfit_patience
                )
            except ValueError:
                record.overfit_epoch = None
            score = record.score(main_metric)
            m = record.metrics or {}
            say(
                f"{where}: {metric_label('test_' + main_metric)} {'-' if score is None else f'{score:.4g}'}, "
                f"{m.get('epochs_run')} epochs, {float(m.get('train_seconds') or 0):.1f} s ({record.status})"
            )
        else:
            say(f"{where}: failed: {record.error}")
        records.append(record)
    replicate = None

    # 3. inference throughput, summary, recommendation, files
    test_inputs = [ds.inputs[i] for i in splits[folds[0]].test[: config.throughput_rows]]
    _time_strategies(ctx, records, test_inputs, say)
    rows = summarise(records, task, config.strategies)
    recommendation = recommend(rows, config.tolerance)
    provenance = {
        "started": started_iso,
        "finished": now_iso(),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "command": list(sys.argv) if command is None else list(command),
        "model": config.model,
        "model_dir": str(Path(model_dir).resolve()),
        "model_sha256": ctx.fingerprint,
        "model_layers": num_layers,
        "dataset": ds.name,
        "dataset_sha256": ds.info.get("sha256"),
        "dataset_rows": len(ds),
        "target": config.data.target_col or ds.info.get("target_col"),
        "task": task,
        "splits": {("-" if f is None else str(f)): s.describe() for f, s in splits.items()},
        "train_sizes": sizes,
        "seeds": list(config.seeds),
        "folds": [f for f in folds if f is not None],
        "strategies": {n: s.to_dict() for n, s in strategies.items()},
        "train": config.train.to_dict(),
        "peak_rss": "per run (peak reset before each run)"
        if ctx.can_reset_rss
        else "cumulative peak of the process",
        "inference_timing": f"batch 256, {len(test_inputs)} test inputs, median of {config.throughput_repeats}",
        "train_seconds_total": round(
            sum(float((r.metrics or {}).get("train_seconds") or 0) for r in records if r.ok), 1
        ),
        "runs_trained": sum(r.status == "trained" for r in records),
        "runs_reused": sum(r.status == "reused" for r in records),
        "runs_failed": sum(r.status == "failed" for r in records),
        "machine": machine(),
        "versions": versions(),
        "git_commit": git_commit(),
    }
    paths = _write_outputs(ctx, task, rows, records, recommendation, provenance, report)
    return CompareResult(
        config=config,
        out_dir=out,
        task=task,
        metric=f"test_{main_metric}",
        records=records,
        rows=rows,
        recommendation=recommendation,
        paths=paths,
        wall_seconds=time.perf_counter() - t0,
        provenance=provenance,
    )


def _write_outputs(
    ctx: _Context,
    task: str,
    rows: list[dict[str, Any]],
    records: list[RunRecord],
    recommendation: str,
    provenance: dict[str, Any],
    report: bool,
) -> dict[str, Path]:
    """summary.csv, runs.csv, the report (figures + html) and compare.json, each atomically."""
    out = ctx.out
    main_metric, extras = TASK_METRICS[task]
    paths: dict[str, Path] = {"config": out / CONFIG_FILE}
    columns = summary_columns(task)
    paths["summary_csv"] = write_csv(out / "summary.csv", rows, columns)
    run_columns = list(RUN_COLUMNS)
    at = run_columns.index("status") + 1
    run_columns[at:at] = [f"test_{main_metric}", *(f"test_{e}" for e in extras)]
    paths["runs_csv"] = write_csv(out / "runs.csv", [r.to_row() for r in records], run_columns)
    if report:
        from chemtl.evaluate.report import write_report

        paths.update(
            write_report(
                out,
                rows=rows,
                records=records,
                recommendation=recommendation,
                provenance=provenance,
                summary_columns=columns,
                tolerance=ctx.config.tolerance,
            )
        )
    paths["compare_json"] = out / "compare.json"
    write_json(
        paths["compare_json"],
        {
            "config": ctx.config.to_dict(),
            "task": task,
            "metric": f"test_{main_metric}",
            "summary": rows,
            "recommendation": recommendation,
            "runs": [{**r.to_row(), "curves": r.curves} for r in records],
            "provenance": provenance,
            "files": {k: str(v.relative_to(out)) for k, v in paths.items()},
        },
    )
    return paths


__all__ = [
    "DEFAULT_STRATEGIES",
    "SUMMARY_COLUMNS",
    "CompareConfig",
    "CompareError",
    "CompareResult",
    "RunRecord",
    "compare",
    "format_table",
    "measure_throughput",
    "model_fingerprint",
    "read_loss_curves",
    "subset_rows",
    "summarise",
    "summary_columns",
    "write_csv",
]
