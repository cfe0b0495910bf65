"""SMILES strings parsed, canonicalised, randomised and reduced to scaffolds with RDKit.

Every function takes a SMILES string and raises ``InvalidSmilesError`` naming the value (and,
where RDKit gives one, its reason) when RDKit cannot read it. RDKit's own log lines are captured,
never printed, so a bad SMILES gives one clean message.

Leading and trailing white space is ignored; white space inside a SMILES is an error (RDKit would
silently read ``"CCO ethanol"`` as ``CCO`` named "ethanol", and ``"CC O"`` as ``CC``). The empty
string is an error (RDKit reads it as a molecule with no atoms).
"""

from __future__ import annotations

import re

from rdkit import Chem, rdBase

from chemtl.errors import InvalidSmilesError

_TIMESTAMP = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*")
_POSITION = re.compile(r"check for mistakes around position (\d+)")


def _fail(s: object, why: str) -> InvalidSmilesError:
    return InvalidSmilesError(f"invalid SMILES {s!r}: {why}")


def _reason(log: str) -> str:
    """Turn RDKit's captured error log into one short reason."""
    lines = [_TIMESTAMP.sub("", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "RDKit cannot parse it"
    first = lines[0].removeprefix("SMILES Parse Error:").strip()
    for cut in (" while parsing:", " for input:"):
        first = first.split(cut)[0]
    first = " ".join(first.split()).rstrip(".")
    position = _POSITION.search(log)
    if position:
        first = f"{first} at position {position.group(1)}"
    return first


def parse_smiles(s: str) -> Chem.Mol:
    """Parse ``s`` into a sanitised RDKit ``Mol``; raise ``InvalidSmilesError`` naming the value."""
    if not isinstance(s, str):
        raise _fail(s, "expected a string")
    text = s.strip()
    if not text:
        raise _fail(s, "empty")
    if any(c.isspace() for c in text):
        raise _fail(s, "white space inside a SMILES")
    if not text.isascii():  # RDKit's log would also cut a multi-byte character in half
        bad = next(c for c in text if not c.isascii())
        raise _fail(s, f"non-ASCII character {bad!r}")
    # BlockLogs silences RDKit's warnings; the inner capture still records its errors.
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        try:
            mol = Chem.MolFromSmiles(text)
        except Exception as exc:  # RDKit raises only for pathological input; keep it a user error
            raise _fail(s, str(exc) or type(exc).__name__) from None
    if mol is None:
        raise _fail(s, _reason(capture.messages))
    if mol.GetNumAtoms() == 0:
        raise _fail(s, "no atoms")
    return mol


def _to_smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol, isomericSmiles=True, canonical=True)


def canonicalize_smiles(s: str, canonical: bool = True) -> str:
    """Validate ``s`` and return it as a string ready for tokenising.

    ``canonical=True`` gives RDKit's canonical isomeric SMILES (``"OCC"`` -> ``"CCO"``);
    ``canonical=False`` only validates and returns the input with outer white space stripped,
    never otherwise altered.
    """
    mol = parse_smiles(s)
    return _to_smiles(mol) if canonical else s.strip()


def is_valid_smiles(s: str) -> bool:
    """True when ``parse_smiles(s)`` succeeds."""
    try:
        parse_smiles(s)
    except InvalidSmilesError:
        return False
    return True


def randomize_smiles(s: str, n: int, seed: int) -> list[str]:
    """Return ``n`` randomised SMILES of the molecule in ``s`` (SMILES enumeration for augmentation).

    Each is written from a random starting atom and branch order (RDKit ``doRandom``), keeps
    stereochemistry, and canonicalises back to ``canonicalize_smiles(s)``. The list is the same
    for the same ``s``, ``n`` and ``seed`` (any int; RDKit's seed 0 would mean "unseeded", so the
    seed is mapped to ``seed mod (2**31 - 1) + 1``), and the list for a smaller ``n`` is a prefix
    of the list for a larger one. Entries may repeat, and may equal the canonical form, for small
    molecules with few distinct spellings.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    mol = parse_smiles(s)
    if n == 0:
        return []
    rdkit_seed = seed % (2**31 - 1) + 1  # RDKit treats seeds <= 0 and >= 2**31 as unseeded
    return list(Chem.MolToRandomSmilesVect(mol, n, randomSeed=rdkit_seed, isomericSmiles=True))


def murcko_scaffold(s: str, generic: bool = False) -> str:
    """Bemis-Murcko scaffold of ``s`` as canonical SMILES (the key of a scaffold split).

    The scaffold keeps ring systems and the linkers between them, and atoms double-bonded to them
    (RDKit's ``GetScaffoldForMol``); stereochemistry is dropped, as in chemprop's and DeepChem's
    scaffold splits. ``generic=True`` also turns every atom into carbon and every bond into a
    single bond (RDKit's ``MakeScaffoldGeneric``). An acyclic molecule has no rings and gives the
    empty string ``""``, so all acyclic molecules share one scaffold group.
    """
    from rdkit.Chem.Scaffolds import MurckoScaffold

    mol = parse_smiles(s)
    if mol.GetRingInfo().NumRings() == 0:
        return ""
    scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    if generic:
        scaffold = MurckoScaffold.MakeScaffoldGeneric(scaffold)
    return Chem.MolToSmiles(scaffold, isomericSmiles=False, canonical=True)
