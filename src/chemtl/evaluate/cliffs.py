"""Activity cliffs as MoleculeACE defines them (van Tilborg, Alenicheva, Grisoni, J. Chem. Inf.
Model. 62, 5938 (2022); its ``MoleculeACE/benchmark/cliffs.py``, version 3.0.0).

Two molecules form an activity-cliff pair when they are *similar* and their potencies differ by
*more than* ``POTENCY_FOLD`` (10) times. Similar means at least one of three similarities is at
least ``SIMILARITY`` (0.9):

- ``tanimoto_similarity``: Tanimoto on ECFP4 bits (RDKit Morgan, radius 2, 1024 bits) of the
  molecules;
- ``scaffold_similarity``: Tanimoto on the same bits of the molecules' generic graphs
  (RDKit ``MakeScaffoldGeneric``: every heavy atom carbon, every bond single, isotope labels kept
  as in the RDKit MoleculeACE used). MoleculeACE's code applies it to the whole molecule, side
  chains included, not to its Murcko scaffold; this module does the same (and, as MoleculeACE,
  falls back to the Murcko scaffold where RDKit fails);
- ``levenshtein_similarity``: ``1 - d / max(len(a), len(b))`` with ``d`` the Levenshtein
  distance between the two SMILES strings as written (rapidfuzz, the library under MoleculeACE's
  python-Levenshtein).

The fold difference is ``max(a, b) / min(a, b)`` of the potencies on a linear scale (the ``exp_mean
[nM]`` column of MoleculeACE's files, from which its ``cliff_mol`` column was computed). A cliff
molecule is one with at least one cliff partner in the set (``cliff_molecules``); MoleculeACE
labels cliffs on the whole set, train and test together, before splitting. ``cliff_rmse`` is the
RMSE on the cliff molecules among the scored rows (MoleculeACE's ``calc_cliff_rmse``).

MoleculeACE's own pair check ``is_cliff`` uses ``>=`` 10 fold where ``find_cliffs`` (which made the
shipped labels) uses ``>``; this module follows ``find_cliffs`` everywhere.

    is_cliff_pair("CCOc1ccccc1", "CCOc1ccccc1C", 1.0, 50.0)          # similarity and fold -> bool
    cliff_molecules(smiles, potencies_nm)                           # (N,) bool
    cliff_rmse(y_true, y_pred, cliff_mask)                          # float, None without cliffs
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chemtl.errors import ChemtlError

SIMILARITY = 0.9
POTENCY_FOLD = 10.0
ECFP_RADIUS = 2
ECFP_BITS = 1024
MEASURES = ("tanimoto", "scaffold", "levenshtein")


def _mol(smiles: str):
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ChemtlError(f"cannot parse SMILES {smiles!r}")
    return mol


def _generator():
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=ECFP_RADIUS, fpSize=ECFP_BITS)


ISOTOPE_PROP = "_chemtl_isotope"


def generic_graph(mol, keep_isotopes: bool = True):
    """MoleculeACE's "scaffold": ``MakeScaffoldGeneric`` of the whole molecule (its Murcko scaffold
    where that fails). With ``keep_isotopes`` (the default) an atom keeps its isotope label, as the
    RDKit that made MoleculeACE's labels did; current RDKit's ``MakeScaffoldGeneric`` resets it, and
    five isotope-labelled molecules of the 30 sets would then count as cliffs that MoleculeACE's
    files do not flag."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds.MurckoScaffold import GetScaffoldForMol, MakeScaffoldGeneric

    if keep_isotopes:
        mol = Chem.Mol(mol)
        for atom in mol.GetAtoms():
            if atom.GetIsotope():
                atom.SetIntProp(ISOTOPE_PROP, atom.GetIsotope())
    try:
        generic = MakeScaffoldGeneric(mol)
    except Exception:  # RDKit raises several kinds here; MoleculeACE catches them all the same
        return GetScaffoldForMol(mol)
    if keep_isotopes:
        for atom in generic.GetAtoms():
            if atom.HasProp(ISOTOPE_PROP):
                atom.SetIsotope(atom.GetIntProp(ISOTOPE_PROP))
    return generic


def _fingerprints(smiles: Sequence[str], scaffold: bool) -> list:
    gen = _generator()
    out = []
    for s in smiles:
        mol = _mol(s)
        out.append(gen.GetFingerprint(generic_graph(mol) if scaffold else mol))
    return out


def tanimoto_similarity(a: str, b: str) -> float:
    """Tanimoto similarity of the ECFP4 bits (radius 2, 1024 bits) of two SMILES."""
    from rdkit import DataStructs

    fa, fb = _fingerprints([a, b], scaffold=False)
    return float(DataStructs.TanimotoSimilarity(fa, fb))


def scaffold_similarity(a: str, b: str) -> float:
    """Tanimoto similarity of the ECFP4 bits of the two molecules' generic graphs."""
    from rdkit import DataStructs

    fa, fb = _fingerprints([a, b], scaffold=True)
    return float(DataStructs.TanimotoSimilarity(fa, fb))


def levenshtein_similarity(a: str, b: str) -> float:
    """``1 - levenshtein(a, b) / max(len(a), len(b))`` on the SMILES strings as written."""
    return float(_levenshtein_matrix([a], [b])[0, 0])


def fold_difference(a: float, b: float) -> float:
    """``max(a, b) / min(a, b)``: how many times one potency (linear scale, e.g. nM) is the other."""
    if not (a > 0 and b > 0) or not (np.isfinite(a) and np.isfinite(b)):
        raise ChemtlError(f"fold difference needs positive finite potencies, got {a!r} and {b!r}")
    return max(a, b) / min(a, b)


def similarities(a: str, b: str) -> dict[str, float]:
    """The three similarities of a pair of SMILES, by name (``MEASURES``)."""
    return {
        "tanimoto": tanimoto_similarity(a, b),
        "scaffold": scaffold_similarity(a, b),
        "levenshtein": levenshtein_similarity(a, b),
    }


def is_similar_pair(a: str, b: str, similarity: float = SIMILARITY) -> bool:
    """At least one of the three similarities is ``>= similarity``."""
    return any(v >= similarity for v in similarities(a, b).values())


def is_cliff_pair(
    smiles_a: str,
    smiles_b: str,
    potency_a: float,
    potency_b: float,
    similarity: float = SIMILARITY,
    potency_fold: float = POTENCY_FOLD,
) -> bool:
    """Similar (``is_similar_pair``) and potencies more than ``potency_fold`` times apart."""
    return fold_difference(potency_a, potency_b) > potency_fold and is_similar_pair(
        smiles_a, smiles_b, similarity
    )


def _levenshtein_matrix(rows: Sequence[str], cols: Sequence[str]) -> np.ndarray:
    """(len(rows), len(cols)) float64 ``1 - d / max(len)``, computed as MoleculeACE does."""
    try:
        from rapidfuzz.distance import Levenshtein
        from rapidfuzz.process import cdist
    except ImportError:
        raise ChemtlError("the Levenshtein similarity needs rapidfuzz (pip install rapidfuzz)") from None

    dist = cdist(list(rows), list(cols), scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    longest = np.maximum.outer(
        np.array([len(s) for s in rows], dtype=np.int64), np.array([len(s) for s in cols], dtype=np.int64)
    )
    return 1.0 - dist / np.maximum(longest, 1)


def _tanimoto_matrix(fps: list) -> np.ndarray:
    from rdkit import DataStructs

    return np.array([DataStructs.BulkTanimotoSimilarity(fp, fps) for fp in fps], dtype=np.float64)


def similar_matrix(smiles: Sequence[str], similarity: float = SIMILARITY) -> np.ndarray:
    """(N, N) bool: pair ``(i, j)`` is similar by any of the three measures; the diagonal False."""
    smiles = list(smiles)
    out = _tanimoto_matrix(_fingerprints(smiles, scaffold=False)) >= similarity
    out |= _tanimoto_matrix(_fingerprints(smiles, scaffold=True)) >= similarity
    out |= _levenshtein_matrix(smiles, smiles) >= similarity
    np.fill_diagonal(out, False)
    return out


def cliff_matrix(
    smiles: Sequence[str],
    potencies: Sequence[float],
    similarity: float = SIMILARITY,
    potency_fold: float = POTENCY_FOLD,
) -> np.ndarray:
    """(N, N) bool: pair ``(i, j)`` is an activity cliff (similar, potencies > fold apart)."""
    pot = np.asarray(potencies, dtype=np.float64)
    if pot.ndim != 1 or len(pot) != len(smiles):
        raise ChemtlError(f"{len(smiles)} SMILES but {pot.size} potencies")
    bad = np.flatnonzero(~(np.isfinite(pot) & (pot > 0)))
    if len(bad):
        raise ChemtlError(f"row {bad[0] + 1}: potency {float(pot[bad[0]])!r} is not a positive number")
    fold = np.maximum.outer(pot, pot) / np.minimum.outer(pot, pot)
    return similar_matrix(smiles, similarity) & (fold > potency_fold)


def cliff_molecules(
    smiles: Sequence[str],
    potencies: Sequence[float],
    similarity: float = SIMILARITY,
    potency_fold: float = POTENCY_FOLD,
) -> np.ndarray:
    """(N,) bool: the molecule has at least one activity-cliff partner among ``smiles``.
    ``potencies`` on a linear scale (nM, as MoleculeACE's ``exp_mean [nM]``)."""
    return cliff_matrix(smiles, potencies, similarity, potency_fold).any(axis=1)


def cliff_rmse(y_true, y_pred, cliff_mask) -> float | None:
    """RMSE over the rows flagged in ``cliff_mask``; None when none is flagged."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    m = np.asarray(cliff_mask).astype(bool)
    if not (t.shape == p.shape == m.shape) or t.ndim != 1:
        raise ChemtlError(f"cliff RMSE needs three equal-length vectors, got {t.shape}, {p.shape}, {m.shape}")
    if not m.any():
        return None
    return float(np.sqrt(np.mean(np.square(t[m] - p[m]))))
