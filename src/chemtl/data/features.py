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

For the ``descriptors`` pretraining objective (multi-task regression on RDKit descriptors, label
free): ``PRETRAIN_DESCRIPTORS``, a cheaper default set, and ``DescriptorTargets``, its
standardisation fitted on the head of the corpus and saved as JSON beside the model.
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


def rdkit_descriptor_functions(names: Sequence[str]) -> list:
    """RDKit's functions of the descriptors ``names`` (``Descriptors.descList``'s), in that order;
    ``ChemtlError`` naming any the installed RDKit lacks."""
    from rdkit.Chem import Descriptors

    table = dict(Descriptors.descList)
    missing = sorted(set(names) - set(table))
    if missing:
        raise ChemtlError(
            f"RDKit descriptor(s) {', '.join(missing)} are not in the installed RDKit; "
            "the model was trained with another RDKit version"
        )
    return [table[name] for name in names]


def rdkit_descriptor_matrix(smiles: Sequence[str], names: Sequence[str] | None = None) -> np.ndarray:
    """(N, len(names)) float64 RDKit 2D descriptors (default: every one, ``rdkit_descriptor_names``);
    NaN where RDKit fails on a molecule or gives a NaN or infinite value.

    Each value is what ``Descriptors.CalcMolDescriptors(mol, missingVal=nan)`` gives for it: that
    function's own loop (each descriptor's function, a failure -> the missing value), run over
    ``names`` only, so a subset costs only its own descriptors.
    """
    from chemtl.chem.smiles import parse_smiles

    names = rdkit_descriptor_names() if names is None else list(names)
    functions = rdkit_descriptor_functions(names)
    out = np.full((len(smiles), len(names)), np.nan, dtype=np.float64)
    for i, s in enumerate(smiles):
        mol = parse_smiles(s)
        for j, fn in enumerate(functions):
            try:
                out[i, j] = fn(mol)
            except Exception:  # as CalcMolDescriptors: a descriptor RDKit cannot compute is missing
                continue
    out[~np.isfinite(out)] = np.nan
    return out


# The RDKit 2D descriptors a ``descriptors`` pretraining objective predicts (multi-task regression,
# ChemBERTa-2's MTR): 178 of RDKit 2026.09's 217, in ``Descriptors.descList`` order, without the 39
# that cost the most per molecule (timed one by one on 300 MOSES molecules): qed (2.6 ms), the
# eight BCUT2D (0.7 ms together), BertzCT, SPS, Ipc and AvgIpc (heavy-tailed too), the four
# E-state indices (Min/Max[Abs]EStateIndex; the EState_VSA and VSA_EState bins stay), BalabanJ,
# Chi1, Chi3n/v, Chi4n/v, Kappa3, NumValenceElectrons, NumRadicalElectrons, the three
# FpDensityMorgan and the ten costliest fragment counts (fr_phos_ester, fr_phenol_noOrthoHbond,
# fr_para_hydroxylation, fr_piperzine, fr_phos_acid, fr_priamide, fr_aryl_methyl,
# fr_Ndealkylation1, fr_nitro_arom_nonortho, fr_ArN). Cost, measured 2026-12-01 on this project's
# 2-core AMD EPYC machine (shared with other runs, load 1.6; one thread, CPU time): 475 ms per batch
# of 128 MOSES molecules, 3.7 ms a molecule, parsing included, against 1,420 ms (11.1 ms) for all 217
# (the masking collate alone: 16 ms a batch). What is left costs most in the fragment counts (22%),
# the EState_VSA/VSA_EState bins (16%), the Crippen logP/MR contributions behind MolLogP, MolMR,
# SlogP_VSA and SMR_VSA (25%) and the Gasteiger charges behind PEOE_VSA and the partial charges (14%).
PRETRAIN_DESCRIPTORS = (
    "MolWt",
    "HeavyAtomMolWt",
    "ExactMolWt",
    "MaxPartialCharge",
    "MinPartialCharge",
    "MaxAbsPartialCharge",
    "MinAbsPartialCharge",
    "Chi0",
    "Chi0n",
    "Chi0v",
    "Chi1n",
    "Chi1v",
    "Chi2n",
    "Chi2v",
    "HallKierAlpha",
    "Kappa1",
    "Kappa2",
    "LabuteASA",
    "PEOE_VSA1",
    "PEOE_VSA10",
    "PEOE_VSA11",
    "PEOE_VSA12",
    "PEOE_VSA13",
    "PEOE_VSA14",
    "PEOE_VSA2",
    "PEOE_VSA3",
    "PEOE_VSA4",
    "PEOE_VSA5",
    "PEOE_VSA6",
    "PEOE_VSA7",
    "PEOE_VSA8",
    "PEOE_VSA9",
    "SMR_VSA1",
    "SMR_VSA10",
    "SMR_VSA2",
    "SMR_VSA3",
    "SMR_VSA4",
    "SMR_VSA5",
    "SMR_VSA6",
    "SMR_VSA7",
    "SMR_VSA8",
    "SMR_VSA9",
    "SlogP_VSA1",
    "SlogP_VSA10",
    "SlogP_VSA11",
    "SlogP_VSA12",
    "SlogP_VSA2",
    "SlogP_VSA3",
    "SlogP_VSA4",
    "SlogP_VSA5",
    "SlogP_VSA6",
    "SlogP_VSA7",
    "SlogP_VSA8",
    "SlogP_VSA9",
    "TPSA",
    "EState_VSA1",
    "EState_VSA10",
    "EState_VSA11",
    "EState_VSA2",
    "EState_VSA3",
    "EState_VSA4",
    "EState_VSA5",
    "EState_VSA6",
    "EState_VSA7",
    "EState_VSA8",
    "EState_VSA9",
    "VSA_EState1",
    "VSA_EState10",
    "VSA_EState2",
    "VSA_EState3",
    "VSA_EState4",
    "VSA_EState5",
    "VSA_EState6",
    "VSA_EState7",
    "VSA_EState8",
    "VSA_EState9",
    "FractionCSP3",
    "HeavyAtomCount",
    "NHOHCount",
    "NOCount",
    "NumAliphaticCarbocycles",
    "NumAliphaticHeterocycles",
    "NumAliphaticRings",
    "NumAmideBonds",
    "NumAromaticCarbocycles",
    "NumAromaticHeterocycles",
    "NumAromaticRings",
    "NumAtomStereoCenters",
    "NumBridgeheadAtoms",
    "NumHAcceptors",
    "NumHDonors",
    "NumHeteroatoms",
    "NumHeterocycles",
    "NumRotatableBonds",
    "NumSaturatedCarbocycles",
    "NumSaturatedHeterocycles",
    "NumSaturatedRings",
    "NumSpiroAtoms",
    "NumUnspecifiedAtomStereoCenters",
    "Phi",
    "RingCount",
    "MolLogP",
    "MolMR",
    "fr_Al_COO",
    "fr_Al_OH",
    "fr_Al_OH_noTert",
    "fr_Ar_COO",
    "fr_Ar_N",
    "fr_Ar_NH",
    "fr_Ar_OH",
    "fr_COO",
    "fr_COO2",
    "fr_C_O",
    "fr_C_O_noCOO",
    "fr_C_S",
    "fr_HOCCN",
    "fr_Imine",
    "fr_NH0",
    "fr_NH1",
    "fr_NH2",
    "fr_N_O",
    "fr_Ndealkylation2",
    "fr_Nhpyrrole",
    "fr_SH",
    "fr_aldehyde",
    "fr_alkyl_carbamate",
    "fr_alkyl_halide",
    "fr_allylic_oxid",
    "fr_amide",
    "fr_amidine",
    "fr_aniline",
    "fr_azide",
    "fr_azo",
    "fr_barbitur",
    "fr_benzene",
    "fr_benzodiazepine",
    "fr_bicyclic",
    "fr_diazo",
    "fr_dihydropyridine",
    "fr_epoxide",
    "fr_ester",
    "fr_ether",
    "fr_furan",
    "fr_guanido",
    "fr_halogen",
    "fr_hdrzine",
    "fr_hdrzone",
    "fr_imidazole",
    "fr_imide",
    "fr_isocyan",
    "fr_isothiocyan",
    "fr_ketone",
    "fr_ketone_Topliss",
    "fr_lactam",
    "fr_lactone",
    "fr_methoxy",
    "fr_morpholine",
    "fr_nitrile",
    "fr_nitro",
    "fr_nitro_arom",
    "fr_nitroso",
    "fr_oxazole",
    "fr_oxime",
    "fr_phenol",
    "fr_piperdine",
    "fr_prisulfonamd",
    "fr_pyridine",
    "fr_quatN",
    "fr_sulfide",
    "fr_sulfonamd",
    "fr_sulfone",
    "fr_term_acetylene",
    "fr_tetrazole",
    "fr_thiazole",
    "fr_thiocyan",
    "fr_thiophene",
    "fr_unbrch_alkane",
    "fr_urea",
)


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

    def transform(self, raw: np.ndarray, missing: float = 0.0) -> np.ndarray:
        """(N, F) float32 scaled features; missing values (and any that overflow float32) become
        ``missing`` (0, the training mean; NaN keeps them missing, for targets)."""
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = ((np.asarray(raw, dtype=np.float64) - self.mean) / self.std).astype(np.float32)
        scaled[~np.isfinite(scaled)] = missing
        return np.clip(scaled, -SCALED_CLIP, SCALED_CLIP)


DESCRIPTOR_TARGETS_FORMAT = "chemtl-descriptor-targets/1"


@dataclass(frozen=True)
class DescriptorTargets:
    """Regression targets of the ``descriptors`` pretraining objective: RDKit descriptors ``names``
    of each molecule, standardised with ``scaling`` (fitted once, on ``fit_rows`` rows at the head
    of the corpus, ``fit``), clipped at ``SCALED_CLIP``; missing values stay NaN (the loss skips them).

    Saved as JSON (``save``/``load``), never pickled, so a resumed run reads back the same numbers.
    """

    names: tuple[str, ...]
    scaling: FeatureScaling
    fit_rows: int

    @classmethod
    def fit(cls, smiles: Sequence[str], names: Sequence[str] = PRETRAIN_DESCRIPTORS) -> DescriptorTargets:
        """Mean and std (``FeatureScaling.fit``) of the descriptors of ``smiles``; a row RDKit
        cannot read counts as all missing."""
        raw = np.full((len(smiles), len(names)), np.nan)
        for i, s in enumerate(smiles):
            try:
                raw[i] = rdkit_descriptor_matrix([s], names)[0]
            except ChemtlError:
                continue
        return cls(tuple(names), FeatureScaling.fit(raw), len(smiles))

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        """(N, D) float32 standardised targets, NaN where missing; ``InvalidSmilesError`` for a
        SMILES RDKit cannot read."""
        return self.scaling.transform(rdkit_descriptor_matrix(smiles, self.names), missing=np.nan)

    def to_dict(self) -> dict:
        return {
            "format": DESCRIPTOR_TARGETS_FORMAT,
            "names": list(self.names),
            "mean": self.scaling.mean.tolist(),
            "std": self.scaling.std.tolist(),
            "fit_rows": self.fit_rows,
            "clip": SCALED_CLIP,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "descriptor targets") -> DescriptorTargets:
        n = len(data.get("names") or ())
        if (
            data.get("format") != DESCRIPTOR_TARGETS_FORMAT
            or not n
            or any(len(data.get(k) or ()) != n for k in ("mean", "std"))
        ):
            raise ChemtlError(
                f"{where}: not a descriptor-target file chemtl wrote ({DESCRIPTOR_TARGETS_FORMAT})"
            )
        rdkit_descriptor_functions(data["names"])
        mean, std = np.asarray(data["mean"], dtype=np.float64), np.asarray(data["std"], dtype=np.float64)
        return cls(tuple(data["names"]), FeatureScaling(mean, std), int(data["fit_rows"]))

    def save(self, path) -> None:
        from chemtl.atomic import write_json

        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> DescriptorTargets:
        import json
        from pathlib import Path

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ChemtlError(f"{str(path)!r}: unreadable descriptor targets ({exc})") from None
        return cls.from_dict(data if isinstance(data, dict) else {}, repr(str(path)))


def featurize(inputs: Sequence[str], kind: str) -> np.ndarray:
    """Features of ``inputs`` by kind (see the module docstring)."""
    check_kind(kind)
    if kind == "composition":
        return element_fraction_matrix(inputs)
    return morgan_matrix(as_smiles(inputs, kind))
