"""The fast paths of composition parsing give exactly the pymatgen path's results and errors.

``_parse_simple`` (one formula) and ``parse_simple_batch`` (a batch, for the tokenizer) parse the
common shapes without pymatgen and leave everything else to ``_parse_with_pymatgen``: every
result they give must be the pymatgen path's, float for float, and every formula that path rejects
must be left to it (so the error is its error).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemtl.chem import composition as cc
from chemtl.chem.composition import (
    ParsedComposition,
    _parse_simple,
    _parse_with_pymatgen,
    element_symbols_by_z,
    parse_composition,
    parse_compositions,
    parse_simple_batch,
)
from chemtl.errors import InvalidFormulaError

SYMBOLS = element_symbols_by_z()


def slow(text):
    """The pymatgen path's result, or its error message."""
    try:
        return _parse_with_pymatgen(text)
    except InvalidFormulaError as exc:
        return str(exc)


def public(text):
    try:
        return parse_composition(text)
    except InvalidFormulaError as exc:
        return str(exc)


def batch_rows(texts):
    """``parse_simple_batch`` as {index: (elements, amounts)} for the formulas it parsed."""
    batch = parse_simple_batch(texts)
    assert batch is not None
    assert batch.z.dtype == "int64" and batch.amounts.dtype == "float64"
    rows, offset = {}, 0
    fallback = set(batch.fallback.tolist())
    for i, length in enumerate(batch.lengths.tolist()):
        if i in fallback:
            assert length == 0
            continue
        z, amounts = batch.z[offset : offset + length], batch.amounts[offset : offset + length]
        rows[i] = (tuple(SYMBOLS[k - 1] for k in z.tolist()), tuple(amounts.tolist()))
        offset += length
    assert offset == len(batch.z) == len(batch.amounts)
    return rows


# --- exact values -----------------------------------------------------------------------------

FAST = [
    ("Fe2O3", ("Fe", "O"), (2.0, 3.0)),
    ("Li0.5CoO2", ("Li", "Co", "O"), (0.5, 1.0, 2.0)),
    ("Ba0.5Sr0.5TiO3", ("Ba", "Sr", "Ti", "O"), (0.5, 0.5, 1.0, 3.0)),
    ("NaN", ("Na", "N"), (1.0, 1.0)),
    ("Fe.5", ("Fe",), (0.5,)),
    ("Fe2.O3", ("Fe", "O"), (2.0, 3.0)),
    ("Co8Ge12Li12O48", ("Co", "Ge", "Li", "O"), (8.0, 12.0, 12.0, 48.0)),
    ("Fe0.620C0.000953Mn0.000521", ("Fe", "C", "Mn"), (0.62, 0.000953, 0.000521)),
    ("FeC0.00000002", ("Fe", "C"), (1.0, 2e-08)),
    ("Fe0.1Fe0.2", ("Fe",), (0.1 + 0.2,)),  # repeated: added up in order, 0.30000000000000004
    ("OFeO", ("O", "Fe"), (2.0, 1.0)),
    ("Li3Fe2(PO4)3", ("Li", "Fe", "P", "O"), (3.0, 2.0, 3.0, 12.0)),
    ("(Ba0.5Sr0.5)TiO3", ("Ba", "Sr", "Ti", "O"), (0.5, 0.5, 1.0, 3.0)),
    ("O(FeO)2", ("O", "Fe"), (3.0, 2.0)),
    ("Ag(AuS)2", ("Ag", "Au", "S"), (1.0, 2.0, 2.0)),
    ("[Fe]", ("Fe",), (1.0,)),
    ("(Fe).5", ("Fe",), (0.5,)),
    ("(Fe0.1O0.2)3", ("Fe", "O"), (0.1 * 3, 0.2 * 3)),  # one product each, as pymatgen makes it
    ("(OFeO)0.1", ("O", "Fe"), (1.0 * 0.1 + 1.0 * 0.1, 0.1)),  # inside a group: products, then added
    ("(Fe2)4999999999999999", ("Fe",), (9999999999999998.0,)),
    ("Fe10000000000000000000", ("Fe",), (1e19,)),
]


@pytest.mark.parametrize(("formula", "elements", "amounts"), FAST)
def test_fast_path_exact_values(formula, elements, amounts):
    fast = _parse_simple(formula)
    assert fast is not None, "expected the fast path to take this formula"
    assert fast.elements == elements
    assert fast.amounts == amounts  # exact
    assert fast == _parse_with_pymatgen(formula)
    assert fast == parse_composition(formula)


# Left to pymatgen: shapes the fast path does not take, every error, and amounts where pymatgen's
# own text round trip (it expands groups to text and parses that again) would differ.
SLOW = [
    "CuSO4·5H2O",
    "CuSO4*5H2O",
    "5H2O",
    "K4[Fe(CN)6]",
    "((CH3)2N)2",
    "  Fe2O3",  # parse_composition strips first; _parse_simple takes stripped text only
    "Fe 2O3",
    "Xx2O3",
    "D2O",
    "T2O",
    "Feo",
    "fe2o3",
    "Fe0O3",
    "Fe0.0O3",
    "FeO0O",  # a zero amount is an error even where another amount would cover it
    "Fe-2O3",
    "Fe2(O3",
    "Fe2O3)",
    "Fe2(O3]",
    "Fe()",
    "Fe(2O)",
    "Fe2.5.3",
    "Fe.",
    "FeC0.000000001",  # below pymatgen's 1e-8: an error
    "Fe" + "9" * 400,  # overflows: an error
    "(Fe0.00001)2",  # 2e-05: pymatgen re-reads "Fe2e-05"
    "(Fe2)5000000000000000",  # 1e16: pymatgen re-reads "Fe1e+16" and fails
    "(Fe)0",
    "",
]


@pytest.mark.parametrize("formula", SLOW)
def test_fast_path_leaves_the_rest_to_pymatgen(formula):
    assert _parse_simple(formula) is None
    assert public(formula) == slow(formula)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("D2O", "unknown element 'D'"),
        ("T2O", "unknown element 'T'"),
        ("Xx2O3", "unknown element 'Xx'"),
        ("(Xx)2", "unknown element 'Xx'"),
        ("Fe0O3", "zero amount '0'"),
        ("(Fe)0", "zero amount '0'"),
        ("Fe-2O3", "negative amounts are not allowed"),
        ("FeC0.000000001", "amount of 'C' is below 1e-08"),
        ("(Fe2)5000000000000000", "could not convert string to float: '1e'"),
    ],
)
def test_errors_are_the_pymatgen_paths(formula, message):
    with pytest.raises(InvalidFormulaError) as info:
        parse_composition(formula)
    assert str(info.value) == f"invalid formula {formula!r}: {message}"


def test_batch_exact_values_and_fallbacks():
    texts = [f for f, _, _ in FAST] + SLOW
    rows = batch_rows(texts)
    for i, (formula, elements, amounts) in enumerate(FAST):
        if i in rows:
            assert rows[i] == (elements, amounts), formula
    # the batch takes the plain shapes, with groups, but no element twice (pymatgen adds up)
    taken = {texts[i] for i in rows}
    assert {"Fe2O3", "Li0.5CoO2", "Li3Fe2(PO4)3", "(Ba0.5Sr0.5)TiO3", "Ag(AuS)2", "[Fe]", "(Fe).5"} <= taken
    assert not taken & {"Fe0.1Fe0.2", "OFeO", "O(FeO)2", "Fe10000000000000000000", *SLOW}


def test_batch_edge_cases():
    assert parse_simple_batch([]) is None  # nothing to join
    assert parse_simple_batch(["Fe2O3", "Fe\nO"]) is None  # the separator inside a formula
    assert batch_rows([""]) == {}
    assert batch_rows(["Xx"]) == {}
    assert batch_rows(["Fe"]) == {0: (("Fe",), (1.0,))}
    assert batch_rows(["Fe", "(Fe)2", "Fe2O3 ", "é", "Og118"]) == {
        0: (("Fe",), (1.0,)),
        1: (("Fe",), (2.0,)),
        4: (("Og",), (118.0,)),
    }


def test_constants_agree_with_pymatgen():
    from pymatgen.core import Composition

    assert cc._TOLERANCE == Composition.amount_tolerance
    assert cc._element_symbols() == frozenset(SYMBOLS)
    assert max(map(len, SYMBOLS)) == 2  # the batch path reads symbols of one or two letters
    assert repr(cc._REPR_MAX) == "1e+16" and repr(cc._REPR_MAX - 2) == "9999999999999998.0"
    assert repr(cc._REPR_MIN) == "0.0001" and "e" in repr(cc._REPR_MIN * 0.999)


def test_new_parsed_is_the_dataclass():
    fields = tuple(f.name for f in dataclasses.fields(ParsedComposition))
    assert fields == ("formula", "elements", "amounts")
    made = cc._new_parsed("Fe2O3", ("Fe", "O"), (2.0, 3.0))
    plain = ParsedComposition("Fe2O3", ("Fe", "O"), (2.0, 3.0))
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.formula = "FeO"  # type: ignore[misc]


def test_parse_compositions():
    formulas = ["Fe2O3", "CuSO4·5H2O", " NaN "]
    assert parse_compositions(formulas) == [parse_composition(f) for f in formulas]
    assert parse_compositions([]) == []
    with pytest.raises(InvalidFormulaError, match="^invalid formula 'Xx': unknown element 'Xx'$"):
        parse_compositions(["Fe2O3", "Xx", "Yy"])
    with pytest.raises(InvalidFormulaError, match="expected a string"):
        parse_compositions(["Fe2O3", None])


# --- property tests: generated formulas, well formed and not ----------------------------------

# Well-formed pieces: known symbols (often from a short list, so that elements repeat) with valid
# amounts, groups, nested groups (which only the pymatgen path takes)
KNOWN = st.sampled_from(list(SYMBOLS) + ["Fe", "O", "H", "Li", "Co", "N", "Na"] * 10)
VALID_AMOUNT = st.one_of(
    st.just(""),
    st.integers(1, 999).map(str),  # integers
    st.integers(1, 99999).map(lambda i: f"{i / 1000:.3f}"),  # decimals
    st.sampled_from(["2.", ".5", "0.5", "1.0", "00.50", "07", "0.0001", "0.00000002", "0.00001", "1" * 15]),
)
ITEM = st.tuples(KNOWN, VALID_AMOUNT).map("".join)
BRACKETS = st.sampled_from(["()", "()", "[]"])
GROUP = st.tuples(BRACKETS, st.lists(ITEM, min_size=1, max_size=3), VALID_AMOUNT).map(
    lambda t: t[0][0] + "".join(t[1]) + t[0][1] + t[2]
)
NESTED = st.tuples(BRACKETS, st.lists(ITEM, max_size=2), GROUP, VALID_AMOUNT).map(
    lambda t: t[0][0] + "".join(t[1]) + t[2] + t[0][1] + t[3]
)
PIECES = st.lists(st.one_of(ITEM, ITEM, ITEM, GROUP, GROUP, NESTED), min_size=1, max_size=5)
# Odd pieces: unknown symbols, amounts that are zero, malformed, tiny, long or huge, bad groups
UNKNOWN = st.sampled_from(["D", "T", "Xx", "Uue", "Feo", "E", "J", "Q"])
ODD_AMOUNT = st.one_of(
    st.from_regex(r"[0-9]{1,3}\.[0-9]{0,4}", fullmatch=True),  # incl. zeros: "0.0", "00.000"
    st.from_regex(r"[0-9]{0,2}\.[0-9]{0,3}", fullmatch=True),  # "2.", ".5", and the malformed "."
    st.from_regex(r"0\.0{2,9}[1-9]", fullmatch=True),  # small, down past pymatgen's 1e-8
    st.from_regex(r"[1-9][0-9]{13,20}", fullmatch=True),  # long: past 15 digits and past 1e16
    st.from_regex(r"[0-9]{1,2}", fullmatch=True),  # "0", "00", "07"
    st.sampled_from(["0", "0.0", ".", "2.5.3", "1e5", "-2", "+2"]),
)
ODD = st.one_of(
    st.tuples(KNOWN, ODD_AMOUNT).map("".join),
    st.tuples(UNKNOWN, VALID_AMOUNT).map("".join),
    st.tuples(st.sampled_from(["(", "[", ")", "]", "()", "(]", "[)", "(("]), VALID_AMOUNT).map("".join),
    st.tuples(st.sampled_from(["(", "["]), ITEM, ITEM, st.sampled_from([")", "]"]), ODD_AMOUNT).map("".join),
)
NOISE = st.sampled_from(list("()[].·*• -+eE\n\t0123456789") + ["٣", "é", "²", "Fe", "fe", "x"])


@st.composite
def formulas(draw):
    """Well-formed formulas (about half), and formulas with one odd piece, a hydrate separator or a
    leading multiplier, a character inserted or dropped, or white space around."""
    pieces = draw(PIECES)
    kind = draw(st.integers(0, 9))
    if kind == 5:  # an odd piece
        pieces.insert(draw(st.integers(0, len(pieces))), draw(ODD))
    text = "".join(pieces)
    if kind == 6:  # hydrate, or a leading multiplier
        more = "".join(draw(PIECES))
        text = (
            draw(st.sampled_from(["", "5", "0.5"])) + text + draw(st.sampled_from(["·", "*", "•", ""])) + more
        )
    elif kind == 7:  # insert noise
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(NOISE) + text[i:]
    elif kind == 8:  # drop a character
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + text[i + 1 :]
    elif kind == 9:  # surrounding white space
        text = draw(st.sampled_from([" ", "\n", "\t "])) + text + draw(st.sampled_from(["", " ", "\n"]))
    return text


# Plain formulas, which must take the fast paths (else the tests could pass with nothing taken)
PLAIN_ITEM = st.tuples(
    st.sampled_from(SYMBOLS),
    st.one_of(
        st.just(""),
        st.integers(1, 10**6).map(str),
        st.integers(1, 10**6).map(lambda i: f"{i / 1000:g}").filter(lambda s: "e" not in s),
    ),
)


@st.composite
def plain_formulas(draw, unique: bool = False):
    """Known symbols with valid amounts, maybe a run of them bracketed; all different if ``unique``."""
    items = draw(st.lists(PLAIN_ITEM, min_size=1, max_size=8, unique_by=(lambda t: t[0]) if unique else None))
    parts = [symbol + amount for symbol, amount in items]
    if draw(st.booleans()):  # bracket a run of items
        start = draw(st.integers(0, len(parts) - 1))
        size = draw(st.integers(1, 3))
        bracket = draw(BRACKETS)
        multiplier = draw(st.sampled_from(["", "2", "0.5", "12"]))
        parts[start : start + size] = [
            bracket[0] + "".join(parts[start : start + size]) + bracket[1] + multiplier
        ]
    return "".join(parts)


ANY_TEXT = st.one_of(
    formulas(), formulas(), formulas(), st.text(max_size=12), st.lists(NOISE, max_size=8).map("".join)
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT)
def test_fast_path_equals_pymatgen_path(text):
    expected = slow(text)
    fast = _parse_simple(text.strip())
    if fast is not None:
        assert isinstance(expected, ParsedComposition), (
            f"fast path took a formula pymatgen rejects: {expected}"
        )
        assert fast == expected  # formula, elements in order, amounts float for float
        assert all(type(a) is float for a in fast.amounts)
    assert public(text) == expected  # the public function: the same result, or the same message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(ANY_TEXT, plain_formulas(unique=True)), min_size=1, max_size=12))
def test_batch_path_equals_pymatgen_path(texts):
    if any("\n" in t for t in texts):
        assert parse_simple_batch(texts) is None
        texts = [t.replace("\n", "") for t in texts]
    for i, (elements, amounts) in batch_rows(texts).items():
        expected = slow(texts[i])
        assert isinstance(expected, ParsedComposition), f"batch took {texts[i]!r}, which pymatgen rejects"
        assert (elements, amounts) == (expected.elements, expected.amounts)


@settings(max_examples=200, deadline=None)
@given(text=plain_formulas())
def test_plain_formulas_take_the_fast_path(text):
    fast = _parse_simple(text)
    assert fast is not None
    assert fast == _parse_with_pymatgen(text)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(plain_formulas(unique=True), min_size=1, max_size=20))
def test_plain_formulas_without_repeats_take_the_batch_path(texts):
    rows = batch_rows(texts)
    assert sorted(rows) == list(range(len(texts)))
    for i, text in enumerate(texts):
        expected = _parse_with_pymatgen(text)
        assert rows[i] == (expected.elements, expected.amounts)
