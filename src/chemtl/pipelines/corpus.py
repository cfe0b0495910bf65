"""Corpora for pretraining, as re-openable streams: a name, a row count and ``open_rows()``.

A corpus never has to sit in memory: MOSES is read line by line from its gzip, a user file
(``.csv``/``.csv.gz`` with a header, or ``.txt``/``.smi`` with one string per line) likewise, and the
inorganic composition corpus from chemtl's cache file of it. Only a bounded shuffle buffer of
rows is held while training (see ``chemtl.training.data.StreamingBatches``).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.errors import ChemtlError, DataError

INPUT_COLUMNS = ("formula", "composition", "smiles", "selfies")


@dataclass
class Corpus:
    """``open_rows()`` gives a fresh iterator over the ``n_rows`` strings, in a fixed order."""

    name: str
    kind: str
    n_rows: int
    open_rows: Callable[[], Iterator[str]]
    info: dict[str, Any] = field(default_factory=dict)

    def head(self, n: int) -> list[str]:
        return list(itertools.islice(self.open_rows(), n))


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _stream_file(path: Path, column: str | None) -> Iterator[str]:
    plain = path.name.removesuffix(".gz").rsplit(".", 1)[-1].lower() in ("txt", "smi", "smiles")
    with _open_text(path) as handle:
        if plain:
            for line in handle:
                text = line.strip().split()[0] if line.strip() else ""
                if text:
                    yield text
            return
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        index = _pick_column(header, column, path)
        for record in reader:
            if len(record) > index and record[index].strip():
                yield record[index].strip()


def _pick_column(header: list[str], column: str | None, path: Path) -> int:
    if column is not None:
        if column not in header:
            raise DataError(f"{path}: no column {column!r} (columns: {', '.join(header)})")
        return header.index(column)
    for name in INPUT_COLUMNS:
        for i, h in enumerate(header):
            if h.strip().lower() == name:
                return i
    return 0


def _limited(open_rows: Callable[[], Iterator[str]], limit: int | None) -> Callable[[], Iterator[str]]:
    if limit is None:
        return open_rows
    return lambda: itertools.islice(open_rows(), limit)


def as_selfies(corpus: Corpus) -> Corpus:
    """A SMILES corpus read as SELFIES (``chemtl.chem.selfies.smiles_to_selfies`` row by row, as
    the rows stream): ``--kind selfies`` on ``moses``. A row selfies cannot encode is dropped, so
    ``n_rows`` (the SMILES rows) is an upper bound; MOSES has none such in its first 100k rows."""
    from dataclasses import replace

    from chemtl.chem.selfies import smiles_to_selfies

    def rows() -> Iterator[str]:
        for smiles in corpus.open_rows():
            try:
                yield smiles_to_selfies(smiles)
            except ChemtlError:
                continue

    info = {**corpus.info, "converted": "smiles_to_selfies"}
    return replace(corpus, kind="selfies", open_rows=rows, info=info)


def open_corpus(
    name_or_path: str, kind: str | None = None, input_col: str | None = None, limit: int | None = None
) -> Corpus:
    """A registered corpus (``moses``, ``inorganic_corpus``, any dataset's inputs) or a file."""
    from chemtl.data.registry import get_spec, is_registered

    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive integer, got {limit!r}")
    text = os.fspath(name_or_path)
    path = Path(text)
    if kind == "selfies" and is_registered(text) and not path.is_file() and get_spec(text).kind == "smiles":
        return as_selfies(open_corpus(text, "smiles", input_col, limit))
    if is_registered(text) and not path.is_file():
        spec = get_spec(text)
        if kind is not None and kind != spec.kind:
            raise DataError(f"corpus {text!r} holds {spec.kind} inputs, not {kind}")
        if spec.reader == "smiles_gz":
            from chemtl.data import load_dataset

            stream = load_dataset(text)
            n = len(stream) if limit is None else min(limit, len(stream))
            return Corpus(text, spec.kind, n, _limited(lambda: iter(stream), limit), dict(stream.info))
        from chemtl.data import load_dataset

        ds = load_dataset(text, input_col=input_col)
        cache = ds.info.get("cache_path")
        n = len(ds) if limit is None else min(limit, len(ds))
        info = dict(ds.info)
        if cache and Path(cache).is_file():
            del ds  # stream the cache file rather than hold the list
            cache_path = Path(cache)
            return Corpus(
                text, spec.kind, n, _limited(lambda: _stream_file(cache_path, "formula"), limit), info
            )
        inputs = ds.inputs
        return Corpus(text, ds.kind, n, _limited(lambda: iter(inputs), limit), info)
    if not path.is_file():
        get_spec(text)  # "unknown dataset ..., did you mean ..." for a mistyped name
        raise DataError(f"corpus file {text!r} does not exist")
    from chemtl.data.files import sha256_file

    n = sum(1 for _ in _stream_file(path, input_col))
    if n == 0:
        raise DataError(f"corpus file {text!r} holds no rows")
    if kind is None:
        from chemtl.chem.kinds import detect_kind

        kind = detect_kind(list(itertools.islice(_stream_file(path, input_col), 200)))
    n = n if limit is None else min(limit, n)
    info = {
        "name": path.name,
        "source": "file",
        "path": str(path.resolve()),
        "sha256": sha256_file(path),
        "rows": n,
    }
    return Corpus(path.name, kind, n, _limited(lambda: _stream_file(path, input_col), limit), info)
