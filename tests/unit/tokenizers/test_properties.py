"""Property-based tests: round trips hold, nothing is dropped, failures are documented errors."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import selfies as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemtl.chem.composition import element_symbols_by_z, parse_composition
from chemtl.errors import InvalidFormulaError, TokenizationError
from chemtl.tokenizers import SmilesTokenizer

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ELEMENTS = element_symbols_by_z()

amounts = st.one_of(
    st.just(Fraction(1)),
    st.integers(1, 30).map(Fraction),
    st.integers(1, 999).map(lambda n: Fraction(n, 100)),  # two decimals: 0.01 .. 9.99
)


def _amount_text(a: Fraction) -> str:
    if a == 1 and a.denominator == 1:
        return ""
    return str(a.numerator) if a.denominator == 1 else f"{float(a):.2f}"


@st.composite
def formulas(draw):
    """A formula, its elements in first-appearance order and exact amounts (maybe with a group)."""
    elements = draw(st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=6, unique=True))
    parts = [(e, draw(amounts)) for e in elements]
    text = "".join(e + _amount_text(a) for e, a in parts)
    expected = {e: a for e, a in parts}
    if len(parts) >= 2 and draw(st.booleans()):
        k = draw(st.integers(1, len(parts) - 1))
        mult = draw(st.integers(2, 4))
        head = "".join(e + _amount_text(a) for e, a in parts[:k])
        tail = "".join(e + _amount_text(a) for e, a in parts[k:])
        text = f"{head}({tail}){mult}"
        expected.update({e: a * mult for e, a in parts[k:]})
    return text, elements, expected


@SETTINGS
@given(formulas())
def test_generated_formulas_round_trip_elements_and_fractions(comp_tok, case):
    text, elements, expected = case
    total = sum(expected.values())
    enc = comp_tok.encode(text)
    assert comp_tok.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", *elements, "[SEP]"]
    want = [0.0] + [float(expected[e] / total) for e in elements] + [0.0]
    assert enc["fractions"] == pytest.approx(want, rel=1e-6, abs=1e-7)
    decoded = comp_tok.decode(enc["input_ids"], enc["fractions"])
    back = parse_composition(decoded)
    assert list(back.elements) == elements
    assert list(back.fractions) == pytest.approx(want[1:-1], abs=2e-5)


@SETTINGS
@given(formulas())
def test_repeat_mode_round_trips_integer_formulas_or_names_the_formula(repeat_tok, case):
    text, elements, expected = case
    if all(a.denominator == 1 for a in expected.values()):
        enc = repeat_tok.encode(text, max_length=10_000)
        counts = {e: int(a) for e, a in expected.items()}
        assert len(enc["input_ids"]) == sum(counts.values()) + 2
        assert parse_composition(repeat_tok.decode(enc["input_ids"])).as_dict() == pytest.approx(counts)
    else:
        with pytest.raises(TokenizationError, match="repeat mode needs whole-number amounts"):
            repeat_tok.encode(text)


@SETTINGS
@given(st.text(alphabet=st.sampled_from("FeOLiCoNaHBaSrTi()[]·*.0123456789 -xé"), max_size=20))
def test_random_formula_text_raises_only_documented_errors(comp_tok, repeat_tok, text):
    for tok in (comp_tok, repeat_tok):
        try:
            batch = tok([text])
        except (InvalidFormulaError, TokenizationError):
            continue
        assert batch["input_ids"][0, 0] == 2
        assert np.isfinite(batch["fractions"]).all()


@SETTINGS
@given(st.data())
def test_moses_smiles_round_trip(smiles_tok, moses_sample, data):
    batch = data.draw(st.lists(st.sampled_from(moses_sample), min_size=1, max_size=20))
    enc = smiles_tok(batch)
    assert enc.unknown == {}
    assert smiles_tok.batch_decode(enc["input_ids"]) == batch
    assert [smiles_tok.decode(smiles_tok.encode(s)["input_ids"]) for s in batch] == batch


@SETTINGS
@given(st.lists(st.sampled_from(SmilesTokenizer().vocab[5:]), max_size=40))
def test_concatenated_vocabulary_tokens_split_back_into_the_same_tokens(smiles_tok, tokens):
    text = "".join(tokens)
    assert smiles_tok.tokenize(text) == tokens
    assert smiles_tok.decode(smiles_tok.encode(text, max_length=100)["input_ids"]) == text


SMILES_ALPHABET = st.sampled_from(list("CNOScnosBrlIF()[]=#@H+-%0123456789./\\ \x00") + ["Cl", "[C@@H]", "é"])
any_text = st.one_of(st.text(max_size=30), st.lists(SMILES_ALPHABET, max_size=30).map("".join))


@SETTINGS
@given(st.lists(any_text, max_size=8))
def test_random_text_is_never_dropped_and_never_crashes(smiles_tok, selfies_tok, texts):
    for tok in (smiles_tok, selfies_tok):
        vocab = tok.get_vocab()
        for text in texts:
            assert "".join(tok.tokenize(text)) == text
        batch = tok(texts, max_length=100)
        per_string = [tok.encode(t, max_length=100)["input_ids"] for t in texts]
        reference = [[2, *(vocab.get(x, 1) for x in tok.tokenize(t)), 3] for t in texts]  # plain regex
        assert per_string == reference
        lengths = batch["attention_mask"].sum(axis=1).tolist() if texts else []
        assert [row[:n] for row, n in zip(batch["input_ids"].tolist(), lengths)] == per_string
        expected_unknown = sum(1 for t in texts for x in tok.tokenize(t) if vocab.get(x, 1) == 1)
        assert batch.num_unknown == expected_unknown == sum(row.count(1) for row in per_string)


@SETTINGS
@given(st.text(alphabet=st.sampled_from("CNOcn()=#[]@H+-123%0Cl "), max_size=80))
def test_too_long_text_raises_the_tokenization_error(smiles_tok, text):
    n = len(smiles_tok.tokenize(text)) + 2
    if n > 20:
        with pytest.raises(TokenizationError, match=f"has {n} tokens"):
            smiles_tok([text], max_length=20)
        assert smiles_tok([text], max_length=20, truncation=True)["input_ids"].shape == (1, 20)
    else:
        assert smiles_tok([text], max_length=20)["attention_mask"].sum() == n


ROBUST = sorted(sf.get_semantic_robust_alphabet())


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(ROBUST), min_size=1, max_size=10), max_size=4))
def test_selfies_tokens_equal_split_selfies(selfies_tok, fragments):
    text = ".".join("".join(f) for f in fragments)
    symbols = selfies_tok.tokenize(text)
    assert symbols == list(sf.split_selfies(text))
    assert "".join(symbols) == text
    assert selfies_tok.decode(selfies_tok.encode(text)["input_ids"]) == text
