"""SELFIES tokenizer: one token per SELFIES symbol, word-level vocabulary.

A symbol is what ``selfies.split_selfies`` yields: a bracketed symbol ``[...]`` or the ``.``
between fragments; the tokenizer splits with the equivalent regex ``\\[[^\\]]*]|\\.`` (a test checks
it gives the same symbols as ``split_selfies`` on well-formed strings). Unlike ``split_selfies``,
which drops characters before the first "[" and glues stray characters onto the next symbol, any
character outside a symbol becomes a token of its own (normally [UNK], counted), so
``"".join(tokenize(s)) == s`` always holds.

The default vocabulary (``SelfiesTokenizer()``) is built from a subset of MOSES converted with
``selfies.encoder`` plus ``selfies.get_semantic_robust_alphabet()``; see
``chemtl/resources/tokenizers/README.md``.
"""

from __future__ import annotations

from chemtl.tokenizers.wordlevel import RegexTokenizer

SELFIES_SYMBOL_REGEX = r"\[[^\]]*]|\."


class SelfiesTokenizer(RegexTokenizer):
    """SELFIES -> ``[CLS] symbols [SEP]`` with a word-level vocabulary."""

    kind = "selfies"
    hf_class_name = "SelfiesTokenizerFast"
    VALID_PATTERN = SELFIES_SYMBOL_REGEX
    PATTERN = SELFIES_SYMBOL_REGEX + r"|[\s\S]"
    MULTI_PATTERN = r"\[[^\]\x00]*]"
