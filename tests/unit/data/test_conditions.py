"""Property-bin conditions of the causal generators: edges, bins, the value that samples each bin."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.data.conditions import (
    ConditionError,
    bin_index,
    bin_values,
    condition_token,
    condition_tokens,
    quantile_edges,
)

# half metals (0 eV), as in matbench_expt_gap: the tied quantiles merge into one edge
GAPS = np.array([0.0] * 7 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
KEPT = {
    "band_gap": {"edges": [0.0, 1.25, 2.5], "tokens": condition_tokens("band_gap", 4), "range": [0.0, 4.0]}
}


def test_tied_quantiles_merge():
    # quantiles k/6 of the 13 sorted values sit at positions 2, 4, 6, 8, 10: 0, 0, 0, 2, 4
    assert quantile_edges(GAPS, 6) == [0.0, 2.0, 4.0]


def test_bin_holds_the_upper_edge():
    edges = [0.0, 1.25, 2.5]
    assert [bin_index(edges, v) for v in (0.0, 0.01, 1.25, 1.3, 2.5, 2.51)] == [0, 1, 1, 2, 2, 3]


def test_bin_values_fall_in_their_own_bin():
    values = bin_values(KEPT["band_gap"])
    assert values == [0.0, 0.625, 1.875, 3.25]
    assert [bin_index(KEPT["band_gap"]["edges"], v) for v in values] == [0, 1, 2, 3]
    assert [condition_token(KEPT, "band_gap", v) for v in values] == [
        "[band_gap=b0]", "[band_gap=b1]", "[band_gap=b2]", "[band_gap=b3]",
    ]  # fmt: skip


def test_condition_errors_name_the_value():
    with pytest.raises(ConditionError, match=r"condition 'logp': the model was not conditioned on it"):
        condition_token(KEPT, "logp", 1.0)
    with pytest.raises(
        ConditionError, match=r"condition band_gap=5 is outside the learned bins, which span 0 to 4"
    ):
        condition_token(KEPT, "band_gap", 5.0)


def test_build_conditions_repeats_each_labelled_row(tmp_path):
    from chemtl.data.conditions import build_conditions

    labelled = tmp_path / "gaps.csv"
    labelled.write_text("formula,gap\nNaCl,8.5\nCu,0.0\nSi,1.1\nGaAs,1.4\n")
    once, kept = build_conditions((f"gap:{labelled}:gap",), 2, "composition", seed=0)
    thrice, kept3 = build_conditions((f"gap:{labelled}:gap",), 2, "composition", seed=0, repeat=3)
    assert sorted(once) == ["[gap=b0]Cu", "[gap=b0]Si", "[gap=b1]GaAs", "[gap=b1]NaCl"]
    assert sorted(thrice) == sorted(once * 3)
    assert kept["gap"]["edges"] == [1.25] and kept["gap"]["counts"] == [2, 2]
    assert (kept["gap"]["repeat"], kept3["gap"]["repeat"], kept3["gap"]["counts"]) == (1, 3, [2, 2])


def test_condition_repeat_needs_a_condition():
    from chemtl.training.config import ConfigError, PretrainConfig

    with pytest.raises(ConfigError, match=r"^condition_repeat 5 needs a condition \(--condition\)$"):
        PretrainConfig(objectives=("causal",), condition_repeat=5)
    with pytest.raises(ConfigError, match=r"^condition_repeat must be an integer from 1 to 1000, got 0$"):
        PretrainConfig(objectives=("causal",), condition_repeat=0)
