"""The few-shot baselines that are hard to beat, behind the ``FewShotMethod`` interface.

- ``LinearProbe`` ("linear_probe", on embeddings): standardised features (``StandardScaler``
  fitted on the support set), then ``LogisticRegression(C=1)`` (classification) or
  ``Ridge(alpha=1)`` (regression).
- ``KNN`` ("knn", on classic features): ``KNeighborsClassifier`` / ``KNeighborsRegressor`` with
  ``k = min(n_neighbors, support rows)`` (default 5) and distance weights, so that a 1-shot
  support still gives graded scores. Fingerprint bits (a uint8 or bool matrix, what
  ``classic_features`` gives for molecules) use the Jaccard (Tanimoto) distance; real-valued
  features (Magpie statistics) are standardised on the support set and use the Euclidean one.
- ``RandomForest`` ("rf", on classic features): ``RandomForestClassifier`` /
  ``RandomForestRegressor`` (100 trees by default, sklearn's other defaults, ``random_state=seed``).
- ``classic_features(inputs, kind)``: Morgan bits (radius 2, 2048 bits; SELFIES decoded to SMILES)
  or Magpie statistics (132 per composition), from ``chemtl.evaluate.baselines``.

Classification outputs are (Q, C) probabilities over the ``n_classes`` given to ``fit`` (a class
absent from the support gets probability 0); regression outputs are (Q,) predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chemtl.errors import ChemtlError

TASKS = ("classification", "regression")


def classic_features(inputs: Sequence[str], kind: str) -> np.ndarray:
    """(N, 2048) uint8 Morgan bits for molecules, (N, 132) float64 Magpie statistics for compositions."""
    from chemtl.evaluate.baselines import magpie_features, morgan_features

    if kind == "composition":
        return magpie_features(list(inputs))
    if kind == "selfies":
        from chemtl.chem.selfies import selfies_to_smiles

        return morgan_features([selfies_to_smiles(s) for s in inputs])
    if kind == "smiles":
        return morgan_features(list(inputs))
    raise ChemtlError(f"kind {kind!r} is not one of composition, smiles, selfies")


def _check_task(name: str, task: str) -> None:
    if task not in TASKS:
        raise ChemtlError(f"method {name!r}: task {task!r} is not one of {', '.join(TASKS)}")


def _full_proba(proba: np.ndarray, fitted: np.ndarray, n_classes: int) -> np.ndarray:
    """(Q, C) probabilities over classes 0..C-1 from a classifier that saw only ``fitted``."""
    out = np.zeros((proba.shape[0], n_classes), dtype=np.float64)
    out[:, np.asarray(fitted, dtype=np.int64)] = proba
    return out


class _SklearnMethod:
    """Shared fit/predict plumbing: ``build(task, n_support)`` returns the sklearn estimator."""

    name = ""
    features = ""

    def __init__(self, task: str, seed: int = 0) -> None:
        _check_task(self.name, task)
        self.task = task
        self.seed = int(seed)
        self.model = None
        self.n_classes: int | None = None

    def prepare(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def build(self, task: str, X: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray, task: str, n_classes: int | None = None):
        _check_task(self.name, task)
        if task != self.task:
            raise ChemtlError(f"method {self.name!r} was made for {self.task}, not {task}")
        x = self.prepare(X)
        if task == "classification":
            labels = np.asarray(y).astype(np.int64)
            self.n_classes = int(n_classes) if n_classes is not None else int(labels.max()) + 1
            if len(np.unique(labels)) < 2:
                raise ChemtlError(f"method {self.name!r}: the support set holds one class")
            self.model = self.build(task, x).fit(x, labels)
        else:
            self.model = self.build(task, x).fit(x, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.predict before fit")
        x = self.prepare(X)
        if self.task == "classification":
            assert self.n_classes is not None
            return _full_proba(self.model.predict_proba(x), self.model.classes_, self.n_classes)
        return np.asarray(self.model.predict(x), dtype=np.float64)

    def predict_std(self, X: np.ndarray) -> None:
        return None


class LinearProbe(_SklearnMethod):
    name = "linear_probe"
    features = "embedding"

    def __init__(self, task: str, seed: int = 0, C: float = 1.0, alpha: float = 1.0) -> None:
        super().__init__(task, seed)
        self.C, self.alpha = float(C), float(alpha)

    def build(self, task: str, X: np.ndarray):
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if task == "classification":
            head = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        else:
            head = Ridge(alpha=self.alpha)
        return make_pipeline(StandardScaler(), head)


class KNN(_SklearnMethod):
    name = "knn"
    features = "classic"

    def __init__(self, task: str, seed: int = 0, n_neighbors: int = 5, metric: str = "auto") -> None:
        super().__init__(task, seed)
        if metric not in ("auto", "jaccard", "euclidean"):
            raise ChemtlError(f"knn metric {metric!r} is not one of auto, jaccard, euclidean")
        if not isinstance(n_neighbors, int) or n_neighbors < 1:
            raise ChemtlError(f"knn n_neighbors must be an integer >= 1, got {n_neighbors!r}")
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.chosen: str | None = None

    def prepare(self, X: np.ndarray) -> np.ndarray:
        x = np.asarray(X)
        if self.chosen is None:  # decided on the support set
            bits = x.dtype == np.bool_ or x.dtype == np.uint8
            self.chosen = self.metric if self.metric != "auto" else "jaccard" if bits else "euclidean"
        return x.astype(bool) if self.chosen == "jaccard" else x.astype(np.float64)

    def build(self, task: str, X: np.ndarray):
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        k = min(self.n_neighbors, len(X))
        cls = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
        if self.chosen == "jaccard":
            return cls(n_neighbors=k, weights="distance", metric="jaccard")
        return make_pipeline(StandardScaler(), cls(n_neighbors=k, weights="distance"))

    def fit(self, X: np.ndarray, y: np.ndarray, task: str, n_classes: int | None = None) -> KNN:
        self.chosen = None
        return super().fit(X, y, task, n_classes)


class RandomForest(_SklearnMethod):
    name = "rf"
    features = "classic"

    def __init__(self, task: str, seed: int = 0, n_estimators: int = 100, n_jobs: int | None = 1) -> None:
        super().__init__(task, seed)
        self.n_estimators, self.n_jobs = int(n_estimators), n_jobs

    def build(self, task: str, X: np.ndarray):
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return cls(n_estimators=self.n_estimators, n_jobs=self.n_jobs, random_state=self.seed)

    def predict_std(self, X: np.ndarray) -> np.ndarray | None:
        """Regression: the standard deviation (ddof 0) of the trees' predictions, the forest's own
        spread (not a calibrated interval); None for classification."""
        if self.task != "regression" or self.model is None:
            return None
        x = self.prepare(X)
        per_tree = np.stack([tree.predict(x) for tree in self.model.estimators_])  # (T, Q)
        return per_tree.std(axis=0)
