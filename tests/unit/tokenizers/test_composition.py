"""Composition tokenizer: exact tokens, ids and fractions, both modes, decoding."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import InvalidFormulaError, TokenizationError
from chemtl.tokenizers import CompositionTokenizer


def test_vocabulary_is_specials_then_elements_in_z_order(comp_tok):
    vocab = comp_tok.vocab
    assert comp_tok.vocab_size == 123
    assert vocab[:5] == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    assert vocab[5:10] == ("H", "He", "Li", "Be", "B")
    assert vocab[122] == "Og"
    assert comp_tok.get_vocab()["Fe"] == 30 and comp_tok.get_vocab()["O"] == 12


@pytest.mark.parametrize(
    ("formula", "tokens", "ids", "fractions"),
    [
        ("Fe2O3", ["Fe", "O"], [2, 30, 12, 3], [0, 0.4, 0.6, 0]),
        ("Li3Fe2(PO4)3", ["Li", "Fe", "P", "O"], [2, 7, 30, 19, 12, 3], [0, 0.15, 0.1, 0.15, 0.6, 0]),
        ("(Ba0.5Sr0.5)TiO3", ["Ba", "Sr", "Ti", "O"], [2, 60, 42, 26, 12, 3], [0, 0.1, 0.1, 0.2, 0.6, 0]),
        ("CuSO4·5H2O", ["Cu", "S", "O", "H"], [2, 33, 20, 12, 5, 3], [0, 1 / 21, 1 / 21, 9 / 21, 10 / 21, 0]),
        ("NaN", ["Na", "N"], [2, 15, 11, 3], [0, 0.5, 0.5, 0]),
    ],
)
def test_fraction_mode_exact(comp_tok, formula, tokens, ids, fractions):
    assert comp_tok.tokenize(formula) == tokens
    enc = comp_tok.encode(formula)
    assert enc["input_ids"] == ids
    assert enc["attention_mask"] == [1] * len(ids)
    assert enc["fractions"] == pytest.approx(fractions, abs=1e-7)


def test_fractional_and_integer_formulas_differ_only_in_fractions(comp_tok):
    batch = comp_tok(["Li0.5CoO2", "LiCoO2"])
    assert batch["input_ids"].tolist() == [[2, 7, 31, 12, 3], [2, 7, 31, 12, 3]]
    np.testing.assert_allclose(batch["fractions"][0], [0, 1 / 7, 2 / 7, 4 / 7, 0], atol=1e-7)
    np.testing.assert_allclose(batch["fractions"][1], [0, 0.25, 0.25, 0.5, 0], atol=1e-7)


def test_batch_dtypes_and_padding(comp_tok):
    batch = comp_tok(["Fe2O3", "Li3Fe2(PO4)3"])
    assert set(batch) == {"input_ids", "attention_mask", "fractions"}
    assert batch["input_ids"].dtype == np.int64 and batch["attention_mask"].dtype == np.int64
    assert batch["fractions"].dtype == np.float32
    assert batch["input_ids"].tolist() == [[2, 30, 12, 3, 0, 0], [2, 7, 30, 19, 12, 3]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1] * 6]
    np.testing.assert_allclose(batch["fractions"][0], [0, 0.4, 0.6, 0, 0, 0], atol=1e-7)
    assert batch.unknown == {} and batch.unknown_rows == []


def test_repeat_mode_textbook_encoding(repeat_tok):
    assert repeat_tok.tokenize("Fe2O3") == ["Fe", "Fe", "O", "O", "O"]
    enc = repeat_tok.encode("Fe2O3")
    assert repeat_tok.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", "Fe", "Fe", "O", "O", "O", "[SEP]"]
    assert enc["input_ids"] == [2, 30, 30, 12, 12, 12, 3]
    assert enc["fractions"] == pytest.approx([0, 0.2, 0.2, 0.2, 0.2, 0.2, 0])
    assert repeat_tok.tokenize("CuSO4·5H2O") == ["Cu", "S"] + ["O"] * 9 + ["H"] * 10


def test_repeat_mode_rejects_fractional_amounts_naming_the_formula(repeat_tok):
    with pytest.raises(TokenizationError, match=r"'Li0\.5CoO2'.*Li has 0\.5"):
        repeat_tok("Li0.5CoO2")
    with pytest.raises(TokenizationError, match=r"string 1: formula '\(Ba0\.5Sr0\.5\)TiO3'"):
        repeat_tok(["Fe2O3", "(Ba0.5Sr0.5)TiO3"])


def test_repeat_mode_huge_amount_is_the_too_long_error_or_truncated(repeat_tok):
    with pytest.raises(
        TokenizationError, match=r"string 0 'H1000000000' has 1000000002 tokens.*max_length=512"
    ):
        repeat_tok("H1000000000")
    batch = repeat_tok("H1000000000", truncation=True, max_length=6)
    assert batch["input_ids"].tolist() == [[2, 5, 5, 5, 5, 3]]


@pytest.mark.parametrize("bad", ["Xx2O3", "fe2o3", "Fe2O3)", "", "Fe-2", "H2 O"])
def test_invalid_formulas_raise_invalid_formula_error(comp_tok, bad):
    with pytest.raises(InvalidFormulaError):
        comp_tok([bad])


def test_invalid_formula_in_a_batch_names_its_index(comp_tok):
    with pytest.raises(InvalidFormulaError, match=r"^string 2: invalid formula 'Qq'"):
        comp_tok(["Fe2O3", "NaCl", "Qq"])


def test_non_string_input_is_a_tokenization_error(comp_tok):
    with pytest.raises(TokenizationError, match="string 1 is nan of type float"):
        comp_tok(["Fe2O3", float("nan")])


def test_decode_without_fractions(comp_tok, repeat_tok):
    assert comp_tok.decode([2, 30, 12, 3, 0]) == "Fe O"
    assert comp_tok.decode([2, 30, 12, 3, 0], skip_special_tokens=False) == "[CLS] Fe O [SEP] [PAD]"
    assert comp_tok.decode([2, 30, 4, 3]) == "Fe [MASK]"
    assert repeat_tok.decode(repeat_tok.encode("Fe2O3")["input_ids"]) == "Fe2O3"
    assert repeat_tok.decode(repeat_tok.encode("CuSO4·5H2O")["input_ids"]) == "CuSO9H10"


@pytest.mark.parametrize(
    ("formula", "decoded"),
    [
        ("Fe2O3", "Fe2O3"),
        ("Fe4O6", "Fe2O3"),
        ("LiCoO2", "LiCoO2"),
        ("Li0.5CoO2", "LiCo2O4"),
        ("Li3Fe2(PO4)3", "Li3Fe2P3O12"),
        ("(Ba0.5Sr0.5)TiO3", "BaSrTi2O6"),
        ("NaN", "NaN"),
        ("H0.001He", "H0.000999001He0.999001"),
    ],
)
def test_decode_with_fractions_gives_a_formula_with_the_same_fractions(comp_tok, formula, decoded):
    batch = comp_tok([formula, "Li3Fe2(PO4)3"])  # padded row
    assert comp_tok.decode(batch["input_ids"][0], batch["fractions"][0]) == decoded
    assert comp_tok.batch_decode(batch["input_ids"], batch["fractions"])[0] == decoded


def test_decode_rejects_ids_outside_the_vocabulary(comp_tok):
    with pytest.raises(TokenizationError, match="token id 123 is outside"):
        comp_tok.decode([2, 123, 3])


def test_unknown_mode_is_an_error():
    with pytest.raises(TokenizationError, match="mode='atoms'"):
        CompositionTokenizer("atoms")
