"""SMILES parsing, canonicalisation, randomisation and scaffolds with RDKit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemtl.chem.smiles import (
    canonicalize_smiles,
    is_valid_smiles,
    murcko_scaffold,
    parse_smiles,
    randomize_smiles,
)
from chemtl.errors import ChemtlError, InvalidSmilesError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
DIAZEPAM = "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21"
ESOL_SUGAR = "OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O"


@pytest.mark.parametrize(
    ("smiles", "canonical"),
    [
        ("OCC", "CCO"),
        ("C(O)C", "CCO"),
        ("C1=CC=CC=C1", "c1ccccc1"),
        ("OC(=O)c1ccccc1OC(C)=O", ASPIRIN),
        ("[Na+].[Cl-]", "[Cl-].[Na+]"),
        ("N[C@@H](C)C(=O)O", "C[C@H](N)C(=O)O"),
        ("F/C=C/F", "F/C=C/F"),
        ("  CCO\n", "CCO"),
    ],
)
def test_canonical_forms(smiles, canonical):
    assert canonicalize_smiles(smiles) == canonical
    assert canonicalize_smiles(canonical) == canonical


def test_raw_mode_returns_input_unchanged():
    assert canonicalize_smiles("OCC", canonical=False) == "OCC"
    assert canonicalize_smiles("C1=CC=CC=C1", canonical=False) == "C1=CC=CC=C1"
    assert canonicalize_smiles("  OCC \t", canonical=False) == "OCC"
    assert canonicalize_smiles(ESOL_SUGAR, canonical=False) == ESOL_SUGAR


def test_parse_smiles_returns_mol():
    mol = parse_smiles(ASPIRIN)
    assert mol.GetNumAtoms() == 13
    assert parse_smiles(ESOL_SUGAR).GetNumAtoms() == 32


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("C1CC", "invalid SMILES 'C1CC': unclosed ring"),
        ("CC(C", "invalid SMILES 'CC(C': extra open parentheses at position 3"),
        ("C)C", "invalid SMILES 'C)C': extra close parentheses at position 2"),
        ("Fe2O3", "invalid SMILES 'Fe2O3': syntax error at position 2"),
        ("c1cccc1", "invalid SMILES 'c1cccc1': Can't kekulize mol. Unkekulized atoms: 0 1 2 3 4"),
        (
            "CN(C)(C)(C)C",
            "invalid SMILES 'CN(C)(C)(C)C': Explicit valence for atom # 1 N, 5, is greater than permitted",
        ),
        ("", "invalid SMILES '': empty"),
        ("  ", "invalid SMILES '  ': empty"),
        ("CCO ethanol", "invalid SMILES 'CCO ethanol': white space inside a SMILES"),
        ("CC O", "invalid SMILES 'CC O': white space inside a SMILES"),
        (None, "invalid SMILES None: expected a string"),
        (42, "invalid SMILES 42: expected a string"),
    ],
)
def test_errors_name_the_value(smiles, message, capfd):
    with pytest.raises(InvalidSmilesError) as info:
        canonicalize_smiles(smiles)
    assert str(info.value) == message
    assert isinstance(info.value, ChemtlError)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # RDKit's log lines are captured, not printed


def test_raw_mode_still_validates():
    with pytest.raises(InvalidSmilesError, match="unclosed ring"):
        canonicalize_smiles("C1CC", canonical=False)


def test_is_valid_smiles():
    assert is_valid_smiles("CCO") is True
    assert is_valid_smiles(ESOL_SUGAR) is True
    assert is_valid_smiles("C1CC") is False
    assert is_valid_smiles("") is False
    assert is_valid_smiles(None) is False


@pytest.mark.parametrize("smiles", [ASPIRIN, IBUPROFEN, DIAZEPAM, ESOL_SUGAR, "C[C@H](N)C(=O)O"])
def test_randomize_is_deterministic_and_round_trips(smiles):
    canonical = canonicalize_smiles(smiles)
    first = randomize_smiles(smiles, 10, seed=7)
    assert len(first) == 10
    assert randomize_smiles(smiles, 10, seed=7) == first
    assert randomize_smiles(smiles, 4, seed=7) == first[:4]  # a smaller n is a prefix
    assert randomize_smiles(smiles, 10, seed=8) != first
    assert any(r != canonical for r in first)  # really randomised
    assert len(set(first)) > 1
    assert [canonicalize_smiles(r) for r in first] == [canonical] * 10


def test_randomize_seed_zero_and_negative_are_deterministic():
    # RDKit's own seed 0 means "unseeded"; chemtl maps every int seed to a fixed RDKit seed
    assert randomize_smiles(ASPIRIN, 5, seed=0) == randomize_smiles(ASPIRIN, 5, seed=0)
    assert randomize_smiles(ASPIRIN, 5, seed=-3) == randomize_smiles(ASPIRIN, 5, seed=-3)
    big = 2**40 + 5
    assert randomize_smiles(ASPIRIN, 5, seed=big) == randomize_smiles(ASPIRIN, 5, seed=big)


def test_randomize_edge_cases():
    assert randomize_smiles("CCO", 0, seed=1) == []
    assert randomize_smiles("C", 3, seed=1) == ["C", "C", "C"]
    with pytest.raises(ValueError, match="n must be a non-negative integer, got -1"):
        randomize_smiles("CCO", -1, seed=1)
    with pytest.raises(ValueError, match="seed must be an integer, got 1.5"):
        randomize_smiles("CCO", 2, seed=1.5)
    with pytest.raises(InvalidSmilesError, match="invalid SMILES 'C1CC'"):
        randomize_smiles("C1CC", 2, seed=1)


@pytest.mark.parametrize(
    ("smiles", "scaffold", "generic"),
    [
        (ASPIRIN, "c1ccccc1", "C1CCCCC1"),
        (IBUPROFEN, "c1ccccc1", "C1CCCCC1"),
        (DIAZEPAM, "O=C1CN=C(c2ccccc2)c2ccccc2N1", "CC1CCC(C2CCCCC2)C2CCCCC2C1"),
        ("C[C@H]1CC[C@@H](c2ccccc2)CC1", "c1ccc(C2CCCCC2)cc1", "C1CCC(C2CCCCC2)CC1"),
        ("Cc1cc(Oc2nccc(CCC)c2)ccc1", "c1ccc(Oc2ccccn2)cc1", "C1CCC(CC2CCCCC2)CC1"),
        ("O=C1CCCCC1", "O=C1CCCCC1", "CC1CCCCC1"),
        ("CCO", "", ""),
        ("CC(=O)O", "", ""),
        ("[Na+].[Cl-]", "", ""),
    ],
)
def test_murcko_scaffold(smiles, scaffold, generic):
    assert murcko_scaffold(smiles) == scaffold
    assert murcko_scaffold(smiles, generic=True) == generic


def test_murcko_scaffold_invalid():
    with pytest.raises(InvalidSmilesError, match="invalid SMILES 'C1CC': unclosed ring"):
        murcko_scaffold("C1CC")


# --- property tests ---------------------------------------------------------------------------

BRANCHES = ["(C)", "(O)", "(N)", "(F)", "(Cl)", "(c1ccccc1)", "(C=O)", "(C#N)", "(C(F)(F)F)"]
# chain atoms that take at most two bonds beside their branches
CHAIN = st.one_of(
    st.tuples(st.just("C"), st.lists(st.sampled_from(BRANCHES), max_size=2)).map(
        lambda t: t[0] + "".join(t[1])
    ),
    st.sampled_from(["O", "N", "S", "c1ccc(cc1)", "C1CC(C1)", "c1cc(ccn1)", "[C@@H](F)", "[C@H](Cl)"]),
)
GENERATED_SMILES = st.lists(CHAIN, min_size=1, max_size=8).map("".join)


@settings(max_examples=150, deadline=None)
@given(smiles=GENERATED_SMILES, seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_generated_smiles_canonicalise_stably(smiles, seed):
    canonical = canonicalize_smiles(smiles)
    assert canonicalize_smiles(canonical) == canonical
    assert canonicalize_smiles(smiles, canonical=False) == smiles
    for randomised in randomize_smiles(smiles, 3, seed=seed):
        assert canonicalize_smiles(randomised) == canonical


SMILES_CHARS = st.sampled_from(
    list("CNOSFclnos()[]=#@+-123456789%/\\.*Hh ") + ["Cl", "Br", "[Na+]", "é", "\x00"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=30), st.lists(SMILES_CHARS, max_size=25).map("".join)))
def test_random_text_raises_only_invalid_smiles(text, capfd):
    try:
        canonical = canonicalize_smiles(text)
    except InvalidSmilesError as exc:
        assert str(exc).startswith(f"invalid SMILES {text!r}: ")
    else:
        assert canonicalize_smiles(canonical) == canonical
    assert capfd.readouterr().err == ""


def test_non_ascii_is_a_clean_error():
    with pytest.raises(InvalidSmilesError) as info:
        canonicalize_smiles("CC" + "\u00e9" * 120)
    assert str(info.value).endswith(": non-ASCII character 'é'")
