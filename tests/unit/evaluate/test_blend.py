"""chemtl.evaluate.blend: the convex blend and the weight chosen on validation rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.blend import GRID, blend, choose_weight

Y = [1.0, 2.0, 3.0]
A = [1.0, 2.0, 5.0]  # off by +2 on the third row
B = [1.0, 4.0, 3.0]  # off by +2 on the second row


def test_grid_is_tenths_from_b_alone_to_a_alone():
    assert GRID == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def test_blend_is_the_weighted_mean():
    assert blend(A, B, 0.25).tolist() == [1.0, 3.5, 3.5]
    assert blend(A, B, 1.0).tolist() == A and blend(A, B, 0.0).tolist() == B


def test_errors_that_cancel_choose_the_middle():
    w, rmse = choose_weight(Y, A, B)
    # RMSE(w) = sqrt((2(1 - w))^2 + (2w)^2) / 3): lowest at w = 0.5
    assert w == 0.5
    assert rmse[0.5] == pytest.approx(math.sqrt(2 / 3), abs=1e-12)
    assert rmse[0.0] == pytest.approx(math.sqrt(4 / 3), abs=1e-12) and rmse[1.0] == rmse[0.0]
    assert list(rmse) == list(GRID)


def test_ties_go_to_the_larger_weight():
    assert choose_weight(Y, A, A)[0] == 1.0  # every weight the same
    assert choose_weight(Y, A, B, grid=(1.0, 0.0))[0] == 1.0  # equal RMSE, either order
    assert choose_weight(Y, A, B, grid=(0.0, 1.0))[0] == 1.0
    # b is exact: b alone wins outright
    assert choose_weight(Y, A, Y)[0] == 0.0


def test_bad_input_is_a_one_line_error_naming_the_value():
    with pytest.raises(ChemtlError, match=r"^blend: weight 1\.5 is not in \[0, 1\]$"):
        blend(A, B, 1.5)
    with pytest.raises(ChemtlError, match=r"^blend: a has 3 predictions and b 2$"):
        blend(A, B[:2], 0.5)
    with pytest.raises(ChemtlError, match=r"^blend: b_val row 1 is nan, not a finite number$"):
        choose_weight(Y, A, [1.0, np.nan, 3.0])
    with pytest.raises(ChemtlError, match=r"^blend: 2 validation targets but 3 and 3 predictions$"):
        choose_weight(Y[:2], A, B)
    with pytest.raises(ChemtlError, match=r"^blend: the weight grid is empty$"):
        choose_weight(Y, A, B, grid=())
    with pytest.raises(ChemtlError, match=r"^blend: y_val must be a non-empty vector, got shape \(0,\)$"):
        choose_weight([], A, B)
