"""Domain-gap diagnostics: MMD with the median heuristic and a permutation p-value, the proxy
A-distance, the nearest-neighbour shift, the PCA figure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemtl.evaluate.domain_gap import (
    MMD_MAX_POINTS,
    DomainGapError,
    domain_gap,
    median_bandwidth,
    mmd_rbf,
    nearest_neighbour_shift,
    plot_domains,
    proxy_a_distance,
)


def gaussians(shift: float, n: int = 80, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) + shift


def test_median_bandwidth_on_hand_examples():
    # distances 1, 3, 2 -> median 2
    assert median_bandwidth(np.array([[0.0], [1.0], [3.0]])) == 2.0
    # a 3-4-5 triangle: distances 5, 4, 3 -> 4
    assert median_bandwidth(np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])) == 4.0
    # 0, 0, 0, 0, 1: six zero distances and four ones -> the median of the non-zero ones
    assert median_bandwidth(np.array([[0.0], [0.0], [0.0], [0.0], [1.0]])) == 1.0
    assert median_bandwidth(np.zeros((3, 2))) == 0.0


def test_mmd2_is_the_unbiased_u_statistic_on_a_hand_example():
    x, y = np.array([[0.0], [1.0]]), np.array([[3.0], [4.0]])
    # pooled distances 1, 3, 4, 2, 3, 1 -> bandwidth 2.5, so k(d) = exp(-d^2 / 12.5)
    k = lambda d: math.exp(-(d**2) / 12.5)  # noqa: E731
    xx = (k(1) + k(1)) / (2 * 1)  # sum over i != j / (m (m - 1))
    yy = (k(1) + k(1)) / (2 * 1)
    xy = (k(3) + k(4) + k(2) + k(3)) / (2 * 2)
    out = mmd_rbf(x, y, n_permutations=0)
    assert out["bandwidth"] == 2.5
    assert out["mmd2"] == pytest.approx(xx + yy - 2 * xy, abs=1e-15)
    assert out["p_value"] is None


def test_mmd_is_near_zero_for_one_distribution():
    x, y = gaussians(0.0)
    out = mmd_rbf(x, y, n_permutations=200, seed=0)
    assert abs(out["mmd2"]) < 0.005
    assert out["mmd2"] == pytest.approx(-0.0016438707734598434, rel=1e-9)
    assert out["p_value"] == pytest.approx(131 / 201)  # (count + 1) / (n + 1), count = 130
    assert out["p_value"] > 0.5
    assert mmd_rbf(x, y, n_permutations=200, seed=0) == out  # seeded: the same permutations


def test_mmd_is_large_with_the_smallest_p_value_for_separated_gaussians():
    x, y = gaussians(3.0)
    out = mmd_rbf(x, y, n_permutations=99, seed=0)
    assert out["mmd2"] > 0.9
    assert out["p_value"] == 1 / 100  # no permutation reaches the observed statistic


def test_mmd_of_identical_points_is_zero():
    assert mmd_rbf(np.ones((3, 2)), np.ones((4, 2))) == {"mmd2": 0.0, "bandwidth": 0.0, "p_value": 1.0}


def test_proxy_a_distance_of_identical_domains_is_near_zero():
    x, y = gaussians(0.0, n=500)
    out = proxy_a_distance(x, y, seed=0)
    assert abs(out["a_distance"]) < 0.2
    assert out["a_distance"] == pytest.approx(2 * (1 - 2 * out["error"]))
    assert 0.45 < out["error"] < 0.55


def test_proxy_a_distance_of_separated_domains_is_two():
    x, y = gaussians(5.0)
    assert proxy_a_distance(x, y) == {"error": 0.0, "a_distance": 2.0}


def test_proxy_a_distance_error_is_balanced_for_unequal_sizes():
    # 40 source and 120 target points of one distribution: a majority vote would have error
    # 0.25 (A = 1) on raw accuracy; the balanced error stays near 0.5
    rng = np.random.default_rng(1)
    out = proxy_a_distance(rng.normal(size=(40, 3)), rng.normal(size=(120, 3)), seed=0)
    assert abs(out["a_distance"]) < 0.5


def test_nearest_neighbour_shift_on_a_hand_example():
    source = np.array([[0.0], [1.0], [2.0], [4.0]])  # nearest other: 1, 1, 1, 2
    target = np.array([[0.5], [5.0], [7.0], [10.0]])  # nearest source: 0.5, 1, 3, 6
    out = nearest_neighbour_shift(source, target)
    assert out["threshold"] == pytest.approx(1.85)  # 95th percentile of 1, 1, 1, 2 (linear)
    assert out["fraction"] == 0.5  # 3 and 6 are farther
    assert nearest_neighbour_shift(source, target, quantile=1.0) == {"threshold": 2.0, "fraction": 0.5}
    assert nearest_neighbour_shift(source, target, quantile=0.5) == {"threshold": 1.0, "fraction": 0.5}
    assert nearest_neighbour_shift(source, source + 0.1)["fraction"] == 0.0


def test_domain_gap_combines_the_three():
    x, y = gaussians(1.0, n=30)
    out = domain_gap(x, y, seed=3, n_permutations=20)
    assert out == {
        "mmd": mmd_rbf(x, y, n_permutations=20, seed=3),
        "a_distance": proxy_a_distance(x, y, seed=3),
        "nn_shift": nearest_neighbour_shift(x, y),
        "n_source": 30,
        "n_target": 30,
    }


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(DomainGapError, match="different widths: 3 and 4"):
        mmd_rbf(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(DomainGapError, match="the target has 1 row"):
        mmd_rbf(np.zeros((5, 3)), np.zeros((1, 3)))
    with pytest.raises(DomainGapError, match=f"at most {MMD_MAX_POINTS}"):
        mmd_rbf(np.zeros((MMD_MAX_POINTS - 1, 1)), np.zeros((2, 1)))
    with pytest.raises(DomainGapError, match="n_permutations must be a non-negative integer, got -1"):
        mmd_rbf(np.zeros((3, 1)), np.ones((3, 1)), n_permutations=-1)
    with pytest.raises(DomainGapError, match="the source has 3 row"):
        proxy_a_distance(np.zeros((3, 2)), np.zeros((9, 2)))
    with pytest.raises(DomainGapError, match="quantile must lie in"):
        nearest_neighbour_shift(np.zeros((3, 1)), np.zeros((3, 1)), quantile=95)
    with pytest.raises(DomainGapError, match="non-finite"):
        nearest_neighbour_shift(np.zeros((3, 1)), np.full((3, 1), np.nan))


def test_plot_domains_writes_a_png_atomically(tmp_path):
    x, y = gaussians(2.0, n=20)
    path = plot_domains(x, y, tmp_path / "fig" / "domains.png", labels=("mp", "expt"))
    assert path == tmp_path / "fig" / "domains.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["domains.png"]  # no temporary file left
