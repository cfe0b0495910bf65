"""Domain-gap diagnostics: how far a target set's embeddings lie from a source set's.

Three numbers, each on (N, d) embedding matrices (rows are compounds):

- ``mmd_rbf``: the squared maximum mean discrepancy with an RBF kernel
  ``k(a, b) = exp(-|a - b|^2 / (2 sigma^2))``. ``sigma`` ("bandwidth") is the median heuristic:
  the median of the Euclidean distances between all distinct pairs of the pooled points
  (``scipy.spatial.distance.pdist``); when more than half of those distances are 0 (many
  duplicate points) the median of the non-zero ones. ``mmd2`` is the **unbiased** U-statistic
  (Gretton et al. 2012, eq. 3)::

      mmd2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
             - 2 sum_{i, j} k(x_i, y_j) / (m n)

  so it can be slightly negative when the two samples come from one distribution. The p-value
  is a permutation test: the pooled points are relabelled ``n_permutations`` times (a
  ``numpy.random.default_rng(seed)`` permutation each), the same statistic recomputed with the
  same bandwidth, and ``p_value = (count + 1) / (n_permutations + 1)`` where ``count`` is how many
  permuted statistics are at least the observed one (so the smallest p-value is
  ``1 / (n_permutations + 1)``); ``None`` with ``n_permutations=0``. The kernel matrix of the
  pooled points is held in memory, so the pooled size is capped at ``MMD_MAX_POINTS``.
- ``proxy_a_distance``: a linear domain classifier (``StandardScaler`` then
  ``LogisticRegression(class_weight="balanced")``) told source (0) from target (1) by stratified
  k-fold cross-validation (shuffled with ``seed``); ``error`` is the balanced error of the
  out-of-fold predictions (the mean of the two domains' error rates, so that unequal sample
  sizes do not lower it), and ``a_distance = 2 (1 - 2 error)``, reported raw: 2 for perfectly
  separable domains, about 0 for indistinguishable ones, and negative when the error exceeds
  0.5 (which only chance gives).
- ``nearest_neighbour_shift``: ``threshold`` is the ``quantile`` (default 0.95, numpy's linear
  interpolation) of every source point's Euclidean distance to its nearest *other* source point
  (``sklearn.neighbors.NearestNeighbors``); ``fraction`` is the share of target points whose
  nearest source point is farther than ``threshold`` (strictly).

``domain_gap`` computes all three; ``plot_domains`` draws both sets in the first two principal
components of the pooled embeddings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError

MMD_MAX_POINTS = 10_000  # pooled points: the (N, N) float64 kernel matrix is 800 MB at this size
MMD_ESTIMATOR = "unbiased U-statistic"


class DomainGapError(ChemtlError):
    """Embeddings that cannot be compared as asked (too few rows, different widths)."""


def _pair(
    x: Any, y: Any, *, what: str = "source and target", min_rows: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2:
        raise DomainGapError(f"{what} must be (N, d) matrices, got shapes {x.shape} and {y.shape}")
    if x.shape[1] != y.shape[1]:
        raise DomainGapError(f"{what} have different widths: {x.shape[1]} and {y.shape[1]} columns")
    for name, arr in zip(what.split(" and "), (x, y)):
        if len(arr) < min_rows:
            raise DomainGapError(f"the {name} has {len(arr)} row(s); at least {min_rows} are needed")
        if not np.isfinite(arr).all():
            raise DomainGapError(f"the {name} embeddings hold non-finite values")
    return x, y


def median_bandwidth(z: np.ndarray) -> float:
    """The median heuristic: the median of the pairwise Euclidean distances of the rows of ``z``
    (the non-zero ones when more than half are zero; 0.0 when all are)."""
    from scipy.spatial.distance import pdist

    d = pdist(np.asarray(z, dtype=np.float64))
    if len(d) == 0:
        return 0.0
    sigma = float(np.median(d))
    if sigma == 0.0:
        nonzero = d[d > 0]
        sigma = float(np.median(nonzero)) if len(nonzero) else 0.0
    return sigma


def _mmd2_unbiased(k: np.ndarray, s: np.ndarray, m: int, n: int) -> np.ndarray:
    """The unbiased MMD^2 for each column of the 0/1 membership matrix ``s`` (1 = first sample),
    from the pooled kernel matrix ``k`` whose diagonal is 1."""
    t = 1.0 - s
    ks = k @ s
    kt = k.sum(axis=1)[:, None] - ks  # k @ t, without a second product
    xx = (np.einsum("ip,ip->p", s, ks) - m) / (m * (m - 1))
    yy = (np.einsum("ip,ip->p", t, kt) - n) / (n * (n - 1))
    xy = np.einsum("ip,ip->p", s, kt) / (m * n)
    return xx + yy - 2.0 * xy


def mmd_rbf(x: np.ndarray, y: np.ndarray, *, n_permutations: int = 200, seed: int = 0) -> dict:
    """Unbiased MMD^2 of ``x`` and ``y`` with an RBF kernel of median-heuristic bandwidth, and a
    permutation p-value (see the module docstring). Returns ``{"mmd2", "bandwidth", "p_value"}``."""
    from scipy.spatial.distance import cdist

    x, y = _pair(x, y)
    m, n = len(x), len(y)
    if m + n > MMD_MAX_POINTS:
        raise DomainGapError(
            f"{m} + {n} points are too many for the MMD's kernel matrix (at most {MMD_MAX_POINTS}); "
            "subsample them (chemtl domain-gap --limit N)"
        )
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int) or n_permutations < 0:
        raise DomainGapError(f"n_permutations must be a non-negative integer, got {n_permutations!r}")
    z = np.vstack([x, y])
    sigma = median_bandwidth(z)
    if sigma == 0.0:  # every point is the same point: no discrepancy, nothing to permute
        return {"mmd2": 0.0, "bandwidth": 0.0, "p_value": 1.0 if n_permutations else None}
    k = np.exp(-cdist(z, z, "sqeuclidean") / (2.0 * sigma**2))
    np.fill_diagonal(k, 1.0)
    observed = float(_mmd2_unbiased(k, np.r_[np.ones(m), np.zeros(n)][:, None], m, n)[0])
    p_value = None
    if n_permutations:
        rng = np.random.default_rng(seed)
        s = np.zeros((m + n, n_permutations))
        for p in range(n_permutations):
            s[rng.permutation(m + n)[:m], p] = 1.0
        permuted = _mmd2_unbiased(k, s, m, n)
        count = int(np.sum(permuted >= observed))
        p_value = (count + 1) / (n_permutations + 1)
    return {"mmd2": observed, "bandwidth": sigma, "p_value": p_value}


def proxy_a_distance(x: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0) -> dict:
    """Proxy A-distance ``2 (1 - 2 e)`` for the balanced cross-validated error ``e`` of a linear
    domain classifier (see the module docstring). Returns ``{"error", "a_distance"}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise DomainGapError(f"folds must be an integer of at least 2, got {folds!r}")
    x, y = _pair(x, y, min_rows=folds)
    z = np.vstack([x, y])
    labels = np.r_[np.zeros(len(x), dtype=np.int64), np.ones(len(y), dtype=np.int64)]
    classifier = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(classifier, z, labels, cv=cv)
    error = 1.0 - float(balanced_accuracy_score(labels, predicted))
    return {"error": error, "a_distance": 2.0 * (1.0 - 2.0 * error)}


def nearest_neighbour_shift(source: np.ndarray, target: np.ndarray, *, quantile: float = 0.95) -> dict:
    """The share of target points farther from every source point than the source's own
    ``quantile`` of nearest-other-source-point distances. Returns ``{"threshold", "fraction"}``."""
    from sklearn.neighbors import NearestNeighbors

    if not 0.0 <= quantile <= 1.0:
        raise DomainGapError(f"quantile must lie in [0, 1], got {quantile!r}")
    source, target = _pair(source, target, min_rows=1)
    if len(source) < 2:
        raise DomainGapError(f"the source has {len(source)} row(s); at least 2 are needed")
    index = NearestNeighbors(n_neighbors=1).fit(source)
    own = index.kneighbors(n_neighbors=1, return_distance=True)[0][:, 0]  # X=None: not itself
    threshold = float(np.quantile(own, quantile))
    far = index.kneighbors(target, n_neighbors=1, return_distance=True)[0][:, 0]
    return {"threshold": threshold, "fraction": float(np.mean(far > threshold))}


def domain_gap(
    source_emb: np.ndarray, target_emb: np.ndarray, *, seed: int = 0, n_permutations: int = 200
) -> dict:
    """The three diagnostics of ``source_emb`` against ``target_emb``: ``{"mmd": mmd_rbf(...),
    "a_distance": proxy_a_distance(...), "nn_shift": nearest_neighbour_shift(...), "n_source",
    "n_target"}``."""
    x, y = _pair(source_emb, target_emb, min_rows=5)
    return {
        "mmd": mmd_rbf(x, y, n_permutations=n_permutations, seed=seed),
        "a_distance": proxy_a_distance(x, y, seed=seed),
        "nn_shift": nearest_neighbour_shift(x, y),
        "n_source": len(x),
        "n_target": len(y),
    }


def plot_domains(
    source_emb: np.ndarray,
    target_emb: np.ndarray,
    path: str | os.PathLike,
    labels: tuple[str, str] = ("source", "target"),
    title: str = "",
) -> Path:
    """Both sets in the first two principal components of their pooled embeddings, one colour
    each, as a PNG at ``path`` (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    from chemtl.atomic import atomic_open

    x, y = _pair(source_emb, target_emb, what=" and ".join(labels), min_rows=1)
    z = np.vstack([x, y])
    n_comp = min(2, z.shape[1], len(z))
    pca = PCA(n_components=n_comp, random_state=0)
    xy = pca.fit_transform(z)
    if n_comp == 1:
        xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    ratio = list(pca.explained_variance_ratio_) + [0.0]
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    for part, label, marker in ((xy[: len(x)], labels[0], "o"), (xy[len(x) :], labels[1], "^")):
        ax.scatter(part[:, 0], part[:, 1], s=8, alpha=0.6, marker=marker, label=f"{label} ({len(part)})")
    ax.legend(fontsize="small")
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of variance)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    target = Path(path)
    with atomic_open(target, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
    return target
