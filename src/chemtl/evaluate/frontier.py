"""The accuracy/compute frontier as plain functions: Pareto points, overfitting, a recommendation.

Numbers in, numbers (or one paragraph of text) out; no torch, no files. ``chemtl.evaluate.compare``
feeds them the summary rows and the per-epoch loss curves of its runs.

- ``pareto_front(points)``: the (cost, error) points no other point beats on both.
- ``overfit_epoch(train_loss, val_loss, patience)``: where validation loss turns up while the
  training loss keeps falling.
- ``recommend(rows, tolerance)``: a deterministic paragraph: the best strategy, the cheapest one
  within ``tolerance`` of it, and what pretraining bought over training from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# Metrics where a larger value is better; every other metric (mae, rmse, ...) is an error.
HIGHER_IS_BETTER = frozenset({"roc_auc", "accuracy", "f1", "r2"})
METRIC_LABELS = {
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R2",
    "roc_auc": "ROC-AUC",
    "accuracy": "accuracy",
    "f1": "F1",
}


def metric_base(metric: str) -> str:
    """``"test_mae"`` -> ``"mae"`` (the name without its ``test_``/``val_`` side)."""
    for prefix in ("test_", "val_", "train_"):
        if metric.startswith(prefix):
            return metric[len(prefix) :]
    return metric


def higher_is_better(metric: str) -> bool:
    return metric_base(metric) in HIGHER_IS_BETTER


def metric_label(metric: str) -> str:
    """``"test_mae"`` -> ``"test MAE"``."""
    base = metric_base(metric)
    side = metric[: len(metric) - len(base)].rstrip("_")
    label = METRIC_LABELS.get(base, base)
    return f"{side} {label}" if side else label


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ----------------------------------------------------------------------------------------------
# Pareto front


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto-optimal points when both coordinates are minimised.

    ``points`` are ``(cost, error)`` pairs (for a score where higher is better pass its negative
    or ``1 - score`` as the error). A point is on the front unless another point is no worse in
    both coordinates and strictly better in one; identical points are therefore all on the front.
    Points with a NaN or infinite coordinate are never on the front. The indices come sorted by
    cost, then error, then index (the front read from cheap to expensive).
    """
    good = [i for i, (c, e) in enumerate(points) if _finite(c) and _finite(e)]
    front = []
    for i in good:
        ci, ei = points[i]
        dominated = any(
            (points[j][0] <= ci and points[j][1] <= ei) and (points[j][0] < ci or points[j][1] < ei)
            for j in good
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], points[i][1], i))


# ----------------------------------------------------------------------------------------------
# overfitting


def overfit_epoch(
    train_loss: Sequence[float | None], val_loss: Sequence[float | None], patience: int = 2
) -> int | None:
    """The epoch (1-based) where the run starts to overfit, or None.

    The turning point ``e`` is the epoch with the lowest validation loss (the last of equal
    lowest values: where the loss leaves its minimum). The run overfits from ``e`` when at least
    ``patience`` epochs follow it and for each of the next ``patience`` epochs ``e + k``
    (k = 1..patience):

    - the validation loss is above the minimum: ``val[e + k] > val[e]``, and
    - the training loss is still below its value at the turning point: ``train[e + k] < train[e]``

    i.e. validation loss turns up for good while training loss keeps falling (the generalisation
    gap widens). A temporary bump that is followed by a new validation minimum is not overfitting,
    nor is a run whose training loss stopped falling too (a plateau). Both sequences are per epoch,
    ``[0]`` is epoch 1; None or NaN values are skipped when finding the minimum and break the
    window they fall in.
    """
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    if len(train_loss) != len(val_loss):
        raise ValueError(f"{len(train_loss)} training losses but {len(val_loss)} validation losses")
    finite = [i for i, v in enumerate(val_loss) if _finite(v)]
    if not finite:
        return None
    lowest = min(val_loss[i] for i in finite)  # type: ignore[type-var]
    e = max(i for i in finite if val_loss[i] == lowest)
    if e + patience >= len(val_loss) or not _finite(train_loss[e]):
        return None
    for j in range(e + 1, e + patience + 1):
        v, t = val_loss[j], train_loss[j]
        if not (_finite(v) and _finite(t) and v > lowest and t < train_loss[e]):  # type: ignore[operator]
            return None
    return e + 1


# ----------------------------------------------------------------------------------------------
# recommendation


def _num(x: float) -> str:
    return f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


def _better(a: float, b: float, higher: bool) -> bool:
    return a > b if higher else a < b


def _rank_key(row: Mapping[str, Any], higher: bool) -> tuple:
    mean = row["mean"]
    return (-mean if higher else mean, row.get("trainable_params") or 0, row["strategy"])


def _cost_key(row: Mapping[str, Any]) -> tuple:
    seconds = row.get("train_seconds_mean")
    return (
        row.get("trainable_params") if row.get("trainable_params") is not None else math.inf,
        seconds if _finite(seconds) else math.inf,
        row["strategy"],
    )


def within_tolerance(value: float, best: float, tolerance: float, higher: bool) -> bool:
    """Whether ``value`` is no more than ``tolerance`` (relative, 0.02 = 2%) worse than ``best``."""
    gap = (best - value) if higher else (value - best)
    return gap <= tolerance * abs(best) + 1e-12


def percent_change(value: float, reference: float) -> float | None:
    """``100 * (value - reference) / |reference|``; None when the reference is 0."""
    if reference == 0:
        return None
    return 100.0 * (value - reference) / abs(reference)


def recommend(rows: Sequence[Mapping[str, Any]], tolerance: float = 0.02) -> str:
    """One deterministic paragraph derived from the summary rows of a comparison.

    Each row needs ``strategy``, ``train_size``, ``metric`` (e.g. ``test_mae``), ``mean``, ``std``
    (None for one run), ``n_runs``, ``trainable_params`` and ``train_seconds_mean``. The paragraph
    says, at the largest training-set size:

    - the best strategy by mean metric (ties: fewer trainable parameters, then the name);
    - the cheapest strategy whose mean is within ``tolerance`` (relative) of the best, cheapest
      meaning fewest trainable parameters, then least training time;

    and, at every size where ``scratch`` ran, the percent change of the metric from scratch to the
    best pretrained strategy at that size (a negative change lowers an error).
    """
    usable = [r for r in rows if _finite(r.get("mean"))]
    if not usable:
        return "No run finished with a test score, so there is nothing to recommend yet."
    metric = usable[0]["metric"]
    higher = higher_is_better(metric)
    label = metric_label(metric)
    tol = _pct(100 * tolerance)
    sizes = sorted({int(r["train_size"]) for r in usable})
    top = sizes[-1]
    at_top = [r for r in usable if int(r["train_size"]) == top]
    best = min(at_top, key=lambda r: _rank_key(r, higher))
    spread = "" if not _finite(best.get("std")) else f" ± {best['std']:.2g}"
    direction = "highest" if higher else "lowest"
    parts = [
        f"With {top:,} training rows, {best['strategy']} gives the {direction} {label}: "
        f"{_num(best['mean'])}{spread} ({_runs(int(best['n_runs']))})."
    ]
    close = [r for r in at_top if within_tolerance(r["mean"], best["mean"], tolerance, higher)]
    cheapest = min(close, key=_cost_key)
    if cheapest is best:
        others = len(close) - 1
        if others:
            parts.append(
                f"It is also the cheapest of the {len(close)} strategies within {tol}% of the best "
                "(fewest trainable parameters, then least training time)."
            )
        else:
            parts.append(f"No other strategy comes within {tol}% of it.")
    else:
        change = percent_change(cheapest["mean"], best["mean"])
        seconds = cheapest.get("train_seconds_mean")
        best_seconds = best.get("train_seconds_mean")
        time_text = (
            f" and {seconds:.1f} s of training instead of {best_seconds:.1f} s"
            if _finite(seconds) and _finite(best_seconds)
            else ""
        )
        parts.append(
            f"{cheapest['strategy']} comes within {tol}% of it ({_num(cheapest['mean'])}, "
            f"{change:+.1f}%) with {int(cheapest['trainable_params']):,} trainable parameters instead "
            f"of {int(best['trainable_params']):,}{time_text}: the least compute within {tol}% "
            "of the best."
        )
    gains = []
    for size in sizes:
        here = [r for r in usable if int(r["train_size"]) == size]
        scratch = [r for r in here if r["strategy"] == "scratch"]
        pretrained = [r for r in here if r["strategy"] != "scratch"]
        if not scratch or not pretrained:
            continue
        s = scratch[0]
        p = min(pretrained, key=lambda r: _rank_key(r, higher))
        change = percent_change(p["mean"], s["mean"])
        if change is None:
            continue
        verdict = "better" if _better(p["mean"], s["mean"], higher) else "not better"
        gains.append(
            f"{size:,} rows: {p['strategy']} {_num(p['mean'])} vs scratch {_num(s['mean'])}, "
            f"{change:+.1f}% ({verdict})"
        )
    if gains:
        parts.append(
            f"Pretrained vs scratch ({label}, best pretrained strategy at each training-set size): "
            + "; ".join(gains)
            + "."
        )
    elif any(r["strategy"] == "scratch" for r in usable):
        parts.append("Only scratch finished, so the gain from pretraining is not measured.")
    else:
        parts.append("Scratch was not run, so the gain from pretraining is not measured.")
    return " ".join(parts)


__all__ = [
    "HIGHER_IS_BETTER",
    "higher_is_better",
    "metric_base",
    "metric_label",
    "overfit_epoch",
    "pareto_front",
    "percent_change",
    "recommend",
    "within_tolerance",
]
