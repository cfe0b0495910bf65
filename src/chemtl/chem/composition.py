"""Composition strings (``Fe2O3``, ``(Ba0.5Sr0.5)TiO3``, ``CuSO4·5H2O``) parsed strictly.

pymatgen's ``Composition`` does the arithmetic (nested groups, fractional amounts); this module
adds the checks a user needs where pymatgen is lenient: unknown symbols (pymatgen turns them into
dummy species), zero amounts (pymatgen drops ``O0`` silently), stray characters, unbalanced
brackets and lowercase input are all ``InvalidFormulaError`` naming the bad value.

Grammar, informally::

    formula  := part (HYDRATE part)*          HYDRATE is '·', '•' or '*'
    part     := [number] group+               a leading number multiplies the part ("5H2O")
    group    := Element [number] | '(' group+ ')' [number] | '[' group+ ']' [number]
    number   := digits ['.' digits] | '.' digits

A plain ``.`` is always a decimal point: ``CuSO4.5H2O`` reads as Cu S O4.5 H2 O (O 5.5), not as
a pentahydrate; write ``CuSO4·5H2O`` or ``CuSO4*5H2O`` for that. Leading and trailing white
space is ignored; white space inside a formula is an error. ``NaN`` is sodium nitride.

Element order is the order of first appearance in the formula as written, after groups are
expanded (``Li3Fe2(PO4)3`` -> Li, Fe, P, O); the tokenizers rely on it being deterministic.

Speed: the common shapes ("Fe2O3", "Li0.5CoO2", "Ag9(PbO3)4") are parsed without pymatgen, with
exactly pymatgen's result (the same floats, added up in the same order); everything else, and
every error, goes through pymatgen. ``parse_simple_batch`` parses a whole batch of the plainest
shape at once, for the tokenizer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from chemtl.errors import InvalidFormulaError

HYDRATE_SEPARATORS = ("·", "•", "*")

# fmt: off
ELEMENT_SYMBOLS: tuple[str, ...] = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
    "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr",
    "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
    "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
    "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn",
    "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr",
    "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
)
# fmt: on
"""The 118 element symbols in atomic-number order; index ``Z - 1`` (pymatgen's, a test checks)."""

# [0-9], not \d: \d also matches other scripts' digits ("Fe٣"), which float() would accept.
_TOKEN = re.compile(
    r"(?P<el>[A-Z][a-z]*)|(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(?P<open>[(\[])|(?P<close>[)\]])"
)
_ELEMENT = re.compile(r"[A-Z][a-z]*")
_CLOSING = {"(": ")", "[": "]"}


@dataclass(frozen=True, slots=True)
class ParsedComposition:
    """A validated composition: elements in first-appearance order and their amounts."""

    formula: str
    elements: tuple[str, ...]
    amounts: tuple[float, ...]

    @property
    def total(self) -> float:
        return float(sum(self.amounts))

    @property
    def fractions(self) -> tuple[float, ...]:
        """Atomic fractions, summing to 1, aligned with ``elements``."""
        total = self.total
        return tuple(a / total for a in self.amounts)

    @property
    def reduced_formula(self) -> str:
        """pymatgen's reduced formula: the key used for deduplication and grouped splits."""
        return _pymatgen(self).reduced_formula

    @property
    def chemical_system(self) -> str:
        """Elements sorted alphabetically and joined by '-', e.g. 'Fe-O'."""
        return "-".join(sorted(self.elements))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.elements, self.amounts))


def _pymatgen(parsed: ParsedComposition):
    from pymatgen.core import Composition

    return Composition(parsed.as_dict())


@lru_cache(maxsize=1)
def _element_symbols() -> frozenset[str]:
    from pymatgen.core.periodic_table import Element

    return frozenset(e.symbol for e in Element if e.Z <= 118)


def element_symbols_by_z() -> tuple[str, ...]:
    """The 118 element symbols in atomic-number order (H ... Og): ``ELEMENT_SYMBOLS``."""
    return ELEMENT_SYMBOLS


def _fail(formula: str, why: str) -> InvalidFormulaError:
    return InvalidFormulaError(f"invalid formula {formula!r}: {why}")


def _check_part(formula: str, part: str) -> tuple[float, str]:
    """Validate one hydrate part; return its leading multiplier and the rest of the text."""
    if not part:
        raise _fail(formula, "empty part around a hydrate separator")
    pos, stack, multiplier, body_start, prev = 0, [], 1.0, 0, None
    while pos < len(part):
        m = _TOKEN.match(part, pos)
        if m is None:
            ch = part[pos]
            if ch == "-":
                raise _fail(formula, "negative amounts are not allowed")
            if ch.isspace():
                raise _fail(formula, "white space inside a formula")
            if ch.islower():
                raise _fail(formula, f"element symbols start with a capital letter, got {part[pos:]!r}")
            raise _fail(formula, f"unexpected character {ch!r}")
        kind, text = m.lastgroup, m.group()
        if kind == "el":
            if text not in _element_symbols():
                raise _fail(formula, f"unknown element {text!r}")
        elif kind == "num":
            value = float(text)
            if value == 0:
                raise _fail(formula, f"zero amount {text!r}")
            if prev is None:  # leading multiplier of a hydrate part: "5H2O"
                multiplier, body_start = value, m.end()
            elif prev not in ("el", "close"):
                raise _fail(formula, f"amount {text!r} must follow an element or a closing bracket")
        elif kind == "open":
            stack.append(text)
        else:
            if not stack or _CLOSING[stack.pop()] != text:
                raise _fail(formula, f"unbalanced bracket {text!r}")
            if prev == "open":
                raise _fail(formula, "empty brackets")
        prev = kind
        pos = m.end()
    if stack:
        raise _fail(formula, f"unclosed bracket {stack[-1]!r}")
    body = part[body_start:]
    if not any(c.isupper() for c in body):
        raise _fail(formula, "no element symbol")
    return multiplier, body


def parse_composition(formula: str) -> ParsedComposition:
    """Parse and validate ``formula``; raise ``InvalidFormulaError`` naming what is wrong."""
    if not isinstance(formula, str):  # checked before the cache, which needs a hashable key
        raise InvalidFormulaError(f"invalid formula {formula!r}: expected a string")
    return _parse_composition(formula)


def parse_compositions(formulas: Iterable[str]) -> list[ParsedComposition]:
    """``[parse_composition(f) for f in formulas]``, with less overhead per formula; raises the
    error of the first formula that does not parse."""
    formulas = list(formulas)
    if set(map(type, formulas)) <= {str}:
        return list(map(_parse_composition, formulas))
    return [parse_composition(f) for f in formulas]


@lru_cache(maxsize=65536)
def _parse_composition(formula: str) -> ParsedComposition:
    parsed = _parse_simple(formula.strip())
    if parsed is None:
        return _parse_with_pymatgen(formula)
    return parsed


# The fast path, for the common shapes: element symbols with optional amounts ("Fe2O3",
# "Li0.5CoO2"), optionally with un-nested "(...)n" or "[...]n" groups of them ("Ag9(PbO3)4").
# It gives exactly what ``_parse_with_pymatgen`` gives (the same floats, added in the same order)
# and returns None, leaving the formula to that path, for everything else: other shapes, unknown
# symbols, zero amounts, amounts pymatgen would drop (below 1e-8) or that overflow, and group
# amounts pymatgen would print in exponent notation (it expands "(PO4)3" to the text "P3.0O12.0"
# and parses that again, which is exact only for plain decimal notation).
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"  # the numbers of _TOKEN
_NUMBER_OR_NOTHING = re.compile(f"{_NUMBER}?")
# on a string that starts with a capital: covers it, a symbol and whatever follows up to the next
# capital ("Fe2O3" -> ("Fe", "2"), ("O", "3")); the second part must then be an amount or nothing
_ELEMENT_AND_REST = re.compile(r"([A-Z][a-z]*)([^A-Z]*)")
_SIMPLE_ELEMENT = rf"[A-Z][a-z]*{_NUMBER}?"
_SIMPLE_GROUPS = re.compile(
    rf"(?:{_SIMPLE_ELEMENT}|\((?:{_SIMPLE_ELEMENT})+\){_NUMBER}?|\[(?:{_SIMPLE_ELEMENT})+\]{_NUMBER}?)+"
)
# an element and its amount, or a group's inside and its multiplier; on a string that matched
# _SIMPLE_GROUPS the split is unambiguous (an amount always runs up to a capital or a bracket)
_GROUPS_TOKEN = re.compile(rf"([A-Z][a-z]*)({_NUMBER}?)|[(\[]([^)\]]+)[)\]]({_NUMBER}?)")
_GROUP_ITEM = re.compile(rf"([A-Z][a-z]*)({_NUMBER}?)")
_TOLERANCE = 1e-8  # pymatgen's Composition.amount_tolerance (a test checks that they agree)
_REPR_MIN, _REPR_MAX = 1e-4, 1e16  # repr(x) has no exponent exactly when 1e-4 <= x < 1e16
# amount text -> float, for valid amounts only ("" is 1); bounded, the same few recur
_AMOUNTS: dict[str, float] = {"": 1.0}
_AMOUNTS_MAX = 4096


def _amount(text: str) -> float | None:
    """The value of an amount as written ("" is 1), or None when it is not a plain number."""
    value = _AMOUNTS.get(text)
    if value is None and _NUMBER_OR_NOTHING.fullmatch(text):
        value = float(text)
        if len(_AMOUNTS) < _AMOUNTS_MAX:
            _AMOUNTS[text] = value
    return value


def _new_parsed(formula: str, elements: tuple[str, ...], amounts: tuple[float, ...]) -> ParsedComposition:
    """``ParsedComposition(formula, elements, amounts)``, set through the slots directly: the frozen
    dataclass's ``__init__`` costs a sixth of a simple parse (a test checks that they agree)."""
    parsed = object.__new__(ParsedComposition)
    _SET_FORMULA(parsed, formula)
    _SET_ELEMENTS(parsed, elements)
    _SET_AMOUNTS(parsed, amounts)
    return parsed


_SET_FORMULA = ParsedComposition.formula.__set__  # type: ignore[attr-defined]
_SET_ELEMENTS = ParsedComposition.elements.__set__  # type: ignore[attr-defined]
_SET_AMOUNTS = ParsedComposition.amounts.__set__  # type: ignore[attr-defined]


def _parse_simple(text: str) -> ParsedComposition | None:
    """``text`` (already stripped) parsed without pymatgen, or None to leave it to pymatgen."""
    if "(" in text or "[" in text:
        return _parse_simple_groups(text)
    if not "A" <= text[:1] <= "Z":  # empty, or not starting with a symbol ("5H2O", "fe")
        return None
    elements, numbers = zip(*_ELEMENT_AND_REST.findall(text))
    amounts = tuple(map(_AMOUNTS.get, numbers))
    if None in amounts:
        amounts = tuple(map(_amount, numbers))
        if None in amounts:
            return None
    if 0.0 in amounts or not _element_symbols().issuperset(elements):
        return None
    if len(set(elements)) != len(elements):  # a repeated element: add up in order, as pymatgen does
        merged: dict[str, float] = {}
        for element, amount in zip(elements, amounts):
            merged[element] = merged.get(element, 0.0) + amount
        elements, amounts = tuple(merged), tuple(merged.values())
    if min(amounts) < _TOLERANCE or max(amounts) == math.inf:
        return None
    return _new_parsed(text, elements, amounts)


def _parse_simple_groups(text: str) -> ParsedComposition | None:
    if _SIMPLE_GROUPS.fullmatch(text) is None:
        return None
    symbols = _element_symbols()
    amounts: dict[str, float] = {}
    for element, number, group, multiplier in _GROUPS_TOKEN.findall(text):
        if element:
            if element not in symbols:
                return None
            amount = float(number) if number else 1.0
            if amount == 0:
                return None
            amounts[element] = amounts.get(element, 0.0) + amount
            continue
        factor = float(multiplier) if multiplier else 1.0
        if factor == 0:
            return None
        inner: dict[str, float] = {}  # pymatgen expands a group on its own first
        for element, number in _GROUP_ITEM.findall(group):
            if element not in symbols:
                return None
            amount = float(number) if number else 1.0
            if amount == 0:
                return None
            inner[element] = inner.get(element, 0.0) + amount * factor
        for element, amount in inner.items():
            if not _REPR_MIN <= amount < _REPR_MAX:
                return None
            amounts[element] = amounts.get(element, 0.0) + amount
    values = tuple(amounts.values())
    if min(values) < _TOLERANCE or max(values) == math.inf:
        return None
    return _new_parsed(text, tuple(amounts), values)


# ----------------------------------------------------------------------------------------------
# A whole batch at once, for the tokenizer: the formulas joined by newlines, as bytes, classified
# and parsed with numpy. Taken: symbols of the 118 elements (a capital and at most one lowercase
# letter), each with an optional amount, optionally in un-nested "(...)n" / "[...]n" groups, no
# element twice (pymatgen's additions are left to it), nothing else (no white space, separators,
# leading multiplier); amounts of at most 15 digits, so that mantissa / 10**k is exact (both are
# integers below 2**53, and IEEE division rounds correctly, as float() does); every amount nonzero
# and not below 1e-8, and every amount times its group's multiplier in [1e-4, 1e16) (see
# _REPR_MIN). For these the result is each symbol's amount (times its group's multiplier: the one
# float product pymatgen makes) in order, as ``parse_composition`` gives it. Every other formula
# is a fallback, left to ``parse_composition``.


class SimpleBatch(NamedTuple):
    """``parse_simple_batch``'s result: the formulas it parsed, flat, and those it left."""

    z: np.ndarray  # (K,) int64: the atomic numbers of the parsed formulas' elements, in order
    amounts: np.ndarray  # (K,) float64: their amounts, exactly as parse_composition gives them
    lengths: np.ndarray  # (B,) int64: elements per formula; 0 for a fallback
    fallback: np.ndarray  # (F,) int64: indices of the formulas left to parse_composition


_OTHER, _UPPER, _LOWER, _DIGIT, _DOT, _NEWLINE, _OPEN, _CLOSE = range(8)
_MAX_DIGITS = 15
_POW10 = np.array([float(10**i) for i in range(_MAX_DIGITS + 1)])  # exact


@lru_cache(maxsize=1)
def _batch_tables() -> tuple[np.ndarray, np.ndarray]:
    """Byte -> class, and (first letter * 256 + second letter or 0) -> atomic number or -1."""
    classes = np.full(256, _OTHER, dtype=np.int8)
    classes[ord("A") : ord("Z") + 1] = _UPPER
    classes[ord("a") : ord("z") + 1] = _LOWER
    classes[ord("0") : ord("9") + 1] = _DIGIT
    classes[ord(".")] = _DOT
    classes[ord("\n")] = _NEWLINE
    classes[[ord("("), ord("[")]] = _OPEN
    classes[[ord(")"), ord("]")]] = _CLOSE
    atomic_number = np.full(256 * 256, -1, dtype=np.int64)
    for z, symbol in enumerate(element_symbols_by_z(), 1):
        atomic_number[ord(symbol[0]) * 256 + (ord(symbol[1]) if len(symbol) > 1 else 0)] = z
    return classes, atomic_number


def parse_simple_batch(formulas: Sequence[str]) -> SimpleBatch | None:
    """Parse the common formulas of a batch at once (see above); None when a formula contains a
    newline, which the batch is joined with (then use ``parse_compositions``)."""
    n = len(formulas)
    joined = "\n".join(formulas)
    if joined.count("\n") != n - 1:
        return None
    classes, atomic_number = _batch_tables()
    text = np.frombuffer(joined.encode("ascii", "replace"), dtype=np.uint8)  # non-ASCII: b"?"
    size = len(text)
    cls = classes[text]
    row = np.cumsum(cls == _NEWLINE)  # the formula of each byte (a newline starts the next)
    bad = np.zeros(n, dtype=bool)
    bad[row[cls == _OTHER]] = True
    prev = np.empty(size, dtype=np.int8)
    prev[:1], prev[1:] = _NEWLINE, cls[:-1]
    nxt = np.empty(size, dtype=np.int8)
    nxt[-1:], nxt[:-1] = _NEWLINE, cls[1:]
    bad[row[(cls == _LOWER) & (prev != _UPPER)]] = True  # "Feo", "fe", "2e": not a symbol of 118

    # element symbols: a capital and at most one lowercase letter
    capitals = np.flatnonzero(cls == _UPPER)
    two_letters = nxt[capitals] == _LOWER
    second = np.where(two_letters, text[np.minimum(capitals + 1, size - 1)], 0)
    z = atomic_number[text[capitals].astype(np.int64) * 256 + second]
    element_row = row[capitals]
    bad[element_row[z < 0]] = True

    # brackets: per formula open, close, open, close ..., matching, none empty
    brackets = np.flatnonzero((cls == _OPEN) | (cls == _CLOSE))
    bracket_row = row[brackets]
    is_open = cls[brackets] == _OPEN
    first = np.ones(len(brackets), dtype=bool)
    first[1:] = bracket_row[1:] != bracket_row[:-1]
    rank = np.arange(len(brackets)) - np.maximum.accumulate(np.where(first, np.arange(len(brackets)), 0))
    bad[bracket_row[is_open != (rank % 2 == 0)]] = True
    bad[np.bincount(bracket_row, minlength=n) % 2 == 1] = True
    shape = text[brackets] | 1  # "(" 40 and ")" 41 -> 41, "[" 91 and "]" 93 -> 91, 93
    mismatched = ~is_open[1:] & (shape[1:] != np.where(shape[:-1] == 91, 93, shape[:-1]))
    bad[bracket_row[1:][mismatched]] = True
    bad[row[(cls == _CLOSE) & (prev == _OPEN)]] = True  # "()"

    # amounts: runs of digits and dots, each right after a symbol or a closing bracket
    is_num = (cls == _DIGIT) | (cls == _DOT)
    run_start = is_num & (prev != _DIGIT) & (prev != _DOT)
    starts = np.flatnonzero(run_start)
    ends = np.flatnonzero(is_num & (nxt != _DIGIT) & (nxt != _DOT)) + 1
    after = prev[starts]
    bad[row[starts[(after != _UPPER) & (after != _LOWER) & (after != _CLOSE)]]] = True  # "5H2O"
    dots_before = np.concatenate(([0], np.cumsum(cls == _DOT)))
    digits_before = np.concatenate(([0], np.cumsum(cls == _DIGIT)))
    dots = dots_before[ends] - dots_before[starts]
    digits = digits_before[ends] - digits_before[starts]
    bad[row[starts[(dots > 1) | (digits == 0) | (digits > _MAX_DIGITS)]]] = True
    digit_at = np.flatnonzero(cls == _DIGIT)
    run = (np.cumsum(run_start) - 1)[digit_at]
    place = np.minimum(digits_before[ends[run]] - digits_before[digit_at + 1], _MAX_DIGITS)
    # the mantissa's partial sums are integers below 10**15 < 2**53: exact in float64
    mantissa = np.bincount(run, weights=(text[digit_at] - 48) * _POW10[place], minlength=len(starts))
    after_dot = dots_before[digit_at] > dots_before[starts[run]]
    decimals = np.bincount(run, weights=after_dot, minlength=len(starts)).astype(np.int64)
    value = mantissa / _POW10[np.minimum(decimals, _MAX_DIGITS)]
    bad[row[starts[~(value >= _TOLERANCE)]]] = True  # zero, or below pymatgen's tolerance
    run_at = np.full(size + 1, -1, dtype=np.int64)  # -1: no amount here, which is 1
    run_at[starts] = np.arange(len(starts))
    value = np.append(value, 1.0)
    amounts = value[run_at[capitals + 1 + two_letters]]

    # in a group: times the group's multiplier (valid formulas: the bracket before is an open one)
    if len(brackets):
        before = np.searchsorted(brackets, capitals) - 1
        grouped = (before >= 0) & is_open[before] & (bracket_row[before] == element_row)
        close = brackets[np.minimum(before[grouped] + 1, len(brackets) - 1)]
        amounts[grouped] *= value[run_at[close + 1]]
        inside = amounts[grouped]
        bad[element_row[grouped][~((_REPR_MIN <= inside) & (inside < _REPR_MAX))]] = True

    # an element twice (pymatgen adds up), or no element at all: leave to parse_composition
    key = np.sort(element_row * 128 + np.maximum(z, 0))  # z <= 118; unknown (-1) rows are bad already
    bad[key[1:][key[1:] == key[:-1]] // 128] = True
    counts = np.bincount(element_row, minlength=n)
    bad |= counts == 0
    keep = ~bad[element_row]
    return SimpleBatch(z[keep], amounts[keep], np.where(bad, 0, counts), np.flatnonzero(bad))


def _parse_with_pymatgen(formula: str) -> ParsedComposition:
    """The general path: every shape of the grammar, and every error message."""
    text = formula.strip()
    if not text:
        raise InvalidFormulaError(f"invalid formula {formula!r}: empty")
    parts = [text]
    for sep in HYDRATE_SEPARATORS:
        parts = [p for chunk in parts for p in chunk.split(sep)]

    from pymatgen.core import Composition

    amounts: dict[str, float] = {}
    for part in parts:
        multiplier, body = _check_part(text, part)
        try:
            comp = Composition(body)
        except Exception as exc:  # pymatgen raises several types for malformed input
            raise _fail(text, str(exc) or type(exc).__name__) from None
        dropped = [el for el in dict.fromkeys(_ELEMENT.findall(body)) if el not in comp]
        if dropped:  # pymatgen silently drops amounts below Composition.amount_tolerance (1e-8)
            raise _fail(text, f"amount of {dropped[0]!r} is below {Composition.amount_tolerance:g}")
        for element, amount in comp.items():
            symbol = str(element)
            amounts[symbol] = amounts.get(symbol, 0.0) + float(amount) * multiplier
    for symbol, amount in amounts.items():
        if not math.isfinite(amount):
            raise _fail(text, f"amount of {symbol!r} is too large")
    return ParsedComposition(text, tuple(amounts), tuple(amounts.values()))


def is_valid_formula(formula: str) -> bool:
    try:
        parse_composition(formula)
    except InvalidFormulaError:
        return False
    return True
