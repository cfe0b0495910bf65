"""``select``: choose K compounds of a pool to label, diverse by a model's embeddings.

``select_table(model, data, n, method)`` reads the pool (a registered dataset or a csv file, every
column kept, as ``chemtl predict`` reads it: ``chemtl.pipelines.predict.load_table``), keeps one
row per compound (the first row of each compound key, ``chemtl.data.keys``: two spellings of one
compound are one candidate) and picks ``n`` of them with ``chemtl.transfer.fewshot.support``:

- ``kmeans``: k-means on the pooled encoder embeddings (``chemtl.pipelines.predict.embed``) with
  ``n`` centres, then the member nearest each centre (a later centre whose nearest member is
  taken gets its nearest unused one);
- ``random``: ``n`` rows uniformly at random.

The table: the input column (under its name in the file), the file's other columns in file
order, then ``selection_rank`` (1..n: centre order for k-means, draw order for random) and, for
k-means, ``cluster`` (the centre's number, 0..n-1); one row per chosen compound, in rank order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chemtl.errors import DataError

SELECT_COLUMNS = ("selection_rank", "cluster")


@dataclass
class SelectTable:
    """What ``select_table`` returns: the table to write, the pool read, the chosen row indices."""

    table: Any  # pandas.DataFrame
    dataset: Any  # chemtl.data.Dataset: the pool rows kept, in file order
    chosen: np.ndarray  # indices into dataset rows, in rank order
    candidates: int  # distinct compounds in the pool
    notes: list[str] = field(default_factory=list)


def select_table(
    model: str | os.PathLike,
    data: str | os.PathLike,
    n: int,
    *,
    method: str = "kmeans",
    seed: int = 0,
    input_col: str | None = None,
    kind: str | None = None,
    canonical: bool = False,
    skip_invalid: bool = False,
    skipped_path: str | os.PathLike | None = None,
    limit: int | None = None,
    batch_size: int = 256,
    max_length: int | None = None,
) -> SelectTable:
    """Choose ``n`` compounds of ``data`` by ``method`` (see the module docstring)."""
    import pandas as pd

    from chemtl.data.keys import compound_keys
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pipelines.predict import embed, load_table
    from chemtl.transfer.fewshot.support import SELECT_METHODS, SelectionError, select_rows

    if method not in SELECT_METHODS:
        raise SelectionError(
            f"unknown selection method {method!r}; choose one of {', '.join(SELECT_METHODS)}"
        )
    loaded = load_model_dir(model)
    ds, columns = load_table(
        data,
        model_kind=loaded.kind,
        input_col=input_col,
        kind=kind,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=skipped_path,
        limit=limit,
    )
    keys = compound_keys(ds.inputs, ds.kind)
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    pool = np.asarray(list(first.values()), dtype=np.int64)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SelectionError(f"--n must be an integer >= 1, got {n!r}")
    if n > len(pool):
        raise SelectionError(
            f"cannot select {n} compounds from {data}: it holds {len(pool)} distinct compounds"
            + (f" ({len(ds)} rows)" if len(pool) != len(ds) else "")
        )
    embeddings = None
    if method == "kmeans":
        embeddings = embed(model, [ds.inputs[i] for i in pool], batch_size=batch_size, max_length=max_length)
    picked = select_rows(method, n, n=len(pool), embeddings=embeddings, seed=seed)
    chosen = pool[picked]
    input_name = ds.info.get("input_col") or "input"
    ours = [input_name, "selection_rank"] + (["cluster"] if method == "kmeans" else [])
    clash = [c for c in columns if c in ours]
    if clash:
        raise DataError(
            f"{data}: column {clash[0]!r} has the name of a column select writes; rename it "
            f"(select writes {', '.join(ours[1:])})"
        )
    out = pd.DataFrame({input_name: [ds.inputs[i] for i in chosen]})
    for name, cells in columns.items():
        out[name] = [cells[i] for i in chosen]
    out["selection_rank"] = np.arange(1, n + 1)
    if method == "kmeans":
        out["cluster"] = np.arange(n)
    notes = []
    if len(pool) != len(ds):
        notes.append(
            f"{len(ds) - len(pool)} row(s) repeat a compound of an earlier row; one row per compound was a candidate"
        )
    return SelectTable(out, ds, chosen, len(pool), notes)
