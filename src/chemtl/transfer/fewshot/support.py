"""Choosing K rows of a pool to label or to use as a support set.

- ``kmeans_select(embeddings, k, seed)``: sklearn ``KMeans(n_clusters=k, n_init=10,
  random_state=seed)`` on the embeddings, then for each centre (in KMeans' order) the pool member
  nearest it (Euclidean; ties to the lower index). When a later centre's nearest member is
  already taken by an earlier centre, it takes its nearest unused member, so the K indices are
  always distinct (also when the pool holds identical embeddings).
- ``random_select(n, k, seed)``: K distinct indices of ``range(n)`` drawn uniformly
  (``numpy.random.default_rng(seed).choice(n, k, replace=False)``).

Both return int64 indices in selection order (centre order for k-means, draw order for random).
"""

from __future__ import annotations

import numpy as np

from chemtl.errors import ChemtlError

SELECT_METHODS = ("kmeans", "random")


class SelectionError(ChemtlError, ValueError):
    """A selection that cannot be made as asked (K larger than the pool, unknown method)."""


def _check_k(k: int, n: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SelectionError(f"the number of rows to select must be an integer >= 1, got {k!r}")
    if k > n:
        raise SelectionError(f"cannot select {k} rows from a pool of {n}")


def kmeans_select(embeddings: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """K distinct pool indices: for each k-means centre, the nearest unused pool member."""
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise SelectionError(f"k-means selection needs a 2-d embedding matrix, got shape {x.shape}")
    _check_k(k, len(x))
    with warnings.catch_warnings():  # fewer distinct points than k: KMeans warns, the rule copes
        warnings.simplefilter("ignore", ConvergenceWarning)
        centres = KMeans(n_clusters=int(k), n_init=10, random_state=seed).fit(x).cluster_centers_
    return nearest_unused(x, centres)


def nearest_unused(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each centre in order, the index of the nearest row of ``x`` not taken by an earlier one."""
    xd = np.asarray(x, dtype=np.float64)
    cd = np.asarray(centres, dtype=np.float64)
    # squared Euclidean distances (k, n), without a (k, n, d) intermediate
    distances = (cd**2).sum(axis=1)[:, None] - 2.0 * cd @ xd.T + (xd**2).sum(axis=1)[None, :]
    chosen: list[int] = []
    used = np.zeros(len(xd), dtype=bool)
    for row in distances:
        order = np.argsort(row, kind="stable")
        pick = int(order[np.flatnonzero(~used[order])[0]])
        used[pick] = True
        chosen.append(pick)
    return np.asarray(chosen, dtype=np.int64)


def random_select(n: int, k: int, seed: int = 0) -> np.ndarray:
    """K distinct indices of ``range(n)``, uniformly at random."""
    _check_k(k, n)
    return np.random.default_rng(seed).choice(n, size=int(k), replace=False).astype(np.int64)


def select_rows(
    method: str, k: int, *, n: int, embeddings: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """K distinct indices of a pool of ``n`` rows by ``method`` (``SELECT_METHODS``); k-means needs
    ``embeddings`` (one row per pool member)."""
    if method not in SELECT_METHODS:
        raise SelectionError(
            f"unknown selection method {method!r}; choose one of {', '.join(SELECT_METHODS)}"
        )
    if method == "random":
        return random_select(n, k, seed)
    if embeddings is None:
        raise SelectionError("k-means selection needs the pool's embeddings")
    if len(embeddings) != n:
        raise SelectionError(f"{len(embeddings)} embeddings for a pool of {n} rows")
    return kmeans_select(embeddings, k, seed)
