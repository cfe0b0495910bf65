"""A regex pre-tokenizer with a word-level vocabulary: the engine of the SMILES and SELFIES tokenizers.

Nothing is ever dropped: each pattern ends in a one-character catch-all, so a character the
grammar does not know becomes a token of its own, and every token missing from the vocabulary
is encoded as [UNK] and counted (``TokenizedBatch.unknown``, ``tokenizer.last_unknown``).
``"".join(tokenize(s)) == s`` for every string, and ``decode(encode(s)) == s`` whenever all the
tokens of ``s`` are in the vocabulary.

Batches are encoded without a Python loop over tokens: the strings are joined by NUL, read as an
array of code points, single characters are looked up in a 128-entry table, and only the
multi-character tokens (``MULTI_PATTERN``: bracket atoms, Cl, Br, %nn) go through the regex.
That gives exactly the tokens of ``PATTERN`` (a test checks it) at several times the speed of
``tokenizers.Tokenizer.encode_batch`` on two cores. Strings that contain NUL take the plain
per-string path.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, ClassVar

import numpy as np

from chemtl.errors import TokenizationError
from chemtl.tokenizers.base import (
    CLS_ID,
    DEFAULT_MODEL_MAX_LENGTH,
    SEP_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    BaseTokenizer,
    FlatEncoding,
)

_NUL = "\x00"


def default_vocab_dir(kind: str) -> Traversable:
    """The shipped default tokenizer directory for ``kind`` ("smiles" or "selfies")."""
    return files("chemtl").joinpath("resources", "tokenizers", kind)


@cache
def _default_vocab(cls: type[RegexTokenizer]) -> tuple[str, ...]:
    return cls.from_pretrained(default_vocab_dir(cls.kind)).vocab


def special_tokens_backend(tok) -> None:
    """Register the special tokens and the ``[CLS] $A [SEP]`` template on a ``tokenizers.Tokenizer``."""
    from tokenizers import AddedToken, processors

    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    # "[MASK]" typed in the input goes through the pre-tokenizer like in chemtl's own encoder.
    tok.encode_special_tokens = True


class RegexTokenizer(BaseTokenizer):
    """Tokens are the matches of ``PATTERN``; ids come from a word-level vocabulary."""

    PATTERN: ClassVar[str]  # the grammar followed by a one-character catch-all; no capturing groups
    VALID_PATTERN: ClassVar[str]  # the grammar alone: tokens build_vocab may put in a vocabulary
    MULTI_PATTERN: ClassVar[str]  # the alternatives that match more than one character (never NUL)

    def __init__(
        self, vocab: Sequence[str] | None = None, *, model_max_length: int = DEFAULT_MODEL_MAX_LENGTH
    ):
        """``vocab``: tokens in id order, with or without the five special tokens in front;
        None loads the vocabulary shipped with chemtl."""
        if vocab is None:
            vocab = _default_vocab(type(self))
        super().__init__(vocab, model_max_length=model_max_length)
        self._rx = re.compile(self.PATTERN)
        self._multi_rx = re.compile(self.MULTI_PATTERN)
        table = np.array([self._ids.get(chr(c), UNK_ID) for c in range(128)] + [-1], dtype=np.int64)
        self._table = table  # code point -> id for ASCII; -1 marks "look it up" (non-ASCII)

    @classmethod
    def from_corpus(
        cls,
        strings: Iterable[str],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        extra_tokens: Sequence[str] = (),
        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
    ):
        """A tokenizer whose vocabulary is built from ``strings`` (see ``chemtl.tokenizers.vocab``),
        followed by ``extra_tokens`` not already in it."""
        from chemtl.tokenizers.vocab import build_vocab, merge_vocab

        tokens = merge_vocab(
            build_vocab(strings, cls.kind, min_freq=min_freq, max_size=max_size), extra_tokens
        )
        return cls(tokens, model_max_length=model_max_length)

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TokenizationError(f"expected a string, got {text!r} of type {type(text).__name__}")
        return self._rx.findall(text)

    def _join(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def _encode_flat(
        self, strings: list[str], *, limit: int, n_special: int, truncation: bool
    ) -> FlatEncoding:
        n = len(strings)
        if n == 0:
            return FlatEncoding(np.zeros(0, np.int64), np.zeros(0, np.int64))
        joined = _NUL.join(strings)
        if joined.count(_NUL) != n - 1:
            return self._encode_flat_slow(strings)
        cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        size = len(cp)
        ids = self._table[np.minimum(cp, 128)]
        keep = cp != 0
        get = self._ids.get
        starts, ends, multi_ids = [], [], []
        for m in self._multi_rx.finditer(joined):
            starts.append(m.start())
            ends.append(m.end())
            multi_ids.append(get(m.group(), UNK_ID))
        if starts:
            s, e = np.array(starts), np.array(ends)
            ids[s] = multi_ids
            depth = np.bincount(s + 1, minlength=size + 1)[:size] - np.bincount(e, minlength=size + 1)[:size]
            keep &= np.cumsum(depth) == 0  # drop the 2nd.. characters of multi-character tokens
        for p in np.flatnonzero(keep & (ids < 0)).tolist():  # non-ASCII characters: rare
            ids[p] = get(joined[p], UNK_ID)
        rows = np.cumsum(cp == 0)
        lengths = np.bincount(rows[keep], minlength=n)
        unknown, unknown_rows = Counter(), []
        unk = np.flatnonzero(keep & (ids == UNK_ID))
        if unk.size:
            multi_end = dict(zip(starts, ends))
            unknown = Counter(joined[p : multi_end.get(p, p + 1)] for p in unk.tolist())
            unknown_rows = np.unique(rows[unk]).tolist()
        return FlatEncoding(ids[keep], lengths, None, unknown, unknown_rows)

    def _encode_flat_slow(self, strings: list[str]) -> FlatEncoding:
        get = self._ids.get
        flat: list[int] = []
        lengths = np.zeros(len(strings), dtype=np.int64)
        unknown, unknown_rows = Counter(), []
        for i, text in enumerate(strings):
            tokens = self._rx.findall(text)
            ids = [get(t, UNK_ID) for t in tokens]
            if UNK_ID in ids:
                unknown.update(t for t, j in zip(tokens, ids) if j == UNK_ID)
                unknown_rows.append(i)
            flat.extend(ids)
            lengths[i] = len(ids)
        return FlatEncoding(np.array(flat, dtype=np.int64), lengths, None, unknown, unknown_rows)

    def _build_backend(self):
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

        tok = Tokenizer(models.WordLevel(self._ids, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(self.PATTERN), behavior="isolated")
        tok.decoder = decoders.Fuse()
        special_tokens_backend(tok)
        return tok

    @classmethod
    def _from_saved(cls, vocab: list[str], config: dict[str, Any], tokenizer_json: dict[str, Any]):
        pattern = (tokenizer_json.get("pre_tokenizer") or {}).get("pattern", {}).get("Regex")
        if pattern != cls.PATTERN:
            raise TokenizationError(
                f"the saved {cls.kind} tokenizer splits with {pattern!r}, but this version of chemtl uses "
                f"{cls.PATTERN!r}; rebuild the vocabulary (chemtl vocab build)"
            )
        return cls(vocab, model_max_length=config.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH))
