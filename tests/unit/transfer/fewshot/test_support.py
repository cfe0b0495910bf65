"""Support selection: k-means (the member nearest each centre, distinct) and random."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from chemtl.transfer.fewshot.support import (
    SELECT_METHODS,
    SelectionError,
    kmeans_select,
    nearest_unused,
    random_select,
    select_rows,
)


def blobs(n_per: int = 6, centres=((0, 0), (10, 0), (0, 10), (10, 10)), seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([np.asarray(c, float) + rng.normal(0, 0.5, size=(n_per, 2)) for c in centres])


def test_kmeans_picks_the_member_nearest_each_centre_as_sklearn_computes_it():
    x = blobs()
    chosen = kmeans_select(x, 4, seed=7)
    centres = KMeans(n_clusters=4, n_init=10, random_state=7).fit(x).cluster_centers_
    nearest = [int(np.argmin(((x - c) ** 2).sum(axis=1))) for c in centres]
    assert chosen.dtype == np.int64
    assert chosen.tolist() == nearest
    assert len(set(chosen.tolist())) == 4
    # one member from each blob of 6 rows
    assert sorted(i // 6 for i in chosen) == [0, 1, 2, 3]


def test_a_later_centre_whose_nearest_member_is_taken_gets_its_nearest_unused_one():
    x = np.asarray([[0.0], [1.0], [10.0], [0.5]])
    centres = np.asarray([[0.4], [0.3], [9.0]])
    # centre 0: nearest 3 (0.1); centre 1: nearest 3 (0.2, taken) -> next 0 (0.3); centre 2: 2
    assert nearest_unused(x, centres).tolist() == [3, 0, 2]


def test_kmeans_on_identical_embeddings_still_returns_k_distinct_rows():
    x = np.asarray([[0.0, 0.0]] * 3 + [[5.0, 5.0]])
    chosen = kmeans_select(x, 3, seed=0)
    assert sorted(chosen.tolist()) == [0, 1, 3]


def test_random_select_is_k_distinct_seeded_indices():
    a = random_select(50, 10, seed=4)
    assert a.tolist() == np.random.default_rng(4).choice(50, size=10, replace=False).tolist()
    assert len(set(a.tolist())) == 10
    assert random_select(50, 10, seed=5).tolist() != a.tolist()


def test_select_rows_dispatches():
    x = blobs()
    assert SELECT_METHODS == ("kmeans", "random")
    assert (
        select_rows("kmeans", 4, n=len(x), embeddings=x, seed=7).tolist() == kmeans_select(x, 4, 7).tolist()
    )
    assert select_rows("random", 3, n=24, seed=1).tolist() == random_select(24, 3, 1).tolist()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: random_select(3, 5), "cannot select 5 rows from a pool of 3"),
        (lambda: kmeans_select(np.zeros((3, 2)), 4), "cannot select 4 rows from a pool of 3"),
        (lambda: random_select(3, 0), "the number of rows to select must be an integer >= 1, got 0"),
        (
            lambda: select_rows("cluster", 2, n=5),
            "unknown selection method 'cluster'; choose one of kmeans, random",
        ),
        (lambda: select_rows("kmeans", 2, n=5), "k-means selection needs the pool's embeddings"),
        (
            lambda: select_rows("kmeans", 2, n=5, embeddings=np.zeros((4, 2))),
            "4 embeddings for a pool of 5 rows",
        ),
    ],
)
def test_errors_are_one_line_naming_the_value(call, message):
    with pytest.raises(SelectionError) as info:
        call()
    assert str(info.value) == message
