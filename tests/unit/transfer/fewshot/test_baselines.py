"""Linear probe, kNN and RandomForest: shapes, determinism, the metric each feature type gets."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.transfer.fewshot.baselines import classic_features
from chemtl.transfer.fewshot.methods import METHOD_TASKS, METHODS, make_method

SMILES = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1C", "c1ccccc1CC"]
Y_MOL = np.array([0, 0, 0, 1, 1, 1])


def blobs(n=12, d=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, d)) * 0.5 + 6.0 * np.eye(d)[y]
    return X, y


def test_the_registry():
    assert list(METHODS) == ["protonet", "linear_probe", "gp", "knn", "rf"]
    assert {m: make_method(m, METHOD_TASKS[m][0]).features for m in METHODS} == {
        "protonet": "embedding",
        "linear_probe": "embedding",
        "gp": "embedding",
        "knn": "classic",
        "rf": "classic",
    }
    with pytest.raises(
        ChemtlError, match="unknown few-shot method 'maml'; choose from protonet, linear_probe"
    ):
        make_method("maml", "classification")
    with pytest.raises(ChemtlError, match="few-shot method 'rf': bad option"):
        make_method("rf", "classification", depth=3)


@pytest.mark.parametrize("name", ["linear_probe", "knn", "rf"])
def test_classifiers_give_probabilities_over_every_class(name):
    X, y = blobs()
    Xq, yq = blobs(seed=1)
    a = make_method(name, "classification", seed=0).fit(X, y, "classification", 4)
    proba = a.predict(Xq)
    assert proba.shape == (12, 4)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:, 3] == 0.0)  # class 3 is not in the support
    assert np.array_equal(proba.argmax(axis=1), yq)
    b = make_method(name, "classification", seed=0).fit(X, y, "classification", 4)
    assert np.array_equal(proba, b.predict(Xq))
    assert a.predict_std(Xq) is None


@pytest.mark.parametrize("name", ["linear_probe", "knn", "rf"])
def test_regressors_give_one_value_per_row(name):
    X, _ = blobs()
    y = X[:, 0] * 2.0 + 1.0
    a = make_method(name, "regression", seed=0).fit(X, y, "regression", None)
    pred = a.predict(X[:5] + 0.01)
    assert pred.shape == (5,) and pred.dtype == np.float64
    assert np.array_equal(
        pred, make_method(name, "regression", seed=0).fit(X, y, "regression", None).predict(X[:5] + 0.01)
    )


def test_rf_depends_on_its_seed():
    X, _ = blobs()
    y = X[:, 0]
    p0 = make_method("rf", "regression", seed=0).fit(X, y, "regression", None).predict(X + 0.3)
    p1 = make_method("rf", "regression", seed=1).fit(X, y, "regression", None).predict(X + 0.3)
    assert not np.array_equal(p0, p1)


def test_rf_regression_std_is_the_spread_of_its_trees():
    X, _ = blobs()
    y = X[:, 0]
    rf = make_method("rf", "regression", seed=0, n_estimators=7).fit(X, y, "regression", None)
    trees = np.stack([t.predict(X + 0.3) for t in rf.model.estimators_])
    assert trees.shape == (7, 12)
    assert np.array_equal(rf.predict_std(X + 0.3), trees.std(axis=0))
    assert np.allclose(rf.predict(X + 0.3), trees.mean(axis=0))


def test_knn_uses_jaccard_on_fingerprint_bits():
    X = classic_features(SMILES, "smiles")
    assert X.shape == (6, 2048) and X.dtype == np.uint8
    knn = make_method("knn", "classification", n_neighbors=1).fit(X, Y_MOL, "classification", 2)
    assert knn.chosen == "jaccard"
    proba = knn.predict(classic_features(["CCCCCO", "c1ccccc1CCC"], "smiles"))
    assert np.array_equal(proba, [[1.0, 0.0], [0.0, 1.0]])
    # by hand: Jaccard distances from query 0 to the support under the same bits
    q = classic_features(["CCCCCO"], "smiles")[0].astype(bool)
    s = X.astype(bool)
    jac = 1 - (s & q).sum(axis=1) / (s | q).sum(axis=1)
    assert int(np.argmin(jac)) == 2  # nearest is CCCCO, class 0


def test_knn_standardises_real_features():
    X = np.array([[0.0, 0.0], [1.0, 1000.0], [10.0, 0.0], [11.0, 1000.0]])
    y = np.array([0, 0, 1, 1])
    knn = make_method("knn", "classification", n_neighbors=1).fit(X, y, "classification", 2)
    assert knn.chosen == "euclidean"
    # raw distances would pick by the second column; standardised ones by both equally
    assert knn.predict(np.array([[9.0, 400.0]])).argmax() == 1


def test_classic_features_by_kind():
    mag = classic_features(["Fe2O3", "NaCl"], "composition")
    assert mag.shape == (2, 132) and mag.dtype == np.float64
    from chemtl.chem.selfies import smiles_to_selfies

    sf = classic_features([smiles_to_selfies(s) for s in SMILES[:2]], "selfies")
    assert np.array_equal(sf, classic_features(SMILES[:2], "smiles"))
    with pytest.raises(ChemtlError, match="kind 'protein' is not one of composition, smiles, selfies"):
        classic_features(["x"], "protein")


def test_one_class_support_is_refused():
    with pytest.raises(ChemtlError, match="method 'linear_probe': the support set holds one class"):
        make_method("linear_probe", "classification").fit(np.zeros((3, 2)), np.zeros(3), "classification", 2)
