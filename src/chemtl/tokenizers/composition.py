"""Composition tokenizer: elements as tokens, their atomic fractions alongside.

Vocabulary: the five special tokens, then the 118 elements in atomic-number order (H=5 ... Og=122),
123 tokens; nothing is ever out of vocabulary, since ``parse_composition`` rejects unknown
symbols with ``InvalidFormulaError``.

Element order is the order of first appearance in the formula as written, groups expanded
(``chemtl.chem.composition``): "Li3Fe2(PO4)3" -> Li Fe P O, "(Ba0.5Sr0.5)TiO3" -> Ba Sr Ti O.

Two modes:

- ``"fraction"`` (default): each element once, ``[CLS] Fe O [SEP]``, with ``fractions`` aligned
  with ``input_ids``: the atomic fraction of each element (summing to 1), 0.0 on special and pad
  tokens. "Li0.5CoO2" and "LiCoO2" have the same ids and different fractions.
- ``"repeat"``: one token per atom, the textbook encoding, ``[CLS] Fe Fe O O O [SEP]`` for
  "Fe2O3"; every amount must be a whole number (else ``TokenizationError`` naming the formula).
  Each token's fraction is 1/(number of atoms), so the fractions of an element's tokens still add
  up to its atomic fraction.

Speed: in fraction mode a batch's common formulas are parsed all at once (``parse_simple_batch``:
plain symbols and amounts, un-nested groups, no element twice) and the rest one by one with
``parse_composition``; the ids and fractions are those of encoding each formula on its own.

Decoding: ``decode(ids)`` gives the element tokens joined by spaces ("Fe O") in fraction mode and
the integer formula ("Fe2O3") in repeat mode. ``decode(ids, fractions)`` gives a formula with the
same atomic fractions: the smallest whole-number formula whose fractions are all within 1e-5 of
the given ones (multipliers up to 100), else the fractions themselves to six significant digits.
The absolute scale is not encoded: "Fe2O3" and "Fe4O6" encode alike and both decode to "Fe2O3";
"Li0.5CoO2" decodes to "LiCo2O4".
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import chain, islice, repeat
from operator import attrgetter
from typing import Any

import numpy as np

from chemtl.chem.composition import (
    element_symbols_by_z,
    parse_composition,
    parse_compositions,
    parse_simple_batch,
)
from chemtl.errors import InvalidFormulaError, TokenizationError
from chemtl.tokenizers.base import (
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKENS,
    STRUCTURAL_IDS,
    UNK_ID,
    BaseTokenizer,
    FlatEncoding,
    _ids_list,
    too_long_error,
)
from chemtl.tokenizers.wordlevel import special_tokens_backend

MODES = ("fraction", "repeat")
_INTEGER_TOLERANCE = 1e-6
_DECODE_TOLERANCE = 1e-5
_DECODE_MAX_MULTIPLIER = 100
_ELEMENTS = attrgetter("elements")
_AMOUNTS = attrgetter("amounts")


@lru_cache(maxsize=1)
def composition_vocab() -> tuple[str, ...]:
    """The five special tokens and the 118 elements in atomic-number order."""
    return SPECIAL_TOKENS + element_symbols_by_z()


class CompositionTokenizer(BaseTokenizer):
    """Formula -> ``[CLS] elements [SEP]`` plus a ``fractions`` array aligned with the ids."""

    kind = "composition"
    hf_class_name = "CompositionTokenizerFast"
    model_input_names = ("input_ids", "attention_mask", "fractions")

    def __init__(self, mode: str = "fraction", *, model_max_length: int = DEFAULT_MODEL_MAX_LENGTH):
        if mode not in MODES:
            raise TokenizationError(f"mode={mode!r}: use 'fraction' or 'repeat'")
        super().__init__(composition_vocab(), model_max_length=model_max_length)
        self.mode = mode
        # atomic number -> token id, for parse_simple_batch's atomic numbers (index 0: [UNK])
        self._id_of_z = np.array([UNK_ID, *(self._ids[e] for e in element_symbols_by_z())], dtype=np.int64)

    # -- parsing -------------------------------------------------------------------------------

    def _counts(self, formula: str, parsed) -> list[int]:
        counts = []
        for element, amount in zip(parsed.elements, parsed.amounts):
            count = round(amount)
            if count < 1 or abs(amount - count) > _INTEGER_TOLERANCE * max(1.0, amount):
                raise TokenizationError(
                    f"formula {formula!r}: repeat mode needs whole-number amounts, but {element} has {amount:g}; "
                    "use mode='fraction'"
                )
            counts.append(count)
        return counts

    def elements(self, formula: str) -> tuple[list[str], list[float]]:
        """The element tokens of ``formula`` (without special tokens) and their fractions."""
        parsed = parse_composition(formula)
        if self.mode == "fraction":
            return list(parsed.elements), list(parsed.fractions)
        counts = self._counts(formula, parsed)
        share = 1.0 / sum(counts)
        tokens = [e for e, c in zip(parsed.elements, counts) for _ in range(c)]
        return tokens, [share] * len(tokens)

    def tokenize(self, text: str) -> list[str]:
        return self.elements(text)[0]

    def _encode_flat(
        self, strings: list[str], *, limit: int, n_special: int, truncation: bool
    ) -> FlatEncoding:
        if self.mode == "repeat":
            return self._encode_flat_repeat(strings, limit=limit, n_special=n_special, truncation=truncation)
        # fraction mode: the plain formulas of the batch parsed at once, the rest one by one
        n = len(strings)
        batch = parse_simple_batch(strings) if n else None
        if batch is None:
            z, amounts = np.zeros(0, dtype=np.int64), np.zeros(0)
            lengths, fallback = np.zeros(n, dtype=np.int64), np.arange(n)
        else:
            z, amounts, lengths, fallback = batch
        ids = self._id_of_z[z]
        if fallback.size:
            parsed = self._parse_rows(strings, fallback.tolist())
            row_lengths = list(map(len, map(_ELEMENTS, parsed)))
            full_lengths = lengths.copy()
            full_lengths[fallback] = row_lengths
            is_fallback = np.zeros(n, dtype=bool)
            is_fallback[fallback] = True
            at = _positions(full_lengths, is_fallback)  # where the fallback rows' tokens go
            elements = list(chain.from_iterable(map(_ELEMENTS, parsed)))
            merged_ids = np.empty(len(ids) + len(elements), dtype=np.int64)
            merged_amounts = np.empty(len(merged_ids))
            merged_ids[at] = np.fromiter(
                map(self._ids.get, elements, repeat(UNK_ID)), np.int64, len(elements)
            )
            merged_amounts[at] = np.fromiter(
                chain.from_iterable(map(_AMOUNTS, parsed)), np.float64, len(elements)
            )
            rest = np.ones(len(merged_ids), dtype=bool)
            rest[at] = False
            merged_ids[rest], merged_amounts[rest] = ids, amounts
            ids, amounts, lengths = merged_ids, merged_amounts, full_lengths
        # ParsedComposition.fractions, batched: amount / float(sum(amounts)), with Python's sum over
        # each formula's amounts in order, the same float64 division and rounding to float32
        values = amounts.tolist()
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        totals = np.fromiter(map(sum, map(values.__getitem__, map(slice, starts, ends))), np.float64, n)
        fractions = (amounts / np.repeat(totals, lengths)).astype(np.float32)
        # every element is in the vocabulary; unknown symbols fail to parse
        return FlatEncoding(ids, lengths, fractions, Counter(), [])

    @staticmethod
    def _parse_rows(strings: list[str], rows: list[int]) -> list:
        """``parse_composition`` of ``strings[i]`` for ``i`` in ``rows``; an error names the first
        string that fails (every other row of the batch parsed)."""
        try:
            return parse_compositions([strings[i] for i in rows])
        except InvalidFormulaError:
            if len(strings) == 1:
                raise
            for i in rows:
                try:
                    parse_composition(strings[i])
                except InvalidFormulaError as exc:
                    raise InvalidFormulaError(f"string {i}: {exc}") from None
            raise  # not reached: the same string fails again

    def _encode_flat_repeat(
        self, strings: list[str], *, limit: int, n_special: int, truncation: bool
    ) -> FlatEncoding:
        ids: list[int] = []
        fractions: list[float] = []
        lengths = np.zeros(len(strings), dtype=np.int64)
        get = self._ids.get
        for i, text in enumerate(strings):
            try:
                parsed = parse_composition(text)
                counts = self._counts(text, parsed)
                total = sum(counts)
                cap = limit - n_special
                if total > cap and not truncation:  # before building a million-token row
                    raise too_long_error(i, text, total + n_special, limit)
                atoms = (get(e, UNK_ID) for e, c in zip(parsed.elements, counts) for _ in range(c))
                row_ids = list(islice(atoms, cap))
                row_fractions = [1.0 / total] * len(row_ids)
            except (InvalidFormulaError, TokenizationError) as exc:
                if len(strings) > 1 and not str(exc).startswith("string "):
                    raise type(exc)(f"string {i}: {exc}") from None
                raise
            ids.extend(row_ids)
            fractions.extend(row_fractions)
            lengths[i] = len(row_ids)
        return FlatEncoding(
            np.array(ids, dtype=np.int64),
            lengths,
            np.array(fractions, dtype=np.float32),
            Counter(),  # every element is in the vocabulary; unknown symbols fail to parse
            [],
        )

    # -- decoding ------------------------------------------------------------------------------

    def _join(self, tokens: list[str]) -> str:
        if self.mode == "repeat":
            return _formula(list(Counter(tokens).items()))
        return " ".join(tokens)

    def decode(self, ids: Any, fractions: Any = None, skip_special_tokens: bool = True) -> str:
        """Element tokens ("Fe O"; "Fe2O3" in repeat mode), or with ``fractions`` a formula with
        those atomic fractions (see the module docstring). [PAD], [CLS] and [SEP] are dropped when
        ``skip_special_tokens``; [UNK] and [MASK] are kept."""
        if fractions is None:
            return super().decode(ids, skip_special_tokens=skip_special_tokens)
        ids = _ids_list(ids)
        values = [float(f) for f in (fractions.tolist() if hasattr(fractions, "tolist") else fractions)]
        if len(values) != len(ids):
            raise TokenizationError(f"decode got {len(ids)} ids but {len(values)} fractions")
        amounts: dict[str, float] = {}
        for i, f in zip(ids, values):
            if i in STRUCTURAL_IDS:
                continue
            token = self._token(i)
            amounts[token] = amounts.get(token, 0.0) + f
        return formula_from_fractions(amounts)

    def batch_decode(
        self, batch_ids: Any, fractions: Any = None, skip_special_tokens: bool = True
    ) -> list[str]:
        if fractions is None:
            return super().batch_decode(batch_ids, skip_special_tokens=skip_special_tokens)
        if hasattr(batch_ids, "tolist"):
            batch_ids = batch_ids.tolist()
        if hasattr(fractions, "tolist"):
            fractions = fractions.tolist()
        return [
            self.decode(i, f, skip_special_tokens=skip_special_tokens) for i, f in zip(batch_ids, fractions)
        ]

    # -- persistence ---------------------------------------------------------------------------

    def _config_extra(self) -> dict[str, Any]:
        return {"chemtl_mode": self.mode}

    def _build_backend(self):
        from tokenizers import Tokenizer, models, pre_tokenizers

        tok = Tokenizer(models.WordLevel(self._ids, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # input: element symbols, "Fe O"
        special_tokens_backend(tok)
        return tok

    @classmethod
    def _from_saved(cls, vocab: list[str], config: dict[str, Any], tokenizer_json: dict[str, Any]):
        if tuple(vocab) != composition_vocab():
            raise TokenizationError("the saved composition vocabulary is not the special tokens + H..Og")
        return cls(
            config.get("chemtl_mode", "fraction"),
            model_max_length=config.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH),
        )


def _amount(x: float) -> str:
    return np.format_float_positional(x, precision=6, fractional=False, trim="-")


def _formula(items: list[tuple[str, float]]) -> str:
    return "".join(e if a == 1 else f"{e}{_amount(a) if isinstance(a, float) else a}" for e, a in items)


def formula_from_fractions(amounts: dict[str, float]) -> str:
    """The smallest whole-number formula with these atomic fractions (within 1e-5), else the
    normalised fractions to six significant digits. {"Fe": 0.4, "O": 0.6} -> "Fe2O3"."""
    total = sum(amounts.values())
    if not amounts or total <= 0:
        return ""
    fractions = {e: a / total for e, a in amounts.items()}
    for m in range(1, _DECODE_MAX_MULTIPLIER + 1):
        counts = {e: round(f * m) for e, f in fractions.items()}
        if all(
            c >= 1 and abs(f - c / m) <= _DECODE_TOLERANCE
            for (e, f), c in zip(fractions.items(), counts.values())
        ):
            return _formula(list(counts.items()))
    return _formula([(e, float(f)) for e, f in fractions.items()])


def _positions(lengths: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The flat positions of the tokens of the rows where ``rows`` (bool) is True, in order."""
    starts = np.cumsum(lengths) - lengths
    sel = lengths[rows]
    return np.repeat(starts[rows] - (np.cumsum(sel) - sel), sel) + np.arange(int(sel.sum()))
