"""The peers: Magpie statistics (exact values), RandomForest on them, predict-the-mean, and the
RandomForest on Morgan fingerprints."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.baselines import (
    MAGPIE_STATS,
    MORGAN_BITS,
    MORGAN_RADIUS,
    MagpieRandomForest,
    MeanRegressor,
    MorganRandomForest,
    composition_statistics,
    load_magpie_table,
    magpie_feature_names,
    magpie_features,
    morgan_features,
)


def column(x: np.ndarray, name: str) -> float:
    return float(x[magpie_feature_names().index(name)])


def test_magpie_table_is_the_crabnet_file():
    table = load_magpie_table()
    assert table.path.name == "magpie.csv" and table.path.parent.name == "element_properties"
    assert len(table.properties) == 22 and table.properties[0] == "Number"
    assert len(table.symbols) == 97 and table.symbols[:3] == ("H", "He", "Li")
    assert table.values[table.index["Fe"], 0] == 26.0


def test_feature_names_are_property_major():
    names = magpie_feature_names()
    assert len(names) == 22 * 6 == 132
    assert names[:7] == [
        "mean Number",
        "avg_dev Number",
        "min Number",
        "max Number",
        "range Number",
        "mode Number",
        "mean MendeleevNumber",
    ]
    assert MAGPIE_STATS == ("mean", "avg_dev", "min", "max", "range", "mode")


def test_fe2o3_exact_columns():
    # Fe: Z 26, electronegativity 1.83, melting 1811 K; O: Z 8, 3.44, 54.8 K; fractions 0.4 / 0.6
    x = magpie_features(["Fe2O3"])[0]
    assert x.shape == (132,)
    assert column(x, "mean Number") == pytest.approx(0.4 * 26 + 0.6 * 8, abs=1e-12)  # 15.2
    assert column(x, "avg_dev Number") == pytest.approx(0.4 * 10.8 + 0.6 * 7.2, abs=1e-12)  # 8.64
    assert (column(x, "min Number"), column(x, "max Number"), column(x, "range Number")) == (8.0, 26.0, 18.0)
    assert column(x, "mode Number") == 8.0  # O has the larger fraction
    assert column(x, "mean Electronegativity") == pytest.approx(0.4 * 1.83 + 0.6 * 3.44, abs=1e-12)  # 2.796
    assert column(x, "range MeltingT") == pytest.approx(1811.0 - 54.8, abs=1e-9)


def test_scale_and_order_do_not_matter_and_groups_expand():
    a, b, c = magpie_features(["Fe2O3", "O6Fe4", "Fe2(O)3"])
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a, c, rtol=0, atol=1e-12)


def test_mode_tie_takes_the_smallest_value():
    x = composition_statistics(["Na", "Cl"], [0.5, 0.5], stats=("mode",))
    assert x[0] == 11.0  # Number: Na 11, Cl 17


def test_stats_subset_and_unknown_stat():
    assert magpie_features(["NaCl", "LiF"], stats=("mean",)).shape == (2, 22)
    with pytest.raises(ChemtlError, match="median"):
        magpie_features(["NaCl"], stats=("median",))


def test_element_outside_the_table_is_named():
    with pytest.raises(ChemtlError, match=r"'Cf2O3'.*'Cf'"):
        magpie_features(["NaCl", "Cf2O3"])


def test_mean_regressor_exact():
    dummy = MeanRegressor().fit(["a", "b", "c", "d"], [1.0, 2.0, 3.0, 6.0])
    assert dummy.mean == 3.0
    assert dummy.predict(["x", "y"]).tolist() == [3.0, 3.0]
    with pytest.raises(ChemtlError):
        MeanRegressor().fit([], [])


def test_random_forest_is_seeded_and_learns():
    formulas = ["NaCl", "KCl", "LiF", "NaF", "KBr", "MgO", "CaO", "SrO", "BaO", "ZnO", "GaN", "AlN"]
    y = magpie_features(formulas, stats=("mean",))[:, 8]  # mean electronegativity: learnable
    rf1 = MagpieRandomForest(n_estimators=10, n_jobs=1, random_state=3).fit(formulas, y)
    rf2 = MagpieRandomForest(n_estimators=10, n_jobs=1, random_state=3).fit(formulas, y)
    p1 = rf1.predict(["NaCl", "CaO"])
    np.testing.assert_array_equal(p1, rf2.predict(["NaCl", "CaO"]))
    assert np.abs(rf1.predict(formulas) - y).mean() < np.abs(y - y.mean()).mean()


def test_morgan_features_exact_bit_counts():
    assert (MORGAN_RADIUS, MORGAN_BITS) == (2, 2048)
    x = morgan_features(["C", "c1ccccc1", "CCO", "OCC"])
    assert x.shape == (4, 2048) and x.dtype == np.uint8 and set(np.unique(x)) <= {0, 1}
    # methane: one environment; benzene: one per radius (0, 1, 2), every carbon alike;
    # ethanol: 3 atoms at radius 0, 3 at radius 1, radius 2 covers the whole molecule again (no new bit)
    assert x.sum(axis=1).tolist() == [1, 3, 6, 6]
    np.testing.assert_array_equal(x[2], x[3])  # the same molecule written differently
    assert morgan_features("CCO").shape == (1, 2048)
    assert morgan_features(["CCO"], radius=0, n_bits=64).sum() == 3


def test_morgan_features_name_an_invalid_smiles():
    with pytest.raises(ChemtlError, match=r"'C1CC'.*unclosed ring"):
        morgan_features(["CCO", "C1CC"])
    with pytest.raises(ChemtlError, match="radius"):
        morgan_features(["CCO"], radius=-1)


def test_morgan_random_forest_fits_distinct_molecules_exactly():
    smiles = ["C", "CC", "CCC", "CCO", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CN", "ClC(Cl)Cl", "C1CCCCC1"]
    y = np.arange(len(smiles), dtype=np.float64) * 0.5 - 1.0
    # no bootstrap, fully grown trees, distinct fingerprints: every leaf is one molecule
    rf = MorganRandomForest(n_estimators=3, n_jobs=1, random_state=0, bootstrap=False).fit(smiles, y)
    np.testing.assert_array_equal(rf.predict(smiles), y)
    assert rf.params == {"n_estimators": 3, "n_jobs": 1, "random_state": 0, "bootstrap": False}
    assert rf.model.n_features_in_ == 2048


def test_morgan_random_forest_is_seeded():
    smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCCO", "CCCCO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1"]
    y = np.array([float(s.count("C") + s.count("c")) for s in smiles])  # carbon count: learnable
    rf1 = MorganRandomForest(n_estimators=10, n_jobs=1, random_state=3).fit(smiles, y)
    rf2 = MorganRandomForest(n_estimators=10, n_jobs=1, random_state=3).fit(smiles, y)
    np.testing.assert_array_equal(rf1.predict(["CCCCC", "OCCO"]), rf2.predict(["CCCCC", "OCCO"]))
    assert np.abs(rf1.predict(smiles) - y).mean() < np.abs(y - y.mean()).mean()
    with pytest.raises(RuntimeError, match="before fit"):
        MorganRandomForest().predict(["C"])
