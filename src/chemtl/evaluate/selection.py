"""Choosing among model variants on validation rows only.

A benchmark that runs several variants of one method (recipes, feature sets) reports, per task,
the variant a user could have picked without the test rows: the one with the lowest mean
validation score over the seeds. Every candidate must have a score for every seed, so a variant
that was not run on some seed is not a candidate; ties go to the earlier candidate (the order the
caller gives is its preference, e.g. the simpler variant first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from chemtl.errors import ChemtlError


def complete(scores: Mapping[str, Sequence[float | None]], n_seeds: int) -> dict[str, list[float]]:
    """The candidates of ``scores`` (variant -> validation score per seed) with a finite score for
    each of the ``n_seeds`` seeds, in the given order."""
    out: dict[str, list[float]] = {}
    for name, values in scores.items():
        got = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if len(got) == n_seeds == len(values):
            out[name] = got
    return out


def choose_lowest(scores: Mapping[str, Sequence[float]]) -> tuple[str, dict[str, float]]:
    """The variant with the lowest mean score (ties: the first given), and every variant's mean."""
    if not scores:
        raise ChemtlError("selection: no candidate has a validation score for every seed")
    means = {}
    for name, values in scores.items():
        if not values:
            raise ChemtlError(f"selection: variant {name!r} has no validation scores")
        means[name] = sum(values) / len(values)
    best = min(means, key=lambda n: means[n])  # min keeps the first of equal means
    return best, means
