"""The composition token grammar of the generators: a formula as element and amount tokens.

``Fe2O3`` -> ``["Fe", "2", "O", "3"]``: each element (in the order of first appearance, as
``chemtl.chem.composition`` parses it) followed by its amount in the smallest integer formula,
``"1"`` included, so a sequence is grammatical exactly when it reads::

    formula := (ELEMENT AMOUNT)+        no element twice; AMOUNT one of "1".."99"

Fractional and hydrate formulas are first turned into their integer formula: the smallest
multiplier m in 1..100 that makes every amount whole (within 1e-6 relative), then divided by the
greatest common divisor (``(Ba0.5Sr0.5)TiO3`` -> Ba1 Sr1 Ti2 O6, ``Fe4O6`` -> Fe2 O3,
``CuSO4·5H2O`` -> Cu1 S1 O9 H10). A formula that cannot be written so (an amount over 99, no
multiplier up to 100) is an ``InvalidFormulaError``; the pretraining collator skips and counts it.
``tokens_to_formula`` writes a grammatical sequence back (amount 1 left out: ``NaCl``), and what it
writes always parses with ``parse_composition`` to the same elements and amounts.

``FormulaTextTokenizer`` is the word-level tokenizer of the causal models: ids [PAD]=0, [UNK]=1,
[CLS]=2 (used as BOS), [SEP]=3 (EOS), [MASK]=4, the 118 elements in atomic-number order (5..122),
the amounts "1".."99" (123..221), then the model's condition tokens (``[band_gap=b0]``, ...). A
string may start with condition tokens: ``"[band_gap=b2]Fe2O3"`` -> [CLS] [band_gap=b2] Fe 2 O 3
[SEP]. Its ``kind`` is "composition" (the data it reads); ``tokenizer_config.json`` says
``"chemtl_tokenizer": "formula_text"``, which ``chemtl.tokenizers.load_tokenizer`` reads back.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache, reduce
from typing import Any

import numpy as np

from chemtl.chem.composition import ELEMENT_SYMBOLS, parse_composition
from chemtl.errors import InvalidFormulaError, TokenizationError
from chemtl.tokenizers.base import (
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKENS,
    STRUCTURAL_IDS,
    BaseTokenizer,
    FlatEncoding,
    _ids_list,
)

MAX_AMOUNT = 99
MAX_MULTIPLIER = 100
AMOUNT_TOKENS: tuple[str, ...] = tuple(str(i) for i in range(1, MAX_AMOUNT + 1))
TOKENIZER_NAME = "formula_text"
_TOLERANCE = 1e-6
_CONDITION = re.compile(r"\[[^\]\s]+\]")
_ELEMENT_SET = frozenset(ELEMENT_SYMBOLS)
_AMOUNT_SET = frozenset(AMOUNT_TOKENS)


@lru_cache(maxsize=1)
def formula_text_vocab() -> tuple[str, ...]:
    """Specials, the 118 elements (atomic-number order), the amounts "1".."99"."""
    return SPECIAL_TOKENS + ELEMENT_SYMBOLS + AMOUNT_TOKENS


def integer_amounts(formula: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Elements (first-appearance order) and their amounts in the smallest integer formula."""
    parsed = parse_composition(formula)
    for m in range(1, MAX_MULTIPLIER + 1):
        scaled = [a * m for a in parsed.amounts]
        if all(abs(x - round(x)) <= _TOLERANCE * max(1.0, x) for x in scaled):
            ints = [round(x) for x in scaled]
            g = reduce(math.gcd, ints)
            ints = [i // g for i in ints]
            if max(ints) > MAX_AMOUNT:
                raise InvalidFormulaError(
                    f"formula {formula!r} has an amount of {max(ints)} in its integer formula, "
                    f"more than the {MAX_AMOUNT} the generation grammar writes"
                )
            return parsed.elements, tuple(ints)
    raise InvalidFormulaError(
        f"formula {formula!r} has no integer formula with a multiplier up to {MAX_MULTIPLIER}"
    )


def formula_to_tokens(formula: str) -> list[str]:
    """``Fe2O3`` -> ``["Fe", "2", "O", "3"]`` (see the module docstring)."""
    elements, amounts = integer_amounts(formula)
    out: list[str] = []
    for element, amount in zip(elements, amounts):
        out += [element, str(amount)]
    return out


def grammar_problem(tokens: Sequence[str]) -> str | None:
    """None when ``tokens`` are a whole grammatical formula, else what is wrong (one phrase)."""
    if not tokens:
        return "no tokens"
    if len(tokens) % 2:
        return f"{len(tokens)} tokens: an element without its amount"
    seen: set[str] = set()
    for i in range(0, len(tokens), 2):
        element, amount = tokens[i], tokens[i + 1]
        if element not in _ELEMENT_SET:
            return f"token {i + 1} {element!r} is not an element"
        if amount not in _AMOUNT_SET:
            return f"token {i + 2} {amount!r} is not an amount 1..{MAX_AMOUNT}"
        if element in seen:
            return f"element {element!r} appears twice"
        seen.add(element)
    return None


def tokens_to_formula(tokens: Sequence[str]) -> str:
    """``["Fe", "2", "O", "3"]`` -> ``"Fe2O3"``; an ungrammatical sequence is an error naming it."""
    tokens = list(tokens)
    problem = grammar_problem(tokens)
    if problem is not None:
        raise InvalidFormulaError(f"tokens {' '.join(tokens)!r} are not a formula: {problem}")
    return "".join(
        tokens[i] + ("" if tokens[i + 1] == "1" else tokens[i + 1]) for i in range(0, len(tokens), 2)
    )


class FormulaTextTokenizer(BaseTokenizer):
    """Formula -> ``[CLS] [conditions] Fe 2 O 3 [SEP]``: element and amount tokens, word level."""

    kind = "composition"
    hf_class_name = "FormulaTextTokenizerFast"

    def __init__(
        self,
        conditions: Sequence[str] = (),
        *,
        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
    ):
        """``conditions``: the condition tokens after the fixed vocabulary, in id order."""
        for token in conditions:
            if not _CONDITION.fullmatch(token):
                raise TokenizationError(f"condition token {token!r} is not of the form [name=bK]")
        super().__init__(formula_text_vocab() + tuple(conditions), model_max_length=model_max_length)
        self.conditions = tuple(conditions)

    @property
    def element_ids(self) -> range:
        return range(len(SPECIAL_TOKENS), len(SPECIAL_TOKENS) + len(ELEMENT_SYMBOLS))

    @property
    def amount_ids(self) -> range:
        start = len(SPECIAL_TOKENS) + len(ELEMENT_SYMBOLS)
        return range(start, start + MAX_AMOUNT)

    def with_conditions(self, conditions: Sequence[str]) -> FormulaTextTokenizer:
        return FormulaTextTokenizer(conditions, model_max_length=self.model_max_length)

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TokenizationError(f"expected a string, got {text!r} of type {type(text).__name__}")
        stripped = text.strip()
        head: list[str] = []
        while (m := _CONDITION.match(stripped)) is not None:
            head.append(m.group())
            stripped = stripped[m.end() :]
        return head + formula_to_tokens(stripped)

    def _encode_flat(
        self, strings: list[str], *, limit: int, n_special: int, truncation: bool
    ) -> FlatEncoding:
        get = self._ids.get
        flat: list[int] = []
        lengths = np.zeros(len(strings), dtype=np.int64)
        unknown: Counter = Counter()
        unknown_rows: list[int] = []
        for i, text in enumerate(strings):
            tokens = self.tokenize(text)
            ids = [get(t, 1) for t in tokens]
            if 1 in ids:
                unknown.update(t for t, j in zip(tokens, ids) if j == 1)
                unknown_rows.append(i)
            flat += ids
            lengths[i] = len(ids)
        return FlatEncoding(np.array(flat, dtype=np.int64), lengths, None, unknown, unknown_rows)

    def _join(self, tokens: list[str]) -> str:
        conditions = [t for t in tokens if t in self.conditions]
        body = [t for t in tokens if t not in self.conditions]
        try:
            formula = tokens_to_formula(body) if body else ""
        except InvalidFormulaError:
            formula = " ".join(body)  # an ungrammatical run of tokens stays readable
        return "".join(conditions) + formula

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        ids = _ids_list(ids)
        if skip_special_tokens:
            ids = [i for i in ids if i not in STRUCTURAL_IDS]
        return self._join([self._token(i) for i in ids])

    def _config_extra(self) -> dict[str, Any]:
        return {"chemtl_tokenizer": TOKENIZER_NAME}

    def _build_backend(self):
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        from chemtl.tokenizers.wordlevel import special_tokens_backend

        tok = Tokenizer(models.WordLevel(self._ids, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # input: "Fe 2 O 3"
        tok.decoder = decoders.Fuse()
        special_tokens_backend(tok)
        return tok

    @classmethod
    def _from_saved(cls, vocab: list[str], config: dict[str, Any], tokenizer_json: dict[str, Any]):
        fixed = formula_text_vocab()
        if tuple(vocab[: len(fixed)]) != fixed:
            raise TokenizationError(
                "the saved formula-text tokenizer's vocabulary does not start with the specials, "
                "the 118 elements and the amounts 1..99"
            )
        return cls(
            vocab[len(fixed) :],
            model_max_length=config.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH),
        )


__all__ = [
    "AMOUNT_TOKENS",
    "FormulaTextTokenizer",
    "formula_text_vocab",
    "formula_to_tokens",
    "grammar_problem",
    "integer_amounts",
    "tokens_to_formula",
]
