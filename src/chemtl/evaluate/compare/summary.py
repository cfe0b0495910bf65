"""Results and their summary: ``RunRecord``, ``CompareResult``, the per-(strategy, size) rows with
mean and standard deviation (``STD_DDOF``), and their csv and text-table output."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import atomic_open
from chemtl.evaluate.compare.config import SUMMARY_COLUMNS, TASK_METRICS, CompareConfig

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
# summary


# The one standard-deviation convention of chemtl's summaries and every benchmark: the sample
# standard deviation (ddof 1) over replicates (seeds, folds); undefined (None) for one value.
STD_DDOF = 1


def mean_of(values: list[float]) -> float | None:
    """The mean, or None for no values."""
    return float(np.mean(values)) if len(values) else None


def std_of(values: list[float]) -> float | None:
    """The sample standard deviation (``STD_DDOF`` = 1) over replicates; None for fewer than two."""
    return float(np.std(values, ddof=STD_DDOF)) if len(values) > STD_DDOF else None


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """``(mean_of(values), std_of(values))``."""
    return mean_of(values), std_of(values)


_mean, _std = mean_of, std_of


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
