"""SELFIES strings (``[C][C][O]``) encoded, decoded, split and validated with the selfies library.

A SELFIES string here is a concatenation of bracketed symbols (``[C]``, ``[=Branch1]``,
``[Ring1]``) and ``.`` fragment separators, with outer white space ignored. Anything else in it
(``C[C]``, a space, an unclosed ``[``) is an ``InvalidSelfiesError``: the selfies library itself
silently drops such text. A SELFIES that decodes to no atoms (``[nop]``, ``[Branch1]``) is invalid
too.
"""

from __future__ import annotations

import re

import selfies as sf

from chemtl.chem.smiles import canonicalize_smiles, parse_smiles
from chemtl.errors import InvalidSelfiesError, InvalidSmilesError

_SYMBOL = re.compile(r"\[[^\[\]\s]+\]|\.")
_SELFIES = re.compile(r"(?:\[[^\[\]\s]+\]|\.)+")


def _fail(s: object, why: str) -> InvalidSelfiesError:
    return InvalidSelfiesError(f"invalid SELFIES {s!r}: {why}")


def _short(message: str) -> str:
    """The first line of a selfies library error, without the echo of the input."""
    return " ".join(str(message).splitlines()[0].split()) if str(message).strip() else "cannot decode"


def looks_like_selfies(s: str) -> bool:
    """True when ``s`` (stripped) is made only of ``[..]`` symbols and ``.``, with at least one symbol."""
    if not isinstance(s, str):
        return False
    text = s.strip()
    return bool(_SELFIES.fullmatch(text)) and "[" in text


def split_selfies(s: str) -> list[str]:
    """Split ``s`` into its symbols (``"[C][=O]"`` -> ``["[C]", "[=O]"]``), ``.`` kept as a symbol.

    Raise ``InvalidSelfiesError`` for a string that is not made only of ``[..]`` symbols and ``.``.
    """
    if not isinstance(s, str):
        raise _fail(s, "expected a string")
    text = s.strip()
    if not text:
        raise _fail(s, "empty")
    pos = 0
    symbols = []
    while pos < len(text):
        m = _SYMBOL.match(text, pos)
        if m is None:
            raise _fail(s, f"unexpected text {text[pos:]!r} at position {pos}; expected '[symbol]' or '.'")
        symbols.append(m.group())
        pos = m.end()
    if all(sym == "." for sym in symbols):
        raise _fail(s, "no symbol")
    return symbols


def selfies_to_smiles(s: str, canonical: bool = False) -> str:
    """Decode ``s`` into SMILES: the decoder's output, or RDKit's canonical form with ``canonical``.

    Raise ``InvalidSelfiesError`` naming the value when ``s`` is malformed, holds an unknown symbol
    or decodes to no atoms.
    """
    split_selfies(s)
    text = s.strip()
    try:
        smiles = sf.decoder(text)
    except sf.DecoderError as exc:
        raise _fail(s, _short(str(exc))) from None
    if not smiles or not smiles.replace(".", ""):
        raise _fail(s, "decodes to no atoms")
    try:
        return canonicalize_smiles(smiles, canonical=canonical)
    except InvalidSmilesError as exc:
        raise _fail(s, f"decodes to SMILES RDKit cannot read ({exc})") from None


def smiles_to_selfies(s: str) -> str:
    """Encode the SMILES ``s`` (validated with RDKit first) as SELFIES.

    The input is encoded as written, keeping its atom order. Where the selfies encoder rejects
    that spelling but RDKit reads it (RDKit normalises ``N(=O)=O`` nitro groups to charge-separated
    form, which selfies' valence rules then accept), RDKit's sanitised SMILES in the same atom
    order is encoded instead. Raise ``InvalidSmilesError`` naming the value when RDKit cannot read
    ``s`` or neither spelling can be encoded (e.g. ``*`` atoms, a valence beyond selfies' default
    constraints).
    """
    from rdkit import Chem

    mol = parse_smiles(s)
    text = s.strip()
    try:
        return sf.encoder(text, strict=True)
    except sf.EncoderError as exc:
        first_error = exc
    try:
        return sf.encoder(Chem.MolToSmiles(mol, canonical=False), strict=True)
    except sf.EncoderError:
        pass
    message = str(first_error)
    reason = " ".join(message.split("\n")[0].split())
    details = [line.strip().strip("[]") for line in message.splitlines() if line.strip().startswith("[")]
    if details:
        reason = f"{reason}: {'; '.join(dict.fromkeys(details))}"
    raise InvalidSmilesError(f"invalid SMILES {s!r}: cannot be encoded as SELFIES: {reason}") from None


def is_valid_selfies(s: str) -> bool:
    """True when ``selfies_to_smiles(s)`` succeeds."""
    try:
        selfies_to_smiles(s)
    except InvalidSelfiesError:
        return False
    return True


def canonicalize_selfies(s: str) -> str:
    """Validate ``s`` and re-encode it from RDKit's canonical SMILES of the molecule it decodes to."""
    smiles = selfies_to_smiles(s, canonical=True)
    try:
        return sf.encoder(smiles, strict=True)
    except sf.EncoderError as exc:
        raise _fail(s, _short(str(exc))) from None


__all__ = [
    "canonicalize_selfies",
    "is_valid_selfies",
    "looks_like_selfies",
    "selfies_to_smiles",
    "smiles_to_selfies",
    "split_selfies",
]
