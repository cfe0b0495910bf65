"""chemtl.evaluate.selection: the variant chosen on validation scores."""

from __future__ import annotations

import math

import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.selection import choose_lowest, complete


def test_the_lowest_mean_wins_and_every_mean_is_reported():
    best, means = choose_lowest({"a": [0.7, 0.5], "b": [0.4, 0.7], "c": [0.9, 0.9]})
    assert best == "b" and means == {"a": 0.6, "b": 0.55, "c": 0.9}


def test_a_tie_goes_to_the_first_candidate():
    assert choose_lowest({"plain": [0.5, 0.7], "long": [0.7, 0.5]})[0] == "plain"
    assert choose_lowest({"long": [0.7, 0.5], "plain": [0.5, 0.7]})[0] == "long"


def test_only_variants_scored_on_every_seed_are_candidates():
    scores = {"a": [0.5, 0.6, 0.7], "b": [0.4, None, 0.3], "c": [0.2, 0.2], "d": [0.1, math.nan, 0.1]}
    assert complete(scores, 3) == {"a": [0.5, 0.6, 0.7]}
    assert choose_lowest(complete(scores, 3))[0] == "a"


def test_no_candidate_is_a_one_line_error():
    with pytest.raises(ChemtlError, match=r"^selection: no candidate has a validation score for every seed$"):
        choose_lowest({})
    with pytest.raises(ChemtlError, match=r"^selection: variant 'a' has no validation scores$"):
        choose_lowest({"a": []})
