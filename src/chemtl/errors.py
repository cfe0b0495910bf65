"""User-facing errors.

Every error a user can cause by what they pass in (a bad formula, a missing column, a NaN target)
is a ``ChemtlError``. The CLI prints its message as one line on stderr and exits with status 2,
without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ChemtlError(Exception):
    """Base class for errors caused by user input; the message names the bad value."""


class InvalidFormulaError(ChemtlError, ValueError):
    """A composition string that is not a valid chemical formula."""


class InvalidSmilesError(ChemtlError, ValueError):
    """A SMILES string that RDKit cannot parse."""


class InvalidSelfiesError(ChemtlError, ValueError):
    """A SELFIES string that the selfies library cannot decode."""


class TokenizationError(ChemtlError, ValueError):
    """Input the tokenizer cannot encode as asked (too long with truncation off, unknown kind)."""


class DataError(ChemtlError, ValueError):
    """A data file or dataset that cannot be used as asked (missing column, empty, NaN target)."""


class LeakageError(ChemtlError):
    """A split puts the same compound on both sides."""


def with_row(error: ChemtlError, row: int | None, column: str | None = None) -> ChemtlError:
    """Return a copy of ``error`` whose message says where in a file the bad value was.

    ``row`` is the 1-based data row (the header is row 0), as a spreadsheet user counts.
    """
    where = f"row {row}" if row is not None else ""
    if column:
        where = f"{where}, column {column!r}" if where else f"column {column!r}"
    return type(error)(f"{where}: {error}" if where else str(error))
