"""Simple fixed-length features for cluster splits and diversity checks (not for models).

- compositions: the element-fraction vector, 118 columns in atomic-number order (H..Og);
- SMILES / SELFIES: a Morgan (ECFP4-like) bit fingerprint, radius 2, 2048 bits.

Both depend only on the compound (the same reduced formula, or the same molecule written
differently, gives the same row), so a cluster split never separates duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chemtl.chem.kinds import check_kind


def element_fraction_matrix(formulas: Sequence[str]) -> np.ndarray:
    """(N, 118) float32 atomic fractions, columns in atomic-number order."""
    from chemtl.chem.composition import element_symbols_by_z, parse_composition

    column = {symbol: z for z, symbol in enumerate(element_symbols_by_z())}
    out = np.zeros((len(formulas), len(column)), dtype=np.float32)
    for i, formula in enumerate(formulas):
        parsed = parse_composition(formula)
        for element, fraction in zip(parsed.elements, parsed.fractions):
            out[i, column[element]] += fraction
    return out


def morgan_matrix(smiles: Sequence[str], radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """(N, n_bits) uint8 Morgan fingerprint bits."""
    from rdkit.Chem import rdFingerprintGenerator

    from chemtl.chem.smiles import parse_smiles

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    for i, s in enumerate(smiles):
        out[i] = generator.GetFingerprintAsNumPy(parse_smiles(s))
    return out


def featurize(inputs: Sequence[str], kind: str) -> np.ndarray:
    """Features of ``inputs`` by kind (see the module docstring)."""
    check_kind(kind)
    if kind == "composition":
        return element_fraction_matrix(inputs)
    if kind == "selfies":
        from chemtl.chem.selfies import selfies_to_smiles

        inputs = [selfies_to_smiles(s) for s in inputs]
    return morgan_matrix(inputs)
