"""Pareto front, overfitting epoch and the recommendation paragraph: exact outputs on fixed numbers."""

from __future__ import annotations

import math

import pytest

from chemtl.evaluate.frontier import (
    higher_is_better,
    metric_label,
    overfit_epoch,
    pareto_front,
    percent_change,
    recommend,
    within_tolerance,
)

# ------------------------------------------------------------------------------------------------
# pareto_front


def test_pareto_front_minimises_both_and_keeps_ties():
    points = [(10, 0.5), (5, 0.6), (20, 0.4), (15, 0.55), (5, 0.6), (1, math.nan), (30, 0.4)]
    # (15, 0.55) is beaten by (10, 0.5); (30, 0.4) by (20, 0.4); NaN never counts; the two
    # identical (5, 0.6) points do not dominate each other.
    assert pareto_front(points) == [1, 4, 0, 2]


def test_pareto_front_edge_cases():
    assert pareto_front([]) == []
    assert pareto_front([(3.0, 1.0)]) == [0]
    assert pareto_front([(1, 1), (1, 2), (2, 1)]) == [0]
    assert pareto_front([(1, 3), (2, 2), (3, 1)]) == [0, 1, 2]
    assert pareto_front([(math.inf, 0.1), (1, 0.2)]) == [1]


# ------------------------------------------------------------------------------------------------
# overfit_epoch


def test_overfit_epoch_turning_point():
    train = [1.0, 0.8, 0.6, 0.5, 0.4]
    val = [1.0, 0.7, 0.75, 0.8, 0.9]
    assert overfit_epoch(train, val, patience=2) == 2
    assert overfit_epoch(train, val, patience=3) == 2
    assert overfit_epoch(train, val, patience=4) is None  # not enough epochs after the minimum


def test_overfit_epoch_ignores_a_bump_before_a_new_minimum():
    train = [1.0, 0.8, 0.6, 0.5, 0.4]
    # the rise at epoch 3 is followed by a new minimum: a transient bump, not overfitting
    assert overfit_epoch(train, [1.0, 0.7, 0.75, 0.65, 0.6], patience=2) is None
    assert overfit_epoch(train, [1.0, 0.7, 0.75, 0.65, 0.6], patience=1) is None
    # staying above the minimum counts even when not monotone
    assert overfit_epoch(train, [1.0, 0.7, 0.9, 0.8, 0.85], patience=3) == 2
    # the turning point is the lowest validation loss, wherever it is
    train6 = [1.0, 1.1, 0.9, 0.8, 0.7, 0.6]
    assert overfit_epoch(train6, [0.6, 0.5, 0.8, 0.45, 0.5, 0.55], patience=2) == 4
    # equal lowest values: the turning point is where the loss leaves the minimum
    assert overfit_epoch(train, [1.0, 0.7, 0.7, 0.8, 0.9], patience=2) == 3


def test_overfit_epoch_needs_falling_training_loss():
    val = [1.0, 0.7, 0.75, 0.8, 0.9]
    assert overfit_epoch([1.0, 0.8, 0.9, 0.7, 0.6], val, patience=2) is None  # train rose at epoch 3
    assert overfit_epoch([1.0, 0.8, 0.8, 0.7, 0.6], val, patience=2) is None  # flat is not falling
    # both losses rising: a plateau or divergence, not overfitting
    assert overfit_epoch([1.0, 0.9, 1.0, 1.1, 1.2], val, patience=2) is None
    # a noisy but still lower training loss counts
    assert overfit_epoch([1.0, 0.8, 0.6, 0.65, 0.5], val, patience=3) == 2


def test_overfit_epoch_missing_values_and_errors():
    assert overfit_epoch([1.0, 0.8, None, 0.5], [1.0, 0.7, 0.75, 0.8], patience=2) is None
    assert overfit_epoch([1.0, 0.8, 0.6, 0.5], [None, 0.7, 0.75, 0.8], patience=2) == 2
    assert overfit_epoch([1.0, 0.8, 0.6, 0.5], [math.nan, 0.7, math.nan, 0.8], patience=2) is None
    assert overfit_epoch([], [], patience=2) is None
    assert overfit_epoch([1.0], [None], patience=1) is None
    with pytest.raises(ValueError, match="3 training losses but 2 validation losses"):
        overfit_epoch([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="patience must be >= 1"):
        overfit_epoch([1], [1], patience=0)


# ------------------------------------------------------------------------------------------------
# recommend


def row(strategy, size, mean, params, seconds, std=None, n=1, metric="test_mae"):
    return {
        "strategy": strategy,
        "train_size": size,
        "metric": metric,
        "mean": mean,
        "std": std,
        "n_runs": n,
        "trainable_params": params,
        "train_seconds_mean": seconds,
    }


REGRESSION_ROWS = [
    row("full", 50, 0.700, 1_000_000, 20.0),
    row("lora", 50, 0.690, 20_000, 15.0),
    row("feature", 50, 0.720, 300, 2.0),
    row("scratch", 50, 0.800, 1_000_000, 20.0),
    row("full", 500, 0.400, 1_000_000, 100.0, std=0.01, n=3),
    row("lora", 500, 0.406, 20_000, 60.0, std=0.02, n=3),
    row("feature", 500, 0.450, 300, 10.0, std=0.0, n=3),
    row("scratch", 500, 0.500, 1_000_000, 100.0, std=0.03, n=3),
]


def test_recommend_regression_exact_text():
    assert recommend(REGRESSION_ROWS) == (
        "With 500 training rows, full gives the lowest test MAE: 0.4 ± 0.01 (3 runs). "
        "lora comes within 2% of it (0.406, +1.5%) with 20,000 trainable parameters instead of "
        "1,000,000 and 60.0 s of training instead of 100.0 s: the least compute within 2% of the best. "
        "Pretrained vs scratch (test MAE, best pretrained strategy at each training-set size): "
        "50 rows: lora 0.69 vs scratch 0.8, -13.8% (better); "
        "500 rows: full 0.4 vs scratch 0.5, -20.0% (better)."
    )


def test_recommend_tolerance_changes_the_cheapest():
    text = recommend(REGRESSION_ROWS, tolerance=0.15)  # feature (0.45) is within 15% of 0.4
    assert "feature comes within 15% of it (0.45, +12.5%) with 300 trainable parameters" in text
    text = recommend(REGRESSION_ROWS, tolerance=0.01)  # nothing else within 1%
    assert "No other strategy comes within 1% of it." in text


def test_recommend_best_is_also_cheapest_and_no_scratch():
    rows = [row("feature", 100, 0.30, 300, 5.0), row("full", 100, 0.305, 10_000, 9.0)]
    assert recommend(rows) == (
        "With 100 training rows, feature gives the lowest test MAE: 0.3 (1 run). "
        "It is also the cheapest of the 2 strategies within 2% of the best (fewest trainable "
        "parameters, then least training time). "
        "Scratch was not run, so the gain from pretraining is not measured."
    )


def test_recommend_classification_higher_is_better():
    rows = [
        row("full", 200, 0.85, 10_000, 30.0, metric="test_roc_auc"),
        row("lora", 200, 0.84, 1_000, 20.0, metric="test_roc_auc"),
        row("scratch", 200, 0.81, 10_000, 30.0, metric="test_roc_auc"),
    ]
    assert recommend(rows) == (
        "With 200 training rows, full gives the highest test ROC-AUC: 0.85 (1 run). "
        "lora comes within 2% of it (0.84, -1.2%) with 1,000 trainable parameters instead of 10,000 "
        "and 20.0 s of training instead of 30.0 s: the least compute within 2% of the best. "
        "Pretrained vs scratch (test ROC-AUC, best pretrained strategy at each training-set size): "
        "200 rows: full 0.85 vs scratch 0.81, +4.9% (better)."
    )


def test_recommend_scratch_wins_and_empty():
    rows = [row("full", 80, 0.52, 5_000, 3.0), row("scratch", 80, 0.50, 5_000, 3.0)]
    text = recommend(rows)
    assert text.startswith("With 80 training rows, scratch gives the lowest test MAE: 0.5 (1 run).")
    assert text.endswith("80 rows: full 0.52 vs scratch 0.5, +4.0% (not better).")
    assert recommend([]) == "No run finished with a test score, so there is nothing to recommend yet."
    assert recommend([row("full", 80, None, 5_000, 3.0)]).startswith("No run finished")


def test_metric_helpers():
    assert higher_is_better("test_roc_auc") and not higher_is_better("test_mae")
    assert metric_label("test_mae") == "test MAE" and metric_label("roc_auc") == "ROC-AUC"
    assert within_tolerance(0.408, 0.4, 0.02, higher=False)
    assert not within_tolerance(0.4081, 0.4, 0.02, higher=False)
    assert within_tolerance(0.833, 0.85, 0.02, higher=True)
    assert percent_change(0.69, 0.8) == pytest.approx(-13.75)
    assert percent_change(1.0, 0.0) is None
