"""Conditioning tokens for the causal generators: property bins learned from a labelled set.

``--condition NAME:DATASET[:COL] --bins N`` (``PretrainConfig.conditions`` / ``bins``): the
labelled values of DATASET's target column COL (its registered target by default), NaN rows
dropped, are cut at their quantiles ``k/N`` (k = 1..N-1); bin K holds the values in
(edge K-1, edge K] (bin 0: up to the first edge) and is the token ``[NAME=bK]``. Tied quantiles
merge, so a mass of equal values (the zero band gap of every metal) is one bin and there may be
fewer than N bins (``matbench_expt_gap`` with N=6: edges 0, 1.2, 2.32 eV, so 4 bins). Each labelled row joins the pretraining corpus as ``[NAME=bK]`` followed by its
input, spread evenly among the corpus rows (in an order drawn from the seed), so the model learns
both the unconditioned and the conditioned distribution. Rows of the corpus get no token.

What a model keeps (``chemtl.json`` ``conditions``): per name, the ``edges``, the ``tokens``, the
``range`` [min, max] of the labelled values and the ``source`` (dataset, column, rows, sha256).
At generation ``condition_token(conditions, name, value)`` maps a value to its bin's token; a
name the model was not conditioned on, or a value outside the labelled range, is a one-line
error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError, DataError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConditionError(ChemtlError, ValueError):
    """A condition the model cannot take (unknown name, value outside the learned bins)."""


def parse_condition_spec(spec: str) -> tuple[str, str, str | None]:
    """``"band_gap:matbench_expt_gap"`` -> (name, dataset, column or None)."""
    name, sep, rest = str(spec).partition(":")
    if not sep or not rest:
        raise ConditionError(f"condition {spec!r} is not NAME:DATASET[:COL]")
    if not _NAME.fullmatch(name):
        raise ConditionError(f"condition name {name!r} in {spec!r} must be letters, digits and _")
    dataset, sep, column = rest.rpartition(":")
    if not sep:
        return name, rest, None
    return name, dataset, column or None


def condition_tokens(name: str, n_bins: int) -> list[str]:
    """``[name=b0]`` .. ``[name=b{n-1}]``."""
    return [f"[{name}=b{k}]" for k in range(n_bins)]


def quantile_edges(values: np.ndarray, n_bins: int) -> list[float]:
    """The distinct quantiles ``k/n_bins`` (k = 1..n_bins-1) of ``values``, ascending."""
    return [float(x) for x in np.unique(np.quantile(values, np.arange(1, n_bins) / n_bins))]


def bin_index(edges: Sequence[float], value: float) -> int:
    """The bin of ``value``: the number of edges strictly below it."""
    return int(np.searchsorted(np.asarray(edges, dtype=np.float64), value, side="left"))


def bin_values(condition: dict[str, Any]) -> list[float]:
    """One value inside each bin of a kept ``condition`` (its ``edges`` and ``range``), the value a
    benchmark asks for to sample that bin: the first edge for bin 0 (it holds the values up to it,
    the point mass of equal values where one made the edge), the midpoint of the two edges for an
    inner bin, the midpoint of the last edge and the range's maximum for the last bin."""
    edges = [float(e) for e in condition["edges"]]
    hi = float(condition["range"][1])
    values = [edges[0]] + [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    return values + [(edges[-1] + hi) / 2]


def build_conditions(
    specs: Sequence[str], n_bins: int, kind: str, seed: int, repeat: int = 1
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Conditioned rows (``[NAME=bK]input``, each ``repeat`` times, shuffled with ``seed``) and
    what the model keeps."""
    from chemtl.data import load_dataset
    from chemtl.seeds import derive_seed

    rows: list[str] = []
    kept: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, dataset, column = parse_condition_spec(spec)
        ds = load_dataset(dataset, target_col=column, kind=kind)
        if ds.kind != kind:
            raise DataError(f"condition {spec!r}: {dataset!r} holds {ds.kind} inputs, the corpus {kind}")
        if ds.targets is None or ds.task != "regression":
            raise DataError(f"condition {spec!r}: {dataset!r} has no numeric target column")
        values = np.asarray(ds.targets, dtype=np.float64)
        have = np.isfinite(values)
        if have.sum() < n_bins:
            raise DataError(f"condition {spec!r}: {int(have.sum())} labelled rows, fewer than {n_bins} bins")
        values = values[have]
        inputs = [s for s, h in zip(ds.inputs, have) if h]
        edges = quantile_edges(values, n_bins)
        tokens = condition_tokens(name, len(edges) + 1)
        bins = np.searchsorted(np.asarray(edges), values, side="left")
        rows += [f"{tokens[int(b)]}{s}" for s, b in zip(inputs, bins)]
        kept[name] = {
            "edges": edges,
            "tokens": tokens,
            "range": [float(values.min()), float(values.max())],
            "counts": np.bincount(bins, minlength=len(tokens)).tolist(),
            "repeat": int(repeat),
            "source": {
                "dataset": dataset,
                "column": column or ds.info.get("target_col"),
                "rows": len(inputs),
                "sha256": ds.info.get("sha256"),
            },
        }
    rows = rows * int(repeat)
    order = np.random.default_rng(derive_seed(seed, "conditions")).permutation(len(rows))
    return [rows[i] for i in order], kept


def mixed_rows(
    open_rows: Callable[[], Iterator[str]], n_corpus: int, labelled: Sequence[str]
) -> Callable[[], Iterator[str]]:
    """A re-openable stream of the corpus with ``labelled`` rows spread evenly among its rows."""
    n_l = len(labelled)

    def stream() -> Iterator[str]:
        j = 0
        for i, row in enumerate(open_rows()):
            yield row
            while j < n_l and (j + 1) * n_corpus <= (i + 1) * n_l:
                yield labelled[j]
                j += 1
        yield from labelled[j:]

    return stream


def condition_token(conditions: dict[str, dict[str, Any]], name: str, value: float) -> str:
    """The token of ``value``'s bin for property ``name`` (see the module docstring)."""
    if name not in conditions:
        known = ", ".join(sorted(conditions)) or "none"
        raise ConditionError(
            f"condition {name!r}: the model was not conditioned on it (its conditions: {known})"
        )
    c = conditions[name]
    lo, hi = c["range"]
    if not np.isfinite(value) or not lo <= value <= hi:
        raise ConditionError(
            f"condition {name}={value:g} is outside the learned bins, which span {lo:g} to {hi:g}"
        )
    return c["tokens"][bin_index(c["edges"], value)]


__all__ = [
    "ConditionError",
    "bin_index",
    "bin_values",
    "build_conditions",
    "condition_token",
    "condition_tokens",
    "mixed_rows",
    "parse_condition_spec",
    "quantile_edges",
]
