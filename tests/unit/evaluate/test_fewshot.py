"""delta-AUPRC, episode metrics, the t-interval and the task-then-episode summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from chemtl.errors import ChemtlError
from chemtl.evaluate.fewshot import confidence_interval, delta_auprc, episode_metrics, summarise


def test_delta_auprc_by_hand():
    # ranks: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): precision at the positives 1 and 2/3
    ap = (1.0 + 2.0 / 3.0) / 2
    assert ap == pytest.approx(0.8333333333333334)
    got = delta_auprc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    assert got == pytest.approx(ap - 0.5, abs=1e-12)
    assert got == pytest.approx(0.3333333333333333, abs=1e-12)
    assert delta_auprc([1, 1, 0], [0.9, 0.8, 0.1]) == pytest.approx(1.0 - 2.0 / 3.0, abs=1e-12)
    assert delta_auprc([1, 1, 1], [0.1, 0.2, 0.3]) is None
    assert delta_auprc([0, 0], [0.1, 0.2]) is None


def test_binary_episode_metrics():
    proba = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1]])
    m = episode_metrics("classification", [1, 0, 1, 0], proba)
    assert m["n_query"] == 4
    assert m["accuracy"] == 0.75
    assert m["delta_auprc"] == pytest.approx(1 / 3, abs=1e-12)
    assert m["roc_auc"] == pytest.approx(0.75)


def test_multiclass_delta_auprc_is_the_macro_mean_over_present_classes():
    y = np.array([0, 1, 2, 0])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.1, 0.4], [0.2, 0.3, 0.5]])
    m = episode_metrics("classification", y, proba)
    expected = np.mean([delta_auprc(y == c, proba[:, c]) for c in range(3)])
    assert m["delta_auprc"] == pytest.approx(expected, abs=1e-12)
    assert m["accuracy"] == 0.5
    # a class absent from the query is left out of the mean (4 columns, class 3 absent)
    wide = np.column_stack([proba, np.zeros(4)])
    assert episode_metrics("classification", y, wide)["delta_auprc"] == pytest.approx(expected, abs=1e-12)


def test_regression_episode_metrics():
    m = episode_metrics("regression", [1.0, 2.0, 3.0], [1.5, 2.0, 2.5])
    assert m == {"n_query": 3, "mae": pytest.approx(1 / 3), "r2": pytest.approx(0.75)}
    assert episode_metrics("regression", [1.0, 1.0], [1.0, 2.0])["r2"] is None


def test_confidence_interval_is_scipys_t_interval():
    x = [0.2, 0.4, 0.35, 0.1, 0.5, 0.3]
    mean, low, high = confidence_interval(x)
    lo, hi = stats.t.interval(0.95, df=5, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(0.30833333333333335)
    assert (low, high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    # by hand: t_{0.975, 5} = 2.5705818356363146, s = std(ddof=1)
    half = 2.5705818356363146 * np.std(x, ddof=1) / math.sqrt(6)
    assert high - mean == pytest.approx(half, abs=1e-12)
    m90, l90, h90 = confidence_interval(x, 0.9)
    assert l90 > low and h90 < high
    assert confidence_interval([2.0, 2.0]) == (2.0, 2.0, 2.0)
    m1, l1, h1 = confidence_interval([0.5])
    assert m1 == 0.5 and math.isnan(l1) and math.isnan(h1)
    with pytest.raises(ChemtlError, match="a confidence interval needs at least one value"):
        confidence_interval([])


def test_summarise_means_over_tasks_and_intervals_over_episodes():
    records = [
        {
            "method": "protonet",
            "shots": 5,
            "support": "random",
            "task": "a",
            "episode": 0,
            "delta_auprc": 0.1,
        },
        {
            "method": "protonet",
            "shots": 5,
            "support": "random",
            "task": "a",
            "episode": 1,
            "delta_auprc": 0.3,
        },
        {
            "method": "protonet",
            "shots": 5,
            "support": "random",
            "task": "a",
            "episode": 2,
            "delta_auprc": 0.2,
        },
        {
            "method": "protonet",
            "shots": 5,
            "support": "random",
            "task": "b",
            "episode": 0,
            "delta_auprc": 0.6,
        },
        {
            "method": "protonet",
            "shots": 5,
            "support": "random",
            "task": "b",
            "episode": 1,
            "delta_auprc": None,
        },
        {"method": "rf", "shots": 5, "support": "random", "task": "a", "episode": 0, "delta_auprc": 0.05},
    ]
    rows = summarise(records, "delta_auprc")
    assert [(r["method"], r["shots"], r["support"]) for r in rows] == [
        ("protonet", 5, "random"),
        ("rf", 5, "random"),
    ]
    p = rows[0]
    assert p["mean"] == pytest.approx((0.2 + 0.6) / 2)  # task a's mean 0.2, task b's 0.6
    values = [0.1, 0.3, 0.2, 0.6]
    mean, low, high = confidence_interval(values)
    assert p["episode_mean"] == pytest.approx(0.3)
    assert (p["ci_low"], p["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert (p["n_episodes"], p["n_tasks"], p["n_undefined"]) == (4, 2, 1)
    assert p["per_task"] == {"a": pytest.approx(0.2), "b": pytest.approx(0.6)}
    r = rows[1]
    assert r["mean"] == 0.05 and r["ci_low"] is None and r["ci_high"] is None and r["n_episodes"] == 1
