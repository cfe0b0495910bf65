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
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from chemtl.errors import InvalidFormulaError

HYDRATE_SEPARATORS = ("·", "•", "*")
# [0-9], not \d: \d also matches other scripts' digits ("Fe٣"), which float() would accept.
_TOKEN = re.compile(
    r"(?P<el>[A-Z][a-z]*)|(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(?P<open>[(\[])|(?P<close>[)\]])"
)
_ELEMENT = re.compile(r"[A-Z][a-z]*")
_CLOSING = {"(": ")", "[": "]"}


@dataclass(frozen=True)
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
    """The 118 element symbols in atomic-number order (H ... Og)."""
    from pymatgen.core.periodic_table import Element

    return tuple(Element.from_Z(z).symbol for z in range(1, 119))


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


@lru_cache(maxsize=65536)
def _parse_composition(formula: str) -> ParsedComposition:
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
