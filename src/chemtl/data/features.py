"""Fixed-length features of compounds.

For cluster splits and diversity checks (``featurize``):

- compositions: the element-fraction vector, 118 columns in atomic-number order (H..Og);
- SMILES / SELFIES: a Morgan (ECFP4-like) bit fingerprint, radius 2, 2048 bits.

Both depend only on the compound (the same reduced formula, or the same molecule written
differently, gives the same row), so a cluster split never separates duplicates.

For the hybrid property head (``--features``, ``molecule_features``), molecules only, as
Chemprop's feature generators: ``morgan`` (the same 2048 Morgan bits, radius 2, left unscaled:
they are 0/1 already) or ``rdkit`` (RDKit's 2D descriptors, ``rdkit.Chem.Descriptors``'s list,
computed by ``CalcMolDescriptors``; NaN or infinite values are missing). ``FeatureScaling``
standardises descriptors with the mean and standard deviation of the training rows; a missing
value becomes the training mean (0 after scaling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chemtl.chem.kinds import check_kind
from chemtl.errors import ChemtlError


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


MORGAN_RADIUS, MORGAN_BITS = 2, 2048
# ``--features`` values: the molecule feature sets the hybrid head can read.
FEATURE_SETS = ("morgan", "rdkit")


def rdkit_descriptor_names() -> list[str]:
    """The names of the installed RDKit's 2D descriptors, in its order (217 in RDKit 2026.09)."""
    from rdkit.Chem import Descriptors

    return [name for name, _ in Descriptors.descList]


def rdkit_descriptor_matrix(smiles: Sequence[str], names: Sequence[str] | None = None) -> np.ndarray:
    """(N, len(names)) float64 RDKit 2D descriptors (default: every one, ``rdkit_descriptor_names``);
    NaN where RDKit fails on a molecule or gives a NaN or infinite value."""
    from rdkit.Chem import Descriptors

    from chemtl.chem.smiles import parse_smiles

    names = rdkit_descriptor_names() if names is None else list(names)
    missing = sorted(set(names) - set(rdkit_descriptor_names()))
    if missing:
        raise ChemtlError(
            f"RDKit descriptor(s) {', '.join(missing)} are not in the installed RDKit; "
            "the model was trained with another RDKit version"
        )
    out = np.full((len(smiles), len(names)), np.nan, dtype=np.float64)
    for i, s in enumerate(smiles):
        values = Descriptors.CalcMolDescriptors(parse_smiles(s), missingVal=float("nan"))
        out[i] = [values[name] for name in names]
    out[~np.isfinite(out)] = np.nan
    return out


def as_smiles(inputs: Sequence[str], kind: str) -> Sequence[str]:
    """SMILES of molecule ``inputs``: SELFIES decoded, SMILES as they are."""
    if kind != "selfies":
        return inputs
    from chemtl.chem.selfies import selfies_to_smiles

    return [selfies_to_smiles(s) for s in inputs]


def molecule_features(
    inputs: Sequence[str], kind: str, feature_set: str, names: Sequence[str] | None = None
) -> np.ndarray:
    """(N, F) float64 raw features of SMILES or SELFIES ``inputs``: ``morgan`` bits or ``rdkit``
    descriptors (``names``: which ones, default all); see the module docstring."""
    if feature_set not in FEATURE_SETS:
        raise ChemtlError(f"features {feature_set!r} is not one of {', '.join(FEATURE_SETS)}")
    check_kind(kind)
    if kind == "composition":
        raise ChemtlError(f"features {feature_set!r} needs SMILES or SELFIES inputs, not compositions")
    smiles = as_smiles(inputs, kind)
    if feature_set == "morgan":
        return morgan_matrix(smiles, MORGAN_RADIUS, MORGAN_BITS).astype(np.float64)
    return rdkit_descriptor_matrix(smiles, names)


# Standardised features are clipped to this many training standard deviations: heavy-tailed RDKit
# descriptors (Ipc, ...) put unseen molecules at z of 1e5 and more, and one such row sent a hybrid
# model's Lipophilicity test RMSE to 6e5 (2026-12-01; validation RMSE was 0.81).
SCALED_CLIP = 6.0


@dataclass(frozen=True)
class FeatureScaling:
    """Per-feature ``(x - mean) / std`` clipped to ``[-SCALED_CLIP, SCALED_CLIP]``; a missing (NaN)
    value becomes 0, the training mean."""

    mean: np.ndarray  # (F,) float64
    std: np.ndarray  # (F,) float64, no zeros

    @classmethod
    def fit(cls, train_rows: np.ndarray) -> FeatureScaling:
        """Mean and standard deviation (ddof 0) of each column of ``train_rows`` (the training
        rows only), NaN left out; a column without values gets mean 0, one without spread std 1."""
        import warnings

        x = np.asarray(train_rows, dtype=np.float64)
        with warnings.catch_warnings():  # an all-NaN column: "Mean of empty slice"
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return cls(mean, std)

    @classmethod
    def identity(cls, n_features: int) -> FeatureScaling:
        return cls(np.zeros(n_features), np.ones(n_features))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """(N, F) float32 scaled features; missing values (and any that overflow float32) are 0."""
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = ((np.asarray(raw, dtype=np.float64) - self.mean) / self.std).astype(np.float32)
        scaled[~np.isfinite(scaled)] = 0.0
        return np.clip(scaled, -SCALED_CLIP, SCALED_CLIP)


def featurize(inputs: Sequence[str], kind: str) -> np.ndarray:
    """Features of ``inputs`` by kind (see the module docstring)."""
    check_kind(kind)
    if kind == "composition":
        return element_fraction_matrix(inputs)
    return morgan_matrix(as_smiles(inputs, kind))
