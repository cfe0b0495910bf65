"""SELFIES encoding, decoding, splitting and validation."""

from __future__ import annotations

import pytest
import selfies as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from chemtl.chem.selfies import (
    canonicalize_selfies,
    is_valid_selfies,
    looks_like_selfies,
    selfies_to_smiles,
    smiles_to_selfies,
    split_selfies,
)
from chemtl.chem.smiles import canonicalize_smiles
from chemtl.errors import ChemtlError, InvalidSelfiesError, InvalidSmilesError

ESOL_SUGAR = "OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O"


def test_module_name_does_not_shadow_the_library():
    import chemtl.chem.selfies as ours

    assert ours.sf is sf
    assert sf.__name__ == "selfies"
    assert hasattr(sf, "encoder")


@pytest.mark.parametrize(
    ("smiles", "selfies"),
    [
        ("CCO", "[C][C][O]"),
        ("OCC", "[O][C][C]"),  # the input's atom order is kept
        ("c1ccccc1", "[C][=C][C][=C][C][=C][Ring1][=Branch1]"),
        ("C[C@H](N)O", "[C][C@H1][Branch1][C][N][O]"),
        ("[Na+].[Cl-]", "[Na+1].[Cl-1]"),
        ("  C=O ", "[C][=O]"),
    ],
)
def test_smiles_to_selfies_exact(smiles, selfies):
    assert smiles_to_selfies(smiles) == selfies
    assert canonicalize_smiles(selfies_to_smiles(selfies)) == canonicalize_smiles(smiles)


def test_nitro_written_pentavalent_is_encoded_via_rdkit():
    # RDKit normalises N(=O)=O to [N+](=O)[O-]; the selfies encoder rejects the raw spelling
    smiles = "CN(=O)=O"
    encoded = smiles_to_selfies(smiles)
    assert encoded == "[C][N+1][Branch1][C][O-1][=O]"
    assert selfies_to_smiles(encoded, canonical=True) == canonicalize_smiles(smiles) == "C[N+](=O)[O-]"


def test_round_trip_of_a_large_esol_molecule():
    encoded = smiles_to_selfies(ESOL_SUGAR)
    assert selfies_to_smiles(encoded, canonical=True) == canonicalize_smiles(ESOL_SUGAR)


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("C1CC", "invalid SMILES 'C1CC': unclosed ring"),
        ("", "invalid SMILES '': empty"),
        ("*C", "invalid SMILES '*C': cannot be encoded as SELFIES: failed to parse input"),
    ],
)
def test_smiles_to_selfies_errors(smiles, message):
    with pytest.raises(InvalidSmilesError) as info:
        smiles_to_selfies(smiles)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("selfies", "smiles", "canonical"),
    [
        ("[C][C][O]", "CCO", "CCO"),
        ("[O][C][C]", "OCC", "CCO"),
        ("[C].[O]", "C.O", "C.O"),
        (" [C][=O] ", "C=O", "C=O"),
        ("[C][Ring1][C]", "C", "C"),  # SELFIES is robust: a dangling ring symbol is ignored
    ],
)
def test_selfies_to_smiles_exact(selfies, smiles, canonical):
    assert selfies_to_smiles(selfies) == smiles
    assert selfies_to_smiles(selfies, canonical=True) == canonical


@pytest.mark.parametrize(
    ("selfies", "message"),
    [
        ("C[C]", "invalid SELFIES 'C[C]': unexpected text 'C[C]' at position 0; expected '[symbol]' or '.'"),
        (
            "[C] [O]",
            "invalid SELFIES '[C] [O]': unexpected text ' [O]' at position 3; expected '[symbol]' or '.'",
        ),
        ("[C][O", "invalid SELFIES '[C][O': unexpected text '[O' at position 3; expected '[symbol]' or '.'"),
        ("[Xx]", "invalid SELFIES '[Xx]': invalid symbol '[Xx]'"),
        ("[nop]", "invalid SELFIES '[nop]': decodes to no atoms"),
        ("[Branch1]", "invalid SELFIES '[Branch1]': decodes to no atoms"),
        ("", "invalid SELFIES '': empty"),
        (".", "invalid SELFIES '.': no symbol"),
        (None, "invalid SELFIES None: expected a string"),
    ],
)
def test_selfies_to_smiles_errors(selfies, message):
    with pytest.raises(InvalidSelfiesError) as info:
        selfies_to_smiles(selfies)
    assert str(info.value) == message
    assert isinstance(info.value, ChemtlError)
    assert is_valid_selfies(selfies) is False


def test_split_selfies():
    assert split_selfies("[C][=C][Ring1][=Branch1]") == ["[C]", "[=C]", "[Ring1]", "[=Branch1]"]
    assert split_selfies("[Na+1].[Cl-1]") == ["[Na+1]", ".", "[Cl-1]"]
    assert split_selfies(" [C@@H1][O] ") == ["[C@@H1]", "[O]"]
    with pytest.raises(
        InvalidSelfiesError, match=r"^invalid SELFIES 'CCO': unexpected text 'CCO' at position 0"
    ):
        split_selfies("CCO")
    with pytest.raises(InvalidSelfiesError, match=r"^invalid SELFIES '\[\]': unexpected text"):
        split_selfies("[]")


def test_is_valid_and_looks_like():
    assert is_valid_selfies("[C][C][O]") is True
    assert is_valid_selfies("CCO") is False
    assert looks_like_selfies("[C][C][O]") is True
    assert looks_like_selfies("[Xx]") is True  # shape only
    assert looks_like_selfies("CCO") is False
    assert looks_like_selfies(".") is False
    assert looks_like_selfies(None) is False


def test_canonicalize_selfies():
    assert canonicalize_selfies("[O][C][C]") == "[C][C][O]"
    assert canonicalize_selfies("[C][C][O]") == "[C][C][O]"


# --- property tests ---------------------------------------------------------------------------

ALPHABET = sorted(sf.get_semantic_robust_alphabet())


@settings(max_examples=150, deadline=None)
@given(symbols=st.lists(st.sampled_from(ALPHABET + ["[Branch1]", "[Ring1]", "[=Branch2]", "."]), max_size=20))
def test_random_symbol_sequences_decode_or_raise_invalid_selfies(symbols):
    text = "".join(symbols)
    try:
        smiles = selfies_to_smiles(text)
    except InvalidSelfiesError as exc:
        assert str(exc).startswith(f"invalid SELFIES {text!r}: ")
    else:
        assert canonicalize_smiles(smiles)  # decodes to a molecule RDKit reads
        assert split_selfies(text) == [s for s in symbols]


@settings(max_examples=100, deadline=None)
@given(
    smiles=st.sampled_from(["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "C[C@H](N)C(=O)O", ESOL_SUGAR]),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_randomised_smiles_round_trip_through_selfies(smiles, seed):
    from chemtl.chem.smiles import randomize_smiles

    canonical = canonicalize_smiles(smiles)
    for randomised in randomize_smiles(smiles, 2, seed=seed):
        assert selfies_to_smiles(smiles_to_selfies(randomised), canonical=True) == canonical
