"""Few-shot metrics: per episode, and summarised over tasks and episodes (the FS-Mol protocol).

- ``delta_auprc(y_true, score)``: average precision (sklearn's ``average_precision_score``)
  minus the positive fraction of the query, the score a random ranking gets on average; 0 is
  chance, ``1 - fraction`` perfect. ``None`` when the query holds one class.
- ``episode_metrics(task, y_true, prediction)``: classification (prediction = (Q, C)
  probabilities): ``accuracy`` (of the arg-max), ``delta_auprc`` (binary: of class 1; C > 2:
  the macro mean of one-vs-rest delta-AUPRC over the classes present in the query, each class
  scored by its own probability) and ``roc_auc`` (``chemtl.evaluate.metrics.roc_auc``);
  regression (prediction = (Q,) values): ``mae`` and ``r2`` (None for a constant query).
- ``confidence_interval(values, level)``: ``(mean, low, high)``, the Student-t interval
  ``mean +- t_{(1+level)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation
  (ddof=1), via ``scipy.stats.t.interval``.
- ``summarise(records, metric)``: see its docstring: the headline mean is the mean over tasks of
  each task's mean; the confidence interval is over episodes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError

GROUP_KEYS = ("method", "shots", "support")


def delta_auprc(y_true, score) -> float | None:
    """Average precision of ``score`` for the positives of ``y_true`` (0/1) minus their fraction."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y_true).astype(np.int64).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{y.shape[0]} labels but {s.shape[0]} scores")
    if len(np.unique(y)) < 2:
        return None
    return float(average_precision_score(y, s) - y.mean())


def episode_metrics(task: str, y_true, prediction) -> dict[str, Any]:
    """The metrics of one episode's query (see the module docstring); ``n_query`` rows scored."""
    from chemtl.evaluate.metrics import mae, r2, roc_auc

    if task == "regression":
        y = np.asarray(y_true, dtype=np.float64).reshape(-1)
        p = np.asarray(prediction, dtype=np.float64).reshape(-1)
        return {"n_query": int(len(y)), "mae": mae(y, p), "r2": r2(y, p)}
    if task != "classification":
        raise ChemtlError(f"task {task!r} is not one of classification, regression")
    y = np.asarray(y_true).astype(np.int64).reshape(-1)
    proba = np.asarray(prediction, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != len(y):
        raise ValueError(f"class probabilities must be ({len(y)}, C), got shape {proba.shape}")
    n_classes = proba.shape[1]
    if n_classes == 2:
        delta = delta_auprc(y == 1, proba[:, 1])
    else:
        per_class = [delta_auprc(y == c, proba[:, c]) for c in range(n_classes)]
        present = [d for d in per_class if d is not None]
        delta = float(np.mean(present)) if present else None
    return {
        "n_query": int(len(y)),
        "accuracy": float(np.mean(proba.argmax(axis=1) == y)),
        "delta_auprc": delta,
        "roc_auc": roc_auc(y, proba),
    }


def confidence_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t interval of the mean (ddof=1, n - 1 degrees of freedom).

    One value gives NaN bounds (no spread to estimate); equal values give a zero-width interval.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ChemtlError("a confidence interval needs at least one value")
    if not 0 < level < 1:
        raise ChemtlError(f"confidence level must be in (0, 1), got {level!r}")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    sem = float(stats.sem(x))  # s / sqrt(n), ddof=1
    if sem == 0.0:
        return mean, mean, mean
    low, high = stats.t.interval(level, df=x.size - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def summarise(records: list[dict], metric: str, level: float = 0.95) -> list[dict]:
    """One row per (method, shots, support), in order of first appearance.

    ``records``: one dict per episode with ``method``, ``shots``, ``task``, ``episode``,
    ``support`` and the metric. Episodes whose metric is None (delta-AUPRC of a one-class query)
    are left out and counted in ``n_undefined``. Each row holds:

    - ``mean``: the mean over tasks of each task's mean over its episodes (FS-Mol's headline
      number: every task weighs the same, however many episodes it had);
    - ``episode_mean``, ``ci_low``, ``ci_high``: the mean over all episodes and its Student-t
      ``level`` interval (``confidence_interval``), i.e. the interval is over episodes, not tasks;
    - ``n_episodes``, ``n_tasks``, ``n_undefined``, ``per_task`` (task -> its mean), ``metric``.
    """
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(tuple(record.get(k) for k in GROUP_KEYS), []).append(record)
    rows = []
    for key, members in groups.items():
        scored = [r for r in members if r.get(metric) is not None]
        per_task: dict[str, list[float]] = {}
        for r in scored:
            per_task.setdefault(str(r["task"]), []).append(float(r[metric]))
        row: dict[str, Any] = dict(zip(GROUP_KEYS, key))
        row["metric"] = metric
        if scored:
            task_means = {t: float(np.mean(v)) for t, v in per_task.items()}
            mean, low, high = confidence_interval([float(r[metric]) for r in scored], level)
            row.update(
                mean=float(np.mean(list(task_means.values()))),
                episode_mean=mean,
                ci_low=None if math.isnan(low) else low,
                ci_high=None if math.isnan(high) else high,
            )
        else:
            task_means = {}
            row.update(mean=None, episode_mean=None, ci_low=None, ci_high=None)
        row.update(
            n_episodes=len(scored),
            n_tasks=len(per_task),
            n_undefined=len(members) - len(scored),
            per_task=task_means,
        )
        rows.append(row)
    return rows


__all__ = ["confidence_interval", "delta_auprc", "episode_metrics", "summarise"]
