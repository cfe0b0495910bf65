"""The formula-text grammar of the generators: formulas as element and amount tokens."""

from __future__ import annotations

import pytest

from chemtl.chem.composition import parse_composition
from chemtl.errors import InvalidFormulaError, TokenizationError
from chemtl.tokenizers import load_tokenizer
from chemtl.tokenizers.formula_text import (
    FormulaTextTokenizer,
    formula_text_vocab,
    formula_to_tokens,
    grammar_problem,
    tokens_to_formula,
)

CASES = [
    ("Fe2O3", ["Fe", "2", "O", "3"], "Fe2O3"),
    ("Li3Fe2(PO4)3", ["Li", "3", "Fe", "2", "P", "3", "O", "12"], "Li3Fe2P3O12"),
    ("(Ba0.5Sr0.5)TiO3", ["Ba", "1", "Sr", "1", "Ti", "2", "O", "6"], "BaSrTi2O6"),
    ("CuSO4·5H2O", ["Cu", "1", "S", "1", "O", "9", "H", "10"], "CuSO9H10"),
    ("Fe4O6", ["Fe", "2", "O", "3"], "Fe2O3"),
    ("NaCl", ["Na", "1", "Cl", "1"], "NaCl"),
]


@pytest.mark.parametrize(("formula", "tokens", "written"), CASES)
def test_round_trip(formula, tokens, written):
    assert formula_to_tokens(formula) == tokens
    assert tokens_to_formula(tokens) == written
    assert formula_to_tokens(written) == tokens
    back = parse_composition(written)
    assert back.elements == tuple(tokens[0::2])
    assert back.amounts == tuple(float(a) for a in tokens[1::2])


def test_formulas_the_grammar_cannot_write():
    with pytest.raises(InvalidFormulaError, match=r"'Fe100O' has an amount of 100 in its integer formula"):
        formula_to_tokens("Fe100O")
    with pytest.raises(
        InvalidFormulaError, match=r"'Fe0.001O' has no integer formula with a multiplier up to 100"
    ):
        formula_to_tokens("Fe0.001O")


@pytest.mark.parametrize(
    ("tokens", "problem"),
    [
        ([], "no tokens"),
        (["Fe"], "1 tokens: an element without its amount"),
        (["2", "Fe"], "token 1 '2' is not an element"),
        (["Fe", "O"], "token 2 'O' is not an amount 1..99"),
        (["Fe", "100"], "token 2 '100' is not an amount 1..99"),
        (["Fe", "1", "Fe", "2"], "element 'Fe' appears twice"),
    ],
)
def test_grammar_problems(tokens, problem):
    assert grammar_problem(tokens) == problem
    with pytest.raises(InvalidFormulaError, match="are not a formula"):
        tokens_to_formula(tokens)


def test_vocabulary_ids_and_condition_tokens(tmp_path):
    vocab = formula_text_vocab()
    assert len(vocab) == 5 + 118 + 99
    assert (vocab[5], vocab[122], vocab[123], vocab[221]) == ("H", "Og", "1", "99")
    tok = FormulaTextTokenizer(["[band_gap=b0]", "[band_gap=b1]"])
    assert len(tok) == 224
    batch = tok(["[band_gap=b1]Fe2O3", "NaCl"])
    fe, o, na, cl = (tok.convert_tokens_to_ids(e) for e in ("Fe", "O", "Na", "Cl"))
    assert batch["input_ids"].tolist() == [[2, 223, fe, 124, o, 125, 3], [2, na, 123, cl, 123, 3, 0]]
    assert tok.decode(batch["input_ids"][0]) == "[band_gap=b1]Fe2O3"
    assert tok.decode(batch["input_ids"][1]) == "NaCl"
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    assert type(again) is FormulaTextTokenizer and again.conditions == tok.conditions
    hf = tok.to_hf()
    assert hf(["Fe2O3"])["input_ids"] == [[2, fe, 124, o, 125, 3]]
    assert hf.decode([2, fe, 124, o, 125, 3], skip_special_tokens=True) == "Fe2O3"
    with pytest.raises(TokenizationError, match=r"condition token 'gap' is not of the form"):
        FormulaTextTokenizer(["gap"])
