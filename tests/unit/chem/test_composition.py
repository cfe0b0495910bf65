"""Strict composition parsing: exact elements, amounts, fractions and error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chemtl.chem.composition import (
    element_symbols_by_z,
    is_valid_formula,
    parse_composition,
)
from chemtl.errors import ChemtlError, InvalidFormulaError


@pytest.mark.parametrize(
    ("formula", "elements", "amounts"),
    [
        ("Fe2O3", ("Fe", "O"), (2.0, 3.0)),
        ("Li3Fe2(PO4)3", ("Li", "Fe", "P", "O"), (3.0, 2.0, 3.0, 12.0)),
        ("(Ba0.5Sr0.5)TiO3", ("Ba", "Sr", "Ti", "O"), (0.5, 0.5, 1.0, 3.0)),
        ("K4[Fe(CN)6]", ("K", "Fe", "C", "N"), (4.0, 1.0, 6.0, 6.0)),
        ("((CH3)2N)2", ("C", "H", "N"), (4.0, 12.0, 2.0)),
        ("CuSO4·5H2O", ("Cu", "S", "O", "H"), (1.0, 1.0, 9.0, 10.0)),
        ("CuSO4•5H2O", ("Cu", "S", "O", "H"), (1.0, 1.0, 9.0, 10.0)),
        ("CuSO4*5H2O", ("Cu", "S", "O", "H"), (1.0, 1.0, 9.0, 10.0)),
        # a plain '.' is a decimal point: O4.5, then H2 O
        ("CuSO4.5H2O", ("Cu", "S", "O", "H"), (1.0, 1.0, 5.5, 2.0)),
        ("NaN", ("Na", "N"), (1.0, 1.0)),
        ("Ag(AuS)2", ("Ag", "Au", "S"), (1.0, 2.0, 2.0)),
        ("Fe0.620C0.000953Mn0.000521", ("Fe", "C", "Mn"), (0.62, 0.000953, 0.000521)),
        ("5H2O", ("H", "O"), (10.0, 5.0)),
        ("O(FeO)2", ("O", "Fe"), (3.0, 2.0)),
        ("[Fe]", ("Fe",), (1.0,)),
        ("Fe.5", ("Fe",), (0.5,)),
    ],
)
def test_parse_exact(formula, elements, amounts):
    parsed = parse_composition(formula)
    assert parsed.formula == formula
    assert parsed.elements == elements
    assert parsed.amounts == pytest.approx(amounts, rel=1e-12)
    assert sum(parsed.fractions) == pytest.approx(1.0, rel=1e-12)


def test_fractions_and_derived_fields():
    parsed = parse_composition("Fe2O3")
    assert parsed.fractions == (0.4, 0.6)
    assert parsed.total == 5.0
    assert parsed.reduced_formula == "Fe2O3"
    assert parsed.chemical_system == "Fe-O"
    assert parsed.as_dict() == {"Fe": 2.0, "O": 3.0}
    lfp = parse_composition("Li3Fe2(PO4)3")
    assert lfp.fractions == pytest.approx((0.15, 0.1, 0.15, 0.6), rel=1e-12)
    assert lfp.chemical_system == "Fe-Li-O-P"
    assert parse_composition("CuSO4·5H2O").reduced_formula == "CuH10SO9"
    assert parse_composition("(Ba0.5Sr0.5)TiO3").fractions == pytest.approx((0.1, 0.1, 0.2, 0.6), rel=1e-12)


def test_steels_tiny_fractions_are_kept():
    parsed = parse_composition("Fe0.620C0.000953Mn0.000521")
    total = 0.620 + 0.000953 + 0.000521
    assert parsed.fractions == pytest.approx((0.620 / total, 0.000953 / total, 0.000521 / total), rel=1e-12)
    assert parse_composition("FeC0.00000002").amounts == (1.0, 2e-08)


def test_outer_whitespace_is_stripped():
    parsed = parse_composition("  Fe2O3\n")
    assert parsed.formula == "Fe2O3"
    assert parsed.elements == ("Fe", "O")
    assert parsed.amounts == (2.0, 3.0)


def test_element_symbols_by_z():
    symbols = element_symbols_by_z()
    assert len(symbols) == 118
    assert symbols[:3] == ("H", "He", "Li")
    assert symbols[25] == "Fe"
    assert symbols[-1] == "Og"


def test_element_symbols_are_pymatgens():
    from pymatgen.core.periodic_table import Element

    assert element_symbols_by_z() == tuple(Element.from_Z(z).symbol for z in range(1, 119))


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("Xx2O3", "invalid formula 'Xx2O3': unknown element 'Xx'"),
        ("D2O", "invalid formula 'D2O': unknown element 'D'"),
        ("Fe0O3", "invalid formula 'Fe0O3': zero amount '0'"),
        ("Fe0.0O3", "invalid formula 'Fe0.0O3': zero amount '0.0'"),
        ("Fe-2O3", "invalid formula 'Fe-2O3': negative amounts are not allowed"),
        ("", "invalid formula '': empty"),
        ("   ", "invalid formula '   ': empty"),
        ("fe2o3", "invalid formula 'fe2o3': element symbols start with a capital letter, got 'fe2o3'"),
        ("Fe2(O3", "invalid formula 'Fe2(O3': unclosed bracket '('"),
        ("Fe2O3)", "invalid formula 'Fe2O3)': unbalanced bracket ')'"),
        ("Fe2(O3]", "invalid formula 'Fe2(O3]': unbalanced bracket ']'"),
        ("Fe()", "invalid formula 'Fe()': empty brackets"),
        ("Fe 2O3", "invalid formula 'Fe 2O3': white space inside a formula"),
        ("Fe2O3·", "invalid formula 'Fe2O3·': empty part around a hydrate separator"),
        ("5", "invalid formula '5': no element symbol"),
        ("Fe(2O)", "invalid formula 'Fe(2O)': amount '2' must follow an element or a closing bracket"),
        ("Fe2O3!", "invalid formula 'Fe2O3!': unexpected character '!'"),
        ("Fe٣", "invalid formula 'Fe٣': unexpected character '٣'"),
        ("FeC0.000000001", "invalid formula 'FeC0.000000001': amount of 'C' is below 1e-08"),
        ("Fe" + "9" * 400, f"invalid formula {'Fe' + '9' * 400!r}: amount of 'Fe' is too large"),
        (None, "invalid formula None: expected a string"),
        (["Fe"], "invalid formula ['Fe']: expected a string"),
    ],
)
def test_errors_name_the_value(formula, message):
    with pytest.raises(InvalidFormulaError) as info:
        parse_composition(formula)
    assert str(info.value) == message
    assert isinstance(info.value, ChemtlError)
    assert isinstance(info.value, ValueError)


def test_is_valid_formula():
    assert is_valid_formula("Fe2O3") is True
    assert is_valid_formula("NaN") is True
    assert is_valid_formula("Fe2(O3") is False
    assert is_valid_formula("c1ccccc1") is False


# --- property tests ---------------------------------------------------------------------------

SYMBOLS = element_symbols_by_z()
INT_AMOUNTS = st.integers(min_value=1, max_value=30).map(lambda i: (str(i), float(i)))
DECIMAL_AMOUNTS = st.integers(min_value=10, max_value=9999).map(lambda i: (f"{i / 100:.2f}", i / 100))
# decimals >= 0.1 so nested products stay above pymatgen's 1e-8 tolerance
AMOUNT = st.one_of(st.none(), INT_AMOUNTS, DECIMAL_AMOUNTS)


def _leaf():
    return st.tuples(st.sampled_from(SYMBOLS), AMOUNT).map(lambda t: ("el", t[0], t[1]))


def _group(children):
    return st.tuples(st.sampled_from("(["), st.lists(children, min_size=1, max_size=3), AMOUNT).map(
        lambda t: ("group", t[0], t[1], t[2])
    )


NODE = st.recursive(_leaf(), _group, max_leaves=6)


def _render(node) -> str:
    if node[0] == "el":
        _, symbol, amount = node
        return symbol + (amount[0] if amount else "")
    _, bracket, children, amount = node
    close = ")" if bracket == "(" else "]"
    return bracket + "".join(_render(c) for c in children) + close + (amount[0] if amount else "")


def _count(node, factor: float, out: dict[str, float]) -> None:
    """Expand ``node`` independently of the parser: amounts in first-appearance order."""
    if node[0] == "el":
        _, symbol, amount = node
        out[symbol] = out.get(symbol, 0.0) + factor * (amount[1] if amount else 1.0)
        return
    _, _, children, amount = node
    inner = factor * (amount[1] if amount else 1.0)
    for child in children:
        _count(child, inner, out)


PART = st.tuples(st.one_of(st.none(), INT_AMOUNTS), st.lists(NODE, min_size=1, max_size=4))


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(PART, min_size=1, max_size=3), sep=st.sampled_from(["·", "•", "*"]))
def test_generated_formulas_parse_to_independently_computed_amounts(parts, sep):
    texts, expected = [], {}
    for multiplier, nodes in parts:
        body = "".join(_render(n) for n in nodes)
        # a leading multiplier must not merge with a leading amount-less body; bodies start with
        # a capital letter or a bracket, so "5" + "H2O" is unambiguous
        texts.append((multiplier[0] if multiplier else "") + body)
        factor = multiplier[1] if multiplier else 1.0
        for node in nodes:
            _count(node, factor, expected)
    formula = sep.join(texts)
    parsed = parse_composition(formula)
    assert parsed.elements == tuple(expected)
    assert parsed.amounts == pytest.approx(tuple(expected.values()), rel=1e-9)
    assert sum(parsed.fractions) == pytest.approx(1.0, rel=1e-9)


FORMULA_CHARS = st.sampled_from(
    list("HCNOFeSiClBrNaK()[]0123456789.·*•-+ xyz=#@!") + ["٣", "\u00b2", "é", "\n"]
)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(), st.lists(FORMULA_CHARS, max_size=20).map("".join)))
def test_random_text_parses_or_raises_invalid_formula(text):
    try:
        parsed = parse_composition(text)
    except InvalidFormulaError as exc:
        assert repr(text.strip()) in str(exc) or repr(text) in str(exc)
    else:
        assert parsed.elements
        assert all(a > 0 for a in parsed.amounts)
        assert sum(parsed.fractions) == pytest.approx(1.0, rel=1e-9)
