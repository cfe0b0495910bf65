"""Prototypes, distances and logits by hand; ProtoNet on a separable toy set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chemtl.errors import ChemtlError
from chemtl.transfer.fewshot.methods import make_method
from chemtl.transfer.fewshot.protonet import (
    ProtoNet,
    class_prototypes,
    cosine_distance,
    prototype_logits,
    squared_euclidean,
)

EMB = torch.tensor([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0], [0.0, -6.0], [5.0, 5.0]], dtype=torch.float64)
LABELS = torch.tensor([0, 0, 1, 1, 2])


def test_prototypes_are_the_exact_class_means():
    protos = class_prototypes(EMB, LABELS, 3)
    assert protos.shape == (3, 2)
    assert torch.equal(protos, torch.tensor([[2.0, 3.0], [5.0, -3.0], [5.0, 5.0]], dtype=torch.float64))
    for c in range(3):
        assert torch.equal(protos[c], EMB[LABELS == c].mean(dim=0))


def test_a_class_without_rows_gets_a_nan_prototype():
    protos = class_prototypes(EMB[:2], LABELS[:2], 2)
    assert torch.isnan(protos[1]).all() and not torch.isnan(protos[0]).any()


def test_squared_euclidean_by_hand():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 0.0], [-1.0, 2.0]])
    d = squared_euclidean(x, p)
    assert d.shape == (2, 3)
    assert torch.equal(d, torch.tensor([[25.0, 1.0, 5.0], [13.0, 1.0, 5.0]]))


def test_cosine_distance_by_hand():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    p = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]], dtype=torch.float64)
    d = cosine_distance(x, p)
    s = 1 / np.sqrt(2)
    expected = torch.tensor([[0.0, 1.0, 2.0], [1 - s, 1 - s, 1 + s]], dtype=torch.float64)
    assert torch.allclose(d, expected, atol=1e-12)


def test_logits_are_minus_distance_over_temperature():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    assert torch.equal(prototype_logits(x, p), -squared_euclidean(x, p))
    assert torch.equal(prototype_logits(x, p, temperature=2.0), torch.tensor([[-12.5, -0.5], [-6.5, -0.5]]))
    t = torch.tensor(0.5)
    assert torch.equal(prototype_logits(x, p, "cosine", t), -cosine_distance(x, p) / 0.5)
    with pytest.raises(ChemtlError, match="distance 'manhattan' is not one of euclidean, cosine"):
        prototype_logits(x, p, "manhattan")


def toy(seed: int = 0, n: int = 20):
    """Two well-separated Gaussian blobs in 8 dimensions."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, 8)) * 0.3 + np.where(y[:, None] == 1, 3.0, -3.0)
    return X, y


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_protonet_classifies_a_separable_set_perfectly(distance):
    X, y = toy()
    Xq, yq = toy(seed=1)
    method = make_method("protonet", "classification", distance=distance).fit(
        X[::4], y[::4], "classification", 2
    )
    proba = method.predict(Xq)
    assert proba.shape == (20, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == yq).all()
    assert method.predict_std(Xq) is None


def test_protonet_probabilities_are_the_softmax_of_the_logits():
    X = np.array([[0.0, 0.0], [2.0, 0.0]])
    method = ProtoNet(temperature=2.0).fit(X, np.array([0, 1]), "classification", 2)
    proba = method.predict(np.array([[0.5, 0.0]]))
    d = np.array([0.25, 2.25])
    expected = np.exp(-d / 2) / np.exp(-d / 2).sum()
    assert np.allclose(proba[0], expected, atol=1e-12)


def test_protonet_refuses_regression_and_missing_classes():
    with pytest.raises(ChemtlError, match="few-shot method 'protonet' does not do regression"):
        make_method("protonet", "regression")
    with pytest.raises(ChemtlError, match="protonet: class 2 has no support example"):
        ProtoNet().fit(np.zeros((2, 3)), np.array([0, 1]), "classification", 3)
