"""Exact values of the metric functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemtl.evaluate.metrics import (
    accuracy,
    classification_metrics,
    f1,
    mae,
    r2,
    regression_metrics,
    rmse,
    roc_auc,
)


def test_regression_metrics_exact():
    y, p = [1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 5.0]
    assert mae(y, p) == 0.625
    assert rmse(y, p) == math.sqrt((0.25 + 0 + 1 + 1) / 4)
    assert r2(y, p) == 1 - 2.25 / 5.0
    assert regression_metrics(y, p) == {"mae": 0.625, "rmse": 0.75, "r2": 0.55}


def test_r2_of_constant_targets_is_none():
    assert r2([2.0, 2.0], [1.0, 3.0]) is None


def test_shape_mismatch_and_empty_are_errors():
    with pytest.raises(ValueError, match="3 targets but 2 predictions"):
        mae([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="no targets"):
        rmse([], [])


def test_classification_metrics_exact():
    y = [0, 0, 1, 1]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8]])
    assert roc_auc(y, proba[:, 1]) == 1.0
    assert accuracy(y, [0, 1, 1, 1]) == 0.75
    assert f1(y, [0, 1, 1, 1]) == 0.8
    assert classification_metrics(y, proba) == {"roc_auc": 1.0, "accuracy": 0.75, "f1": 0.8}


def test_roc_auc_with_ties_and_one_class():
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.8]) == 0.875
    assert roc_auc([1, 1, 1], [0.2, 0.3, 0.9]) is None


def test_multiclass_macro_metrics():
    y = [0, 1, 2, 2]
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2]])
    out = classification_metrics(y, proba)
    assert out["accuracy"] == 0.75
    assert out["f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)  # per class F1 2/3, 1, 2/3
    assert out["roc_auc"] == pytest.approx((1 + 1 + 0.875) / 3)  # one-vs-rest AUCs 1, 1, 0.875
