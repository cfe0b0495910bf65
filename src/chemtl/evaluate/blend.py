"""Blending two regressors' predictions, the weight chosen on validation rows only.

A fine-tuned encoder and a fingerprint model make different errors (MoleculeACE: deep models lose
to SVM-ECFP on activity cliffs), so a convex blend ``w * a + (1 - w) * b`` of their predictions can
beat both. ``choose_weight`` picks ``w`` from a fixed grid by the RMSE on the validation rows, the
rows neither model was fitted on; the test rows are never looked at. Ties go to the larger ``w``
(more of model ``a``), so the choice does not depend on the order of the grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chemtl.errors import ChemtlError

# w = 0 (model b alone), 0.1, ..., 1 (model a alone)
GRID: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
# RMSEs equal to this many decimals are a tie (floating-point noise is not a preference)
TIE_DECIMALS = 12


def _vector(name: str, values) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 1 or len(out) == 0:
        raise ChemtlError(f"blend: {name} must be a non-empty vector, got shape {out.shape}")
    bad = np.flatnonzero(~np.isfinite(out))
    if len(bad):
        raise ChemtlError(f"blend: {name} row {int(bad[0])} is {float(out[bad[0]])}, not a finite number")
    return out


def blend(a, b, weight: float) -> np.ndarray:
    """``weight * a + (1 - weight) * b``, elementwise; ``weight`` in [0, 1]."""
    if not 0.0 <= float(weight) <= 1.0:
        raise ChemtlError(f"blend: weight {weight!r} is not in [0, 1]")
    pa, pb = _vector("a", a), _vector("b", b)
    if len(pa) != len(pb):
        raise ChemtlError(f"blend: a has {len(pa)} predictions and b {len(pb)}")
    return float(weight) * pa + (1.0 - float(weight)) * pb


def choose_weight(y_val, a_val, b_val, grid: Sequence[float] = GRID) -> tuple[float, dict[float, float]]:
    """The weight of ``grid`` whose blend of ``a_val`` and ``b_val`` has the lowest RMSE against
    ``y_val`` (ties: the larger weight), and every weight's validation RMSE."""
    y = _vector("y_val", y_val)
    pa, pb = _vector("a_val", a_val), _vector("b_val", b_val)
    if not len(y) == len(pa) == len(pb):
        raise ChemtlError(f"blend: {len(y)} validation targets but {len(pa)} and {len(pb)} predictions")
    weights = [float(w) for w in grid]
    if not weights:
        raise ChemtlError("blend: the weight grid is empty")
    rmse = {}
    for w in weights:
        pred = blend(pa, pb, w)  # checks w is in [0, 1]
        rmse[w] = float(np.sqrt(np.mean((pred - y) ** 2)))
    best = min(weights, key=lambda w: (round(rmse[w], TIE_DECIMALS), -w))
    return best, rmse
