"""The GP regressor interpolates noise-free support points and is unsure far from them."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.transfer.fewshot.gp import GaussianProcess, median_distance
from chemtl.transfer.fewshot.methods import make_method


def support():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 4))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 3.0
    return X, y


def test_the_mean_passes_through_noise_free_support_points():
    X, y = support()
    gp = make_method("gp", "regression", seed=0, noise=1e-10).fit(X, y, "regression", None)
    assert np.allclose(gp.predict(X), y, atol=1e-6, rtol=0)
    std_at = gp.predict_std(X)
    assert std_at.shape == (10,)
    assert np.all(std_at < 1e-3)
    far = gp.predict_std(X + 50.0)
    assert np.all(far > 100 * std_at.max())
    assert np.all(far > 0.1)


def test_fitted_noise_and_determinism():
    X, y = support()
    a = GaussianProcess(seed=3).fit(X, y, "regression").predict(X[:4] + 0.1)
    b = GaussianProcess(seed=3).fit(X, y, "regression").predict(X[:4] + 0.1)
    assert a.shape == (4,) and np.array_equal(a, b)


def test_median_distance():
    assert median_distance(np.array([[0.0], [1.0], [3.0]])) == 2.0
    assert median_distance(np.zeros((3, 2))) == 1.0


def test_gp_refuses_classification_and_a_single_row():
    with pytest.raises(ChemtlError, match="few-shot method 'gp' does not do classification"):
        make_method("gp", "classification")
    with pytest.raises(ChemtlError, match="method 'gp' needs at least 2 support rows, got 1"):
        GaussianProcess().fit(np.zeros((1, 2)), np.zeros(1), "regression")
