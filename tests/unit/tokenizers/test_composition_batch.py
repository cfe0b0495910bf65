"""The composition tokenizer's batched fraction mode equals encoding each formula on its own.

The batch path parses the common formulas of a batch at once (``parse_simple_batch``) and the
rest one by one (``parse_composition``), then merges them back in order. Whatever the mix, the
ids, masks and fractions must be those of the per-string algorithm (each formula's
``ParsedComposition.fractions`` as float32), bit for bit, and an error must name the first
string that fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemtl.chem.composition import element_symbols_by_z, parse_composition
from chemtl.errors import InvalidFormulaError

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SYMBOLS = element_symbols_by_z()

# taken by the batch path, by the one-formula fast path only (repeats, big amounts), by pymatgen
# only (nested, hydrates, white space), and errors
POOL = [
    "Fe2O3",
    "Li0.5CoO2",
    "Ba0.5Sr0.5TiO3",
    "NaN",
    "Fe.5",
    "Co8Ge12Li12O48",
    "Fe0.620C0.000953Mn0.000521",
    "Li3Fe2(PO4)3",
    "(Ba0.5Sr0.5)TiO3",
    "Ag9(PbO3)4",
    "[Fe]",
    "OFeO",
    "O(FeO)2",
    "Fe0.1Fe0.2",
    "Fe10000000000000000000",
    "K4[Fe(CN)6]",
    "CuSO4·5H2O",
    "CuSO4*5H2O",
    "5H2O",
    "  Fe2O3 ",
    "(Fe0.00001)2",
]
BAD = ["Xx2O3", "D2O", "Fe0O3", "fe2o3", "Fe2(O3", "Fe 2O3", "", "FeC0.000000001", "(Fe2)5000000000000000"]


def reference(tok, texts):
    """The per-string algorithm: each formula's elements and fractions, padded to the longest."""
    vocab = tok.get_vocab()
    rows = [parse_composition(t) for t in texts]
    width = max((len(p.elements) for p in rows), default=-2) + 2
    ids = np.zeros((len(rows), width), dtype=np.int64)
    fractions = np.zeros((len(rows), width), dtype=np.float32)
    for i, p in enumerate(rows):
        k = len(p.elements)
        ids[i, : k + 2] = [vocab["[CLS]"], *(vocab[e] for e in p.elements), vocab["[SEP]"]]
        fractions[i, 1 : k + 1] = np.array(p.fractions, dtype=np.float64).astype(np.float32)
    return ids, (ids != 0).astype(np.int64), fractions


def assert_same_as_reference(tok, texts):
    ids, mask, fractions = reference(tok, texts)
    batch = tok(texts)
    assert batch["input_ids"].dtype == np.int64 and batch["fractions"].dtype == np.float32
    np.testing.assert_array_equal(batch["input_ids"], ids)
    np.testing.assert_array_equal(batch["attention_mask"], mask)
    assert batch["fractions"].shape == fractions.shape
    assert batch["fractions"].tobytes() == fractions.tobytes()  # bit for bit


def test_mixed_batch_equals_per_string_encoding(comp_tok):
    assert_same_as_reference(comp_tok, POOL)
    assert_same_as_reference(comp_tok, POOL[::-1])
    for formula in POOL:
        assert_same_as_reference(comp_tok, [formula])


def test_newline_in_a_formula_falls_back_to_one_by_one(comp_tok):
    assert_same_as_reference(comp_tok, ["Fe2O3\n", "NaCl", "\nLi3Fe2(PO4)3"])


def test_empty_batch(comp_tok):
    batch = comp_tok([])
    assert batch["input_ids"].shape == (0, 0) and batch["fractions"].shape == (0, 0)


def test_truncation_keeps_the_first_elements_and_their_fractions(comp_tok):
    batch = comp_tok(["Li3Fe2(PO4)3", "Fe2O3", "CuSO4·5H2O"], truncation=True, max_length=4)
    assert batch["input_ids"].tolist() == [[2, 7, 30, 3], [2, 30, 12, 3], [2, 33, 20, 3]]
    np.testing.assert_allclose(batch["fractions"][0], [0, 0.15, 0.1, 0], atol=1e-7)
    np.testing.assert_allclose(batch["fractions"][2], [0, 1 / 21, 1 / 21, 0], atol=1e-7)


@pytest.mark.parametrize("bad", BAD)
def test_an_error_names_the_first_failing_string(comp_tok, bad):
    message = _message(bad)
    with pytest.raises(InvalidFormulaError) as info:
        comp_tok(["Fe2O3", "CuSO4·5H2O", bad, "Yy", "Li0.5CoO2"])
    assert str(info.value) == f"string 2: {message}"
    with pytest.raises(InvalidFormulaError) as info:
        comp_tok([bad])
    assert str(info.value) == message


def _message(text):
    try:
        parse_composition(text)
    except InvalidFormulaError as exc:
        return str(exc)
    raise AssertionError(f"{text!r} parses")


PLAIN = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS + ("Fe", "O", "H") * 10),
        st.one_of(
            st.just(""),
            st.integers(1, 500).map(str),
            st.integers(1, 99999).map(lambda i: f"{i / 1000:.3f}"),
            st.sampled_from(["2.", ".5", "0.00000002", "1" * 15, "1" * 16]),
        ),
    ),
    min_size=1,
    max_size=6,
).map(lambda items: "".join(s + a for s, a in items))
GROUPED = st.tuples(
    PLAIN, st.sampled_from(["()", "[]"]), PLAIN, st.sampled_from(["", "2", "0.5"]), PLAIN
).map(lambda t: t[0] + t[1][0] + t[2] + t[1][1] + t[3] + t[4])
FORMULA = st.one_of(PLAIN, PLAIN, GROUPED, st.sampled_from(POOL))


@SETTINGS
@given(texts=st.lists(FORMULA, min_size=1, max_size=40))
def test_generated_batches_equal_per_string_encoding(comp_tok, texts):
    assert_same_as_reference(comp_tok, texts)


@SETTINGS
@given(texts=st.lists(FORMULA, min_size=1, max_size=10), bad=st.sampled_from(BAD), at=st.integers(0, 10))
def test_generated_batches_name_the_failing_string(comp_tok, texts, bad, at):
    at = min(at, len(texts))
    texts = [*texts[:at], bad, *texts[at:]]
    with pytest.raises(InvalidFormulaError) as info:
        comp_tok(texts)
    assert str(info.value) == f"string {at}: {_message(bad)}"
