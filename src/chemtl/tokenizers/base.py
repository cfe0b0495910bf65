"""What every chemtl tokenizer shares: special tokens, batching, the too-long error, save/load.

A tokenizer turns strings into a batch dict ``{"input_ids", "attention_mask"[, "fractions"]}``
(see docs/DESIGN.md). Subclasses only say how one batch of strings becomes a flat run of token
ids (``_encode_flat``); padding, truncation, the max-length check, tensors, decoding and the
Hugging Face file layout live here once.

Only numpy and the ``tokenizers`` library are imported (``import chemtl.tokenizers`` stays cheap);
torch is imported when ``return_tensors="pt"`` is asked for, transformers only by ``to_hf()``.

Saved layout (``save_pretrained``), the one Hugging Face reads:

- ``tokenizer.json``: a real ``tokenizers`` serialisation (WordLevel vocabulary, the
  pre-tokenizer, the ``[CLS] $A [SEP]`` template), loadable with ``tokenizers.Tokenizer.from_file``;
- ``tokenizer_config.json``: ``tokenizer_class`` (the ``transformers`` wrapper in ``chemtl._hf``),
  ``model_max_length``, the special tokens and chemtl's own keys ``chemtl_kind`` (and
  ``chemtl_mode`` for compositions);
- ``special_tokens_map.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from chemtl.errors import TokenizationError

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)
# Dropped by decode(skip_special_tokens=True). [UNK] and [MASK] stand for content and stay visible.
STRUCTURAL_IDS = frozenset({PAD_ID, CLS_ID, SEP_ID})
DEFAULT_MODEL_MAX_LENGTH = 512

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
SPECIAL_TOKENS_MAP = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
_PADDING = {
    True: "longest",
    "longest": "longest",
    "max_length": "max_length",
    False: None,
    "do_not_pad": None,
}
_TENSORS = ("np", "pt", None)


class TokenizedBatch(dict):
    """The batch dict a model takes, plus what was not in the vocabulary.

    Keys: ``input_ids`` (B, T) int64, ``attention_mask`` (B, T) int64, and for compositions
    ``fractions`` (B, T) float32. ``model(**batch)`` sees only these keys. Attributes:
    ``unknown`` (Counter of out-of-vocabulary token -> occurrences, each encoded as [UNK]) and
    ``unknown_rows`` (indices of the strings that have at least one [UNK]).
    """

    unknown: Counter
    unknown_rows: list[int]

    def __init__(self, data: dict[str, Any], unknown: Counter, unknown_rows: list[int]):
        super().__init__(data)
        self.unknown = unknown
        self.unknown_rows = unknown_rows

    @property
    def num_unknown(self) -> int:
        return sum(self.unknown.values())


@dataclass
class FlatEncoding:
    """A batch before padding: the content tokens of all strings, one after another."""

    ids: np.ndarray  # (K,) int64, no special tokens
    lengths: np.ndarray  # (B,) int64, tokens per string; sums to K
    fractions: np.ndarray | None = None  # (K,) float32, compositions only
    unknown: Counter = field(default_factory=Counter)
    unknown_rows: list[int] = field(default_factory=list)


def shorten(text: str, limit: int = 60) -> str:
    """``text`` itself when short, else its start and end around an ellipsis (for error messages)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}...{text[-15:]}"


def too_long_error(index: int, text: str, n_tokens: int, limit: int, n_more: int = 0) -> TokenizationError:
    more = f"; {n_more} more string(s) in this batch are too long" if n_more else ""
    return TokenizationError(
        f"string {index} {shorten(text)!r} has {n_tokens} tokens (with [CLS] and [SEP]), more than "
        f"max_length={limit}; pass truncation=True or a larger max_length{more}"
    )


def as_strings(texts: str | Iterable[str]) -> list[str]:
    """A batch as a list of str; a single string is a batch of one. Non-strings are an error."""
    if isinstance(texts, str):
        return [texts]
    try:
        strings = list(texts)
    except TypeError:
        raise TokenizationError(
            f"expected a string or a list of strings, got {type(texts).__name__}"
        ) from None
    for i, s in enumerate(strings):
        if not isinstance(s, str):
            raise TokenizationError(f"string {i} is {s!r} of type {type(s).__name__}, expected str")
    return strings


def _ids_list(ids: Any) -> list[int]:
    if hasattr(ids, "tolist"):  # numpy array or torch tensor
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    ids = list(ids)
    if ids and isinstance(ids[0], list):
        raise TokenizationError("decode takes one sequence of ids; use batch_decode for a batch")
    return [int(i) for i in ids]


class BaseTokenizer:
    """Vocabulary, special tokens, batching and persistence common to all chemtl tokenizers."""

    kind: ClassVar[str]
    hf_class_name: ClassVar[str]
    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")

    pad_token_id: ClassVar[int] = PAD_ID
    unk_token_id: ClassVar[int] = UNK_ID
    cls_token_id: ClassVar[int] = CLS_ID
    sep_token_id: ClassVar[int] = SEP_ID
    mask_token_id: ClassVar[int] = MASK_ID
    all_special_tokens: ClassVar[tuple[str, ...]] = SPECIAL_TOKENS
    all_special_ids: ClassVar[tuple[int, ...]] = tuple(range(len(SPECIAL_TOKENS)))

    def __init__(self, vocab: Sequence[str], *, model_max_length: int = DEFAULT_MODEL_MAX_LENGTH):
        vocab = tuple(vocab)
        if vocab[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            vocab = SPECIAL_TOKENS + vocab
        ids: dict[str, int] = {}
        for i, token in enumerate(vocab):
            if not isinstance(token, str) or not token:
                raise TokenizationError(f"vocabulary entry {i} is {token!r}: tokens are non-empty strings")
            if token in ids:
                raise TokenizationError(
                    f"token {token!r} appears twice in the vocabulary (ids {ids[token]}, {i})"
                )
            ids[token] = i
        if int(model_max_length) < 3:
            raise TokenizationError(f"model_max_length={model_max_length}: need at least 3 ([CLS] x [SEP])")
        self._vocab: tuple[str, ...] = vocab
        self._ids = ids
        self.model_max_length = int(model_max_length)
        self.last_unknown: Counter = Counter()
        self._backend = None

    # -- to be provided by each representation -------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """The tokens of one string, without special tokens."""
        raise NotImplementedError

    def _encode_flat(
        self, strings: list[str], *, limit: int, n_special: int, truncation: bool
    ) -> FlatEncoding:
        """Token ids of every string (``limit``, ``n_special``: for rows that could blow up)."""
        raise NotImplementedError

    def _build_backend(self):
        """The equivalent ``tokenizers.Tokenizer`` (what tokenizer.json holds)."""
        raise NotImplementedError

    def _join(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def _config_extra(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_saved(cls, vocab: list[str], config: dict[str, Any], tokenizer_json: dict[str, Any]):
        return cls(vocab, model_max_length=config.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH))

    # -- vocabulary ----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._ids)

    @property
    def vocab(self) -> tuple[str, ...]:
        """Tokens in id order (the special tokens first)."""
        return self._vocab

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return self._ids.get(tokens, UNK_ID)
        return [self._ids.get(t, UNK_ID) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        if isinstance(ids, int | np.integer):
            return self._token(int(ids))
        return [self._token(i) for i in _ids_list(ids)]

    def _token(self, i: int) -> str:
        if not 0 <= i < len(self._vocab):
            raise TokenizationError(f"token id {i} is outside the vocabulary (size {len(self._vocab)})")
        return self._vocab[i]

    @property
    def backend(self):
        """The equivalent ``tokenizers.Tokenizer`` (built once)."""
        if self._backend is None:
            self._backend = self._build_backend()
        return self._backend

    # -- encoding ------------------------------------------------------------------------------

    def __call__(
        self,
        texts: str | Iterable[str],
        *,
        padding: bool | str = True,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = "np",
        add_special_tokens: bool = True,
    ) -> TokenizedBatch:
        """Encode a batch (a single string is a batch of one).

        ``max_length`` (default ``model_max_length``) counts [CLS] and [SEP]. A string longer than it
        raises ``TokenizationError`` unless ``truncation=True``, which keeps the first tokens and
        still ends the row with [SEP]. ``padding``: True/"longest" pads to the longest row,
        "max_length" to ``max_length``, False gives rows of their own length (lists, or arrays
        when all rows happen to have the same length). ``return_tensors``: "np" (default),
        "pt" (torch) or None (lists).
        """
        if padding not in _PADDING:
            raise TokenizationError(f"padding={padding!r}: use True, False, 'longest' or 'max_length'")
        if return_tensors not in _TENSORS:
            raise TokenizationError(f"return_tensors={return_tensors!r}: use 'np', 'pt' or None")
        limit = self.model_max_length if max_length is None else int(max_length)
        n_special = 2 if add_special_tokens else 0
        if limit < n_special + 1:
            raise TokenizationError(f"max_length={limit} leaves no room for a token between [CLS] and [SEP]")
        strings = as_strings(texts)
        flat = self._encode_flat(strings, limit=limit, n_special=n_special, truncation=truncation)
        self.last_unknown = flat.unknown
        data = self._assemble(
            flat, strings, limit, n_special, _PADDING[padding], truncation=truncation, tensors=return_tensors
        )
        return TokenizedBatch(data, flat.unknown, flat.unknown_rows)

    def encode(
        self,
        text: str,
        *,
        truncation: bool = False,
        max_length: int | None = None,
        add_special_tokens: bool = True,
    ) -> dict[str, list]:
        """One string as a dict of lists (``input_ids``, ``attention_mask``[, ``fractions``])."""
        if not isinstance(text, str):
            raise TokenizationError(f"expected a string, got {text!r} of type {type(text).__name__}")
        batch = self(
            [text],
            padding=False,
            truncation=truncation,
            max_length=max_length,
            return_tensors=None,
            add_special_tokens=add_special_tokens,
        )
        return {key: value[0] for key, value in batch.items()}

    def _assemble(self, flat, strings, limit, n_special, padding, *, truncation, tensors) -> dict[str, Any]:
        lengths = flat.lengths.astype(np.int64, copy=False)
        n = len(lengths)
        total = lengths + n_special
        ids, fractions = flat.ids, flat.fractions
        if truncation:
            keep = np.minimum(lengths, limit - n_special)
            if (keep < lengths).any():
                starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
                selected = np.arange(len(ids)) - starts < np.repeat(keep, lengths)
                ids = ids[selected]
                fractions = None if fractions is None else fractions[selected]
                lengths = keep
        else:
            too_long = np.flatnonzero(total > limit)
            if too_long.size:
                i = int(too_long[0])
                raise too_long_error(i, strings[i], int(total[i]), limit, int(too_long.size) - 1)
        row_len = lengths + n_special
        if padding == "longest":
            width = int(row_len.max()) if n else 0
        elif padding == "max_length":
            width = limit
        else:
            width = int(row_len.max()) if n else 0
            if tensors is not None and n and (row_len != width).any():
                raise TokenizationError(
                    "padding=False gives rows of different lengths, which cannot be one array; "
                    "pass padding=True or return_tensors=None"
                )
        rows = np.repeat(np.arange(n), lengths)
        cols = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + (n_special // 2)
        input_ids = np.full((n, width), PAD_ID, dtype=np.int64)
        input_ids[rows, cols] = ids
        if n_special and n:
            input_ids[:, 0] = CLS_ID
            input_ids[np.arange(n), row_len - 1] = SEP_ID
        attention_mask = (np.arange(width)[None, :] < row_len[:, None]).astype(np.int64)
        data: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if fractions is not None:
            frac = np.zeros((n, width), dtype=np.float32)
            frac[rows, cols] = fractions
            data["fractions"] = frac
        if padding is None and tensors is None:
            return {k: [r[:m].tolist() for r, m in zip(v, row_len)] for k, v in data.items()}
        if tensors is None:
            return {k: v.tolist() for k, v in data.items()}
        if tensors == "pt":
            import torch

            return {k: torch.from_numpy(v) for k, v in data.items()}
        return data

    # -- decoding ------------------------------------------------------------------------------

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        """The string of a sequence of ids. ``skip_special_tokens`` drops [PAD], [CLS] and [SEP];
        [UNK] and [MASK] are always kept, as they stand for content."""
        ids = _ids_list(ids)
        if skip_special_tokens:
            ids = [i for i in ids if i not in STRUCTURAL_IDS]
        return self._join([self._token(i) for i in ids])

    def batch_decode(self, batch_ids: Any, skip_special_tokens: bool = True) -> list[str]:
        if hasattr(batch_ids, "tolist"):
            batch_ids = batch_ids.tolist()
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in batch_ids]

    # -- persistence ---------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """What tokenizer_config.json holds."""
        return {
            "tokenizer_class": self.hf_class_name,
            "chemtl_kind": self.kind,
            **self._config_extra(),
            "model_max_length": self.model_max_length,
            "model_input_names": list(self.model_input_names),
            "padding_side": "right",
            "truncation_side": "right",
            "split_special_tokens": True,
            "clean_up_tokenization_spaces": False,
            **SPECIAL_TOKENS_MAP,
        }

    def save_pretrained(self, directory: str | os.PathLike) -> tuple[str, ...]:
        """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            TOKENIZER_FILE: self.backend.to_str(pretty=True) + "\n",
            CONFIG_FILE: json.dumps(self.config(), indent=2, ensure_ascii=False) + "\n",
            SPECIAL_TOKENS_MAP_FILE: json.dumps(SPECIAL_TOKENS_MAP, indent=2) + "\n",
        }
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        return tuple(str(out / name) for name in files)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike | Traversable):
        """Load what ``save_pretrained`` (or the ``transformers`` wrapper's) wrote."""
        config, tokenizer_json = read_saved(directory)
        kind = config.get("chemtl_kind")
        if kind != cls.kind:
            raise TokenizationError(
                f"{directory}: a {kind!r} tokenizer, not {cls.kind!r}; use chemtl.load_tokenizer"
            )
        model = tokenizer_json.get("model", {})
        if model.get("type") != "WordLevel":
            raise TokenizationError(
                f"{directory}: tokenizer.json holds a {model.get('type')} model, not WordLevel"
            )
        by_id = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        if [i for _, i in by_id] != list(range(len(by_id))):
            raise TokenizationError(f"{directory}: tokenizer.json vocabulary ids are not 0..{len(by_id) - 1}")
        vocab = [t for t, _ in by_id]
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise TokenizationError(
                f"{directory}: the vocabulary does not start with {', '.join(SPECIAL_TOKENS)}"
            )
        return cls._from_saved(vocab, config, tokenizer_json)

    def to_hf(self):
        """The ``transformers`` wrapper (``PreTrainedTokenizerFast`` subclass) of this tokenizer."""
        from chemtl._hf import hf_tokenizer_from_core

        return hf_tokenizer_from_core(self)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._config_extra().items())
        return f"{type(self).__name__}(vocab_size={self.vocab_size}{extra}, model_max_length={self.model_max_length})"


def read_saved(directory: str | os.PathLike | Traversable) -> tuple[dict[str, Any], dict[str, Any]]:
    """tokenizer_config.json and tokenizer.json of a saved tokenizer (a path or a package resource)."""
    root = directory if isinstance(directory, Traversable) else Path(directory)
    texts = []
    for name in (CONFIG_FILE, TOKENIZER_FILE):
        entry = root.joinpath(name)
        if not entry.is_file():
            raise TokenizationError(
                f"{directory}: no {name}; is this a directory written by save_pretrained?"
            )
        texts.append(entry.read_text(encoding="utf-8"))
    try:
        return json.loads(texts[0]), json.loads(texts[1])
    except json.JSONDecodeError as exc:
        raise TokenizationError(f"{directory}: unreadable tokenizer files ({exc})") from None
