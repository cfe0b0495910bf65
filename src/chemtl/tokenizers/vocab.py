"""Building a word-level vocabulary from a corpus (``chemtl vocab build``).

Tokens are counted with the tokenizer's own pattern, so a vocabulary built here covers the corpus
exactly. Pieces that only the one-character catch-all matched (white space, "%" without two
digits, an unclosed "[") are not grammar tokens: they are counted apart (``TokenCounts.invalid``)
and never enter a vocabulary. Order is deterministic: by count, descending, then by token.
The corpus is streamed: any iterable of strings works, and only the counts are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from chemtl.errors import TokenizationError
from chemtl.tokenizers.base import SPECIAL_TOKENS

VOCAB_KINDS = ("smiles", "selfies")


@dataclass
class TokenCounts:
    """Token counts of a corpus: grammar tokens, catch-all pieces, and how many strings were read."""

    tokens: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)
    n_strings: int = 0


def _tokenizer_class(kind: str):
    if kind == "smiles":
        from chemtl.tokenizers.smiles import SmilesTokenizer

        return SmilesTokenizer
    if kind == "selfies":
        from chemtl.tokenizers.selfies import SelfiesTokenizer

        return SelfiesTokenizer
    if kind == "composition":
        raise TokenizationError("the composition vocabulary is fixed (the 118 elements); nothing to build")
    raise TokenizationError(f"unknown tokenizer kind {kind!r}; use one of {', '.join(VOCAB_KINDS)}")


def count_tokens(strings: Iterable[str], kind: str, *, chunk_size: int = 10_000) -> TokenCounts:
    """Count the tokens of ``strings`` as the ``kind`` tokenizer splits them."""
    cls = _tokenizer_class(kind)
    findall = re.compile(cls.PATTERN).findall
    counts = TokenCounts()
    iterator = iter(strings)
    while chunk := list(islice(iterator, chunk_size)):
        for i, s in enumerate(chunk):
            if not isinstance(s, str):
                raise TokenizationError(f"string {counts.n_strings + i} is {s!r}, expected str")
        counts.tokens.update(t for s in chunk for t in findall(s))
        counts.n_strings += len(chunk)
    valid = re.compile(cls.VALID_PATTERN)
    for token in [t for t in counts.tokens if not valid.fullmatch(t) or t in SPECIAL_TOKENS]:
        counts.invalid[token] = counts.tokens.pop(token)
    return counts


def vocab_from_counts(counts: Counter, *, min_freq: int = 1, max_size: int | None = None) -> list[str]:
    """Tokens seen at least ``min_freq`` times, most frequent first (ties by token), at most ``max_size``."""
    ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    return ranked if max_size is None else ranked[:max_size]


def build_vocab(
    strings: Iterable[str], kind: str, min_freq: int = 1, max_size: int | None = None
) -> list[str]:
    """The vocabulary of a corpus, without special tokens: tokens seen at least ``min_freq`` times,
    by count descending then token, at most ``max_size`` of them (the five special tokens come on
    top when a tokenizer is made from it)."""
    if min_freq < 1:
        raise TokenizationError(f"min_freq={min_freq}: must be at least 1")
    if max_size is not None and max_size < 0:
        raise TokenizationError(f"max_size={max_size}: must be at least 0")
    return vocab_from_counts(count_tokens(strings, kind).tokens, min_freq=min_freq, max_size=max_size)


def merge_vocab(tokens: Sequence[str], extra: Iterable[str]) -> list[str]:
    """``tokens`` followed by the ``extra`` tokens not already there (order kept, no duplicates)."""
    merged = [t for t in tokens if t not in SPECIAL_TOKENS]
    seen = set(merged) | set(SPECIAL_TOKENS)
    for token in extra:
        if token not in seen:
            merged.append(token)
            seen.add(token)
    return merged
