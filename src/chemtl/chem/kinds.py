"""The three kinds of input string chemtl handles, and how to tell them apart.

``KINDS`` is ``("composition", "smiles", "selfies")``. ``validate`` checks one value against its
kind and returns the normalised string; ``detect_kind`` guesses the kind of a column of values.
"""

from __future__ import annotations

from collections.abc import Sequence

from chemtl.chem.composition import is_valid_formula, parse_composition
from chemtl.chem.selfies import canonicalize_selfies, looks_like_selfies, selfies_to_smiles
from chemtl.chem.smiles import canonicalize_smiles, is_valid_smiles
from chemtl.errors import ChemtlError

KINDS = ("composition", "smiles", "selfies")
DETECT_THRESHOLD = 0.9


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is one of ``KINDS``; raise ``ChemtlError`` naming it otherwise."""
    if kind not in KINDS:
        raise ChemtlError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return kind


def validate(value: str, kind: str, canonical: bool = False) -> str:
    """Check ``value`` as a ``kind`` string and return it normalised; raise the kind's error.

    - composition: the stripped input (``InvalidFormulaError``); ``canonical`` is ignored, the
      formula is kept as written so the element order the tokenizer sees is the user's.
    - smiles: RDKit's canonical SMILES with ``canonical``, else the stripped input
      (``InvalidSmilesError``).
    - selfies: the stripped input, or with ``canonical`` the SELFIES of RDKit's canonical SMILES
      of the decoded molecule (``InvalidSelfiesError``).
    """
    check_kind(kind)
    if kind == "composition":
        return parse_composition(value).formula
    if kind == "smiles":
        return canonicalize_smiles(value, canonical=canonical)
    if canonical:
        return canonicalize_selfies(value)
    selfies_to_smiles(value)
    return value.strip()


def detect_kind(values: Sequence[str], sample: int = 200) -> str:
    """Guess whether ``values`` are compositions, SMILES or SELFIES; raise ``ChemtlError`` if unsure.

    The first ``sample`` non-empty values (after stripping; non-strings count as unparsable) are
    inspected, in order, so the answer is deterministic:

    1. every value is made only of ``[..]`` symbols and ``.`` (``[C][C][O]``) -> ``"selfies"``;
       SELFIES-shaped strings are rarely meant as anything else, though ``[C][C][O]`` is also
       a valid SMILES.
    2. Each value is tried as a formula (``parse_composition``) and as a SMILES (RDKit). A kind
       *fits* when at least 90% of the values parse as it.
    3. If only one kind fits, that kind. If both fit, the values are ambiguous strings such as
       ``CO``, ``NO``, ``CCO``, ``CC(C)C``, ``C1CCCCC1`` (all valid formulas *and* SMILES): the
       kind with more *exclusive* values wins -- values only a formula can be (``Fe2O3``,
       ``NaN``, decimals such as ``Ba0.5``, ``Ag(AuS)2``) against values only a SMILES can be
       (``c1ccccc1``, ``C=O``, ``C#N``, ``[Na+]``). A tie, including a column where every value
       is both, gives ``"composition"``: ``smiles`` is chosen only when some value is not a valid
       formula and outweighs the formula-only ones.
    4. If neither fits, ``ChemtlError`` naming the share that parsed as each kind and an example
       of a value that parsed as neither, and asking for ``--kind``.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f"sample must be a positive integer, got {sample!r}")
    picked: list[object] = []
    for value in values:
        if isinstance(value, str) and not value.strip():
            continue
        picked.append(value.strip() if isinstance(value, str) else value)
        if len(picked) >= sample:
            break
    if not picked:
        raise ChemtlError("cannot detect the kind of an empty column (no non-empty values); pass --kind")
    if all(looks_like_selfies(v) for v in picked):
        return "selfies"

    is_formula = [isinstance(v, str) and is_valid_formula(v) for v in picked]
    is_smiles = [isinstance(v, str) and is_valid_smiles(v) for v in picked]
    n = len(picked)
    formula_fits = sum(is_formula) >= DETECT_THRESHOLD * n
    smiles_fits = sum(is_smiles) >= DETECT_THRESHOLD * n
    if formula_fits and smiles_fits:
        only_formula = sum(f and not s for f, s in zip(is_formula, is_smiles))
        only_smiles = sum(s and not f for f, s in zip(is_formula, is_smiles))
        return "smiles" if only_smiles > only_formula else "composition"
    if formula_fits:
        return "composition"
    if smiles_fits:
        return "smiles"
    neither = [v for v, f, s in zip(picked, is_formula, is_smiles) if not f and not s]
    example = f"; e.g. {neither[0]!r} parses as neither" if neither else ""
    raise ChemtlError(
        f"cannot detect the kind of these values: of the first {n}, "
        f"{sum(is_formula) / n:.0%} parse as compositions and {sum(is_smiles) / n:.0%} as SMILES "
        f"(at least {DETECT_THRESHOLD:.0%} needed){example}; pass --kind composition, smiles or selfies"
    )
