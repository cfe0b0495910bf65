"""Compound keys: the identity used for duplicates, grouped splits and leakage checks.

- composition: the reduced formula after clearing fractions (``composition_key``): ``Fe4O6`` and
  ``Fe2O3`` are one compound, and so are ``Cu1.8S`` and ``Cu9S5``, or ``Te0.5Se0.5`` and ``TeSe``
  (pymatgen's ``reduced_formula`` alone leaves fractional formulas unreduced, and matbench_expt_gap
  holds such pairs);
- smiles: RDKit's canonical isomeric SMILES;
- selfies: the canonical SMILES of the decoded molecule.

A value that does not parse keys as itself (stripped), so a check never fails on it; loaders
validate inputs before they get here. Keys are cached per process: a split, a leakage check and a
summary of the same data pay for the parsing once. A reduced formula costs about 0.1 ms, so the
341k formulas of oqmd_bandgap take ~40 s the first time; SMILES are faster.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from fractions import Fraction
from math import lcm

from chemtl.chem.kinds import check_kind
from chemtl.errors import ChemtlError

_CACHE_MAX = 2_000_000
_CACHE: dict[str, dict[str, str]] = {"composition": {}, "smiles": {}, "selfies": {}}

KEY_NAMES = {"composition": "reduced formula", "smiles": "canonical SMILES", "selfies": "canonical SMILES"}


MAX_DENOMINATOR = 1000
MAX_INTEGER = 10000
_TOL = 1e-8


def composition_key(formula: str) -> str:
    """Reduced formula of ``formula`` with fractional amounts cleared where they are exact ratios.

    Amounts are divided by the smallest; when each ratio is within 1e-8 of a fraction with
    denominator at most 1000, they are scaled to integers (at most 10000) and pymatgen reduces them
    (``Cu1.8S`` -> ``Cu9S5``, ``Te0.5Se0.5`` -> ``TeSe``, ``Fe4O6`` -> ``Fe2O3``). Otherwise (alloys
    with many-digit fractions) the key is pymatgen's formula of the atomic fractions rounded to
    six decimals, so scaled copies still coincide. Raises ``InvalidFormulaError``.
    """
    from chemtl.chem.composition import parse_composition

    parsed = parse_composition(formula)
    with warnings.catch_warnings():  # pymatgen: "No Pauling electronegativity for Ar" (noble gases)
        warnings.filterwarnings("ignore", message="No Pauling electronegativity")
        return _reduced_formula(parsed.elements, parsed.amounts)


def _reduced_formula(elements: tuple[str, ...], amounts: tuple[float, ...]) -> str:
    from pymatgen.core import Composition

    if all(float(a).is_integer() for a in amounts):
        return Composition(dict(zip(elements, (int(a) for a in amounts)))).reduced_formula
    smallest = min(amounts)
    ratios = [a / smallest for a in amounts]
    fractions = [Fraction(r).limit_denominator(MAX_DENOMINATOR) for r in ratios]
    if all(abs(float(f) - r) <= _TOL for f, r in zip(fractions, ratios)):
        scale = lcm(*(f.denominator for f in fractions))
        integers = [int(f * scale) for f in fractions]
        if max(integers) <= MAX_INTEGER:
            return Composition(dict(zip(elements, integers))).reduced_formula
    total = sum(amounts)
    return Composition({el: round(a / total, 6) for el, a in zip(elements, amounts)}).reduced_formula


def _key(value: str, kind: str) -> str:
    try:
        if kind == "composition":
            return composition_key(value)
        if kind == "smiles":
            from chemtl.chem.smiles import canonicalize_smiles

            return canonicalize_smiles(value, canonical=True)
        from chemtl.chem.selfies import selfies_to_smiles

        return selfies_to_smiles(value, canonical=True)
    except ChemtlError:
        return value.strip() if isinstance(value, str) else str(value)


def compound_key(value: str, kind: str) -> str:
    """The key of one value (see the module docstring)."""
    return compound_keys([value], kind)[0]


def compound_keys(values: Sequence[str], kind: str) -> list[str]:
    """Keys of many values, in order (cached per process)."""
    check_kind(kind)
    cache = _CACHE[kind]
    missing = [v for v in dict.fromkeys(values) if v not in cache]
    if missing:
        if len(cache) + len(missing) > _CACHE_MAX:
            cache.clear()
        cache.update((v, _key(v, kind)) for v in missing)
    return [cache[v] for v in values]


def clear_cache() -> None:
    for cache in _CACHE.values():
        cache.clear()
