"""One interface for every few-shot method, and the registry the verbs and the benchmark use.

    method = make_method("protonet", "classification", seed=0, distance="cosine")
    method.fit(X_support, y_support, "classification", n_classes=2)
    proba = method.predict(X_query)          # (Q, C) class probabilities
    mean = make_method("gp", "regression").fit(X, y, "regression", None).predict(Xq)   # (Q,)

``features`` says what ``X`` a method expects: ``"embedding"`` (encoder embeddings, e.g.
``chemtl.pipelines.metatrain.embed_with``) or ``"classic"`` (``classic_features``: Morgan bits
for molecules, Magpie statistics for compositions). Fine-tuning the pretrained model on the K
rows is not a ``FewShotMethod``: it runs through ``chemtl.pipelines.finetune``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from chemtl.errors import ChemtlError
from chemtl.transfer.fewshot.baselines import KNN, LinearProbe, RandomForest, classic_features
from chemtl.transfer.fewshot.gp import GaussianProcess
from chemtl.transfer.fewshot.protonet import ProtoNet


class FewShotMethod(Protocol):
    name: str
    features: str  # "embedding" | "classic"

    def fit(self, X: np.ndarray, y: np.ndarray, task: str, n_classes: int | None) -> FewShotMethod: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...  # (Q, C) probabilities | (Q,) means

    def predict_std(self, X: np.ndarray) -> np.ndarray | None: ...  # regression spread, or None


def _protonet(task: str, seed: int = 0, **options) -> ProtoNet:
    return ProtoNet(task, **options)  # deterministic: no seed to use


METHODS: dict[str, Callable[..., FewShotMethod]] = {
    "protonet": _protonet,
    "linear_probe": LinearProbe,
    "gp": GaussianProcess,
    "knn": KNN,
    "rf": RandomForest,
}
# Which tasks each method takes.
METHOD_TASKS: dict[str, tuple[str, ...]] = {
    "protonet": ("classification",),
    "linear_probe": ("classification", "regression"),
    "gp": ("regression",),
    "knn": ("classification", "regression"),
    "rf": ("classification", "regression"),
}


def make_method(name: str, task: str, seed: int = 0, **options) -> FewShotMethod:
    """A fresh, unfitted method ``name`` for ``task``; ``options`` go to its constructor."""
    if name not in METHODS:
        raise ChemtlError(f"unknown few-shot method {name!r}; choose from {', '.join(METHODS)}")
    if task not in METHOD_TASKS[name]:
        fits = [m for m, tasks in METHOD_TASKS.items() if task in tasks]
        raise ChemtlError(
            f"few-shot method {name!r} does not do {task}; for {task} choose from {', '.join(fits)}"
        )
    try:
        return METHODS[name](task, seed=seed, **options)
    except TypeError as exc:
        raise ChemtlError(f"few-shot method {name!r}: bad option(s) {sorted(options)} ({exc})") from None


__all__ = ["METHODS", "METHOD_TASKS", "FewShotMethod", "classic_features", "make_method"]
