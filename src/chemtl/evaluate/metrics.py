"""Prediction metrics as plain functions of arrays: numbers in, one float out.

Regression metrics take targets and predictions in the user's units. Classification metrics take
integer class labels and, for ROC AUC, the predicted probabilities: a (N,) array of positive-class
probabilities for two classes or a (N, K) array for K classes (one-vs-rest, macro average).
A metric that is undefined for the given labels (ROC AUC with one class present) is ``None``, which
stays valid JSON where NaN would not.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as _sk


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} targets but {p.shape[0]} predictions")
    if t.size == 0:
        raise ValueError("no targets to score")
    return t, p


def mae(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def r2(y_true, y_pred) -> float | None:
    """Coefficient of determination; ``None`` when the targets are all equal."""
    t, p = _pair(y_true, y_pred)
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        return None
    return 1.0 - float(np.sum((t - p) ** 2)) / ss_tot


def accuracy(y_true, y_pred) -> float:
    return float(_sk.accuracy_score(np.asarray(y_true), np.asarray(y_pred)))


def f1(y_true, y_pred, labels=None) -> float:
    """F1 of class 1 for two classes, macro-averaged F1 for more."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    classes = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels)
    if len(classes) <= 2:
        return float(_sk.f1_score(t, p, average="binary", pos_label=1, labels=classes, zero_division=0.0))
    return float(_sk.f1_score(t, p, average="macro", labels=classes, zero_division=0.0))


def roc_auc(y_true, y_score) -> float | None:
    """ROC AUC; ``None`` when fewer than two classes are present in ``y_true``."""
    t = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    present = np.unique(t)
    if len(present) < 2:
        return None
    if s.ndim == 1:
        return float(_sk.roc_auc_score(t, s))
    if s.shape[1] == 2:
        return float(_sk.roc_auc_score(t, s[:, 1]))
    # Multi-class: one-vs-rest over the classes present, probabilities renormalised over them.
    sub = s[:, present.astype(int)]
    sub = sub / sub.sum(axis=1, keepdims=True)
    if len(present) == 2:
        return float(_sk.roc_auc_score(t == present[1], sub[:, 1]))
    return float(_sk.roc_auc_score(t, sub, multi_class="ovr", average="macro", labels=present))


def regression_metrics(y_true, y_pred) -> dict[str, float | None]:
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "r2": r2(y_true, y_pred)}


def classification_metrics(y_true, proba) -> dict[str, float | None]:
    """``proba`` is (N, K) class probabilities; the predicted label is the arg-max."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"class probabilities must be (N, K), got shape {p.shape}")
    t = np.asarray(y_true).astype(int)
    pred = p.argmax(axis=1)
    return {
        "roc_auc": roc_auc(t, p),
        "accuracy": accuracy(t, pred),
        "f1": f1(t, pred, labels=np.arange(p.shape[1])),
    }
