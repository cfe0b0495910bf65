"""Tokenizers for compositions, SMILES and SELFIES, saved in the Hugging Face layout.

    from chemtl.tokenizers import get_tokenizer, load_tokenizer
    tok = get_tokenizer("smiles")                 # shipped default vocabulary
    batch = tok(["CCO", "c1ccccc1Br"])            # numpy input_ids / attention_mask
    tok.save_pretrained("out/tok"); load_tokenizer("out/tok")

``transformers.AutoTokenizer.from_pretrained("out/tok")`` loads the ``transformers`` wrapper
(``chemtl._hf``) once chemtl is imported, with no ``trust_remote_code``.

Names load on first use, so ``import chemtl.tokenizers`` imports neither numpy nor tokenizers,
and never torch or transformers.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chemtl.tokenizers.base import BaseTokenizer, TokenizedBatch
    from chemtl.tokenizers.composition import CompositionTokenizer
    from chemtl.tokenizers.selfies import SelfiesTokenizer
    from chemtl.tokenizers.smiles import SmilesTokenizer
    from chemtl.tokenizers.vocab import build_vocab, count_tokens

KINDS = ("composition", "smiles", "selfies")

_LAZY = {
    "BaseTokenizer": "chemtl.tokenizers.base",
    "TokenizedBatch": "chemtl.tokenizers.base",
    "SPECIAL_TOKENS": "chemtl.tokenizers.base",
    "CompositionTokenizer": "chemtl.tokenizers.composition",
    "FormulaTextTokenizer": "chemtl.tokenizers.formula_text",
    "SmilesTokenizer": "chemtl.tokenizers.smiles",
    "SelfiesTokenizer": "chemtl.tokenizers.selfies",
    "build_vocab": "chemtl.tokenizers.vocab",
    "count_tokens": "chemtl.tokenizers.vocab",
}

__all__ = [
    "KINDS",
    "BaseTokenizer",
    "CompositionTokenizer",
    "FormulaTextTokenizer",
    "SPECIAL_TOKENS",
    "SelfiesTokenizer",
    "SmilesTokenizer",
    "TokenizedBatch",
    "build_vocab",
    "count_tokens",
    "get_tokenizer",
    "load_tokenizer",
    "tokenizer_class",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tokenizer_class(kind: str) -> type[BaseTokenizer]:
    """The chemtl tokenizer class for ``kind`` ("composition", "smiles" or "selfies")."""
    from chemtl.errors import TokenizationError

    names = {
        "composition": "CompositionTokenizer",
        "smiles": "SmilesTokenizer",
        "selfies": "SelfiesTokenizer",
    }
    if kind not in names:
        raise TokenizationError(f"unknown tokenizer kind {kind!r}; use one of {', '.join(KINDS)}")
    return __getattr__(names[kind])


def get_tokenizer(kind: str, **kwargs: Any) -> BaseTokenizer:
    """A new tokenizer of ``kind``: the shipped default vocabulary for "smiles" and "selfies".

    ``kwargs`` go to the constructor: ``mode`` ("fraction" | "repeat") for compositions,
    ``vocab`` for SMILES/SELFIES, ``model_max_length`` for all.
    """
    return tokenizer_class(kind)(**kwargs)


def load_tokenizer(directory: str | os.PathLike) -> BaseTokenizer:
    """Load a tokenizer saved with ``save_pretrained`` (by chemtl or by its transformers wrapper)."""
    from chemtl.errors import TokenizationError
    from chemtl.tokenizers.base import read_saved

    config, _ = read_saved(directory)
    if config.get("chemtl_tokenizer") == "formula_text":  # the causal models' composition grammar
        return __getattr__("FormulaTextTokenizer").from_pretrained(directory)
    kind = config.get("chemtl_kind")
    if kind not in KINDS:
        raise TokenizationError(
            f"{directory}: not a chemtl tokenizer (chemtl_kind={kind!r} in tokenizer_config.json)"
        )
    return tokenizer_class(kind).from_pretrained(directory)
