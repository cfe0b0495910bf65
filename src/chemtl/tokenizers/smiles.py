"""SMILES tokenizer: the regex of Schwaller et al. with a word-level vocabulary.

Tokens are the matches of the regex of Schwaller et al. (Molecular Transformer, ACS Cent. Sci.
2019), followed by a one-character catch-all so that nothing is ever dropped::

    \\[[^\\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\\(|\\)|\\.|=|#|-|\\+|\\\\|\\/|:|~|@|\\?|>|\\*|\\$|%[0-9]{2}|[0-9]

so "Cl" and "Br" are one token each, a bracket atom ("[C@@H]", "[NH4+]", "[2H]") is one token,
"%10" is one ring-closure token, and everything else is one character per token. What the regex
does not cover, and therefore becomes its own token (normally [UNK]): an unclosed or empty
bracket ("[", "[]"), a "%" not followed by two digits (OpenSMILES "%(123)"), white space, letters
outside brackets other than the organic subset (e.g. "H", "X", "l"). Out-of-vocabulary tokens are
[UNK], counted in ``TokenizedBatch.unknown``.

The default vocabulary (``SmilesTokenizer()``) is built from the whole MOSES training set plus
common bracket atoms, every single-character token of the grammar and %10-%99; see
``chemtl/resources/tokenizers/README.md``.
"""

from __future__ import annotations

from chemtl.tokenizers.wordlevel import RegexTokenizer

SCHWALLER_REGEX = (
    r"\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9]"
)
# Characters the regex matches as one-character tokens.
SMILES_SINGLE_CHARACTERS = tuple("BCNOSPFIbcnosp().=#-+\\/:~@?>*$0123456789")


class SmilesTokenizer(RegexTokenizer):
    """SMILES -> ``[CLS] tokens [SEP]`` with the Schwaller regex and a word-level vocabulary."""

    kind = "smiles"
    hf_class_name = "SmilesTokenizerFast"
    VALID_PATTERN = SCHWALLER_REGEX
    PATTERN = SCHWALLER_REGEX + r"|[\s\S]"
    MULTI_PATTERN = r"\[[^\]\x00]+]|Br|Cl|%[0-9]{2}"
