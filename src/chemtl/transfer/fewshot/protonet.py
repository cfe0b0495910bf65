"""Prototypical networks (Snell et al. 2017): class prototypes, distances, logits.

The maths, as plain functions of torch tensors (used by the few-shot method below and by
episodic meta-training in ``chemtl.pipelines.metatrain``):

    prototype_c = mean of the support embeddings of class c             (C, d)
    d(x, c)     = ||x - prototype_c||^2   ("euclidean", the default)   (Q, C)
                  1 - cos(x, prototype_c) ("cosine")
    logits      = -d / T                  (T the temperature; learnable in meta-training)
    p(c | x)    = softmax(logits)

``ProtoNet`` is the ``FewShotMethod`` (``chemtl.transfer.fewshot.methods``) on embeddings:
``fit`` computes the prototypes of the support set, ``predict`` the class probabilities.
Regression is refused: a prototype is a class mean.
"""

from __future__ import annotations

import numpy as np
import torch

from chemtl.errors import ChemtlError

DISTANCES = ("euclidean", "cosine")


def class_prototypes(embeddings: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(C, d) exact class means of ``embeddings`` (N, d) by ``labels`` (N,) in 0..C-1.

    A class without any row gets a NaN prototype (the mean of nothing); callers refuse it.
    """
    labels = labels.long()
    sums = torch.zeros(n_classes, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums = sums.index_add(0, labels, embeddings)  # (C, d)
    counts = torch.bincount(labels, minlength=n_classes).to(embeddings.dtype)  # (C,)
    return sums / counts[:, None]


def squared_euclidean(x: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """(Q, C) squared Euclidean distances between rows of ``x`` (Q, d) and ``prototypes`` (C, d)."""
    diff = x[:, None, :] - prototypes[None, :, :]  # (Q, C, d)
    return (diff * diff).sum(dim=-1)


def cosine_distance(x: torch.Tensor, prototypes: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(Q, C) cosine distances ``1 - cos(x_q, p_c)``; a zero vector counts as orthogonal to all."""
    xn = x / x.norm(dim=-1, keepdim=True).clamp_min(eps)  # (Q, d)
    pn = prototypes / prototypes.norm(dim=-1, keepdim=True).clamp_min(eps)  # (C, d)
    return 1.0 - xn @ pn.T


def prototype_logits(
    query: torch.Tensor,
    prototypes: torch.Tensor,
    distance: str = "euclidean",
    temperature: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """(Q, C) logits ``-d(query, prototypes) / temperature``."""
    if distance == "euclidean":
        d = squared_euclidean(query, prototypes)
    elif distance == "cosine":
        d = cosine_distance(query, prototypes)
    else:
        raise ChemtlError(f"distance {distance!r} is not one of {', '.join(DISTANCES)}")
    return -d / temperature


class ProtoNet:
    """Prototypes of the support embeddings; class probabilities ``softmax(-d / T)``.

    ``temperature`` only sharpens or flattens the probabilities (the arg-max does not depend
    on it); a meta-trained model directory records its learnt temperature in ``fewshot.json``.
    """

    name = "protonet"
    features = "embedding"

    def __init__(self, task: str = "classification", distance: str = "euclidean", temperature: float = 1.0):
        if task != "classification":
            raise ChemtlError(
                f"method 'protonet' classifies; task {task!r} needs another method (gp, linear_probe, knn, rf)"
            )
        if distance not in DISTANCES:
            raise ChemtlError(f"distance {distance!r} is not one of {', '.join(DISTANCES)}")
        if not temperature > 0:
            raise ChemtlError(f"temperature must be > 0, got {temperature!r}")
        self.task = task
        self.distance = distance
        self.temperature = float(temperature)
        self.prototypes: torch.Tensor | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, task: str, n_classes: int | None) -> ProtoNet:
        if task != "classification":
            raise ChemtlError(f"method 'protonet' classifies; task {task!r} needs another method")
        labels = np.asarray(y).astype(np.int64)
        n = int(n_classes) if n_classes is not None else int(labels.max()) + 1
        missing = sorted(set(range(n)) - set(labels.tolist()))
        if missing:
            raise ChemtlError(f"protonet: class {missing[0]} has no support example")
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        self.prototypes = class_prototypes(x, torch.as_tensor(labels), n)  # (C, d)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.prototypes is None:
            raise RuntimeError("ProtoNet.predict before fit")
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        logits = prototype_logits(x, self.prototypes, self.distance, self.temperature)  # (Q, C)
        return torch.softmax(logits, dim=-1).numpy()

    def predict_std(self, X: np.ndarray) -> None:
        return None
