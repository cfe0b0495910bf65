"""The describer: a Hugging Face T5 (``T5Config`` / ``T5ForConditionalGeneration``) that turns a
composition into a short description.

One id space serves both sides of the model (T5 shares one embedding matrix):

- ids ``0 .. W-1``: the decoder's text vocabulary, a word-level Hugging Face ``tokenizers``
  tokenizer (``build_text_tokenizer``) learned from the training descriptions: ``[PAD]`` = 0
  (also T5's decoder start), ``[UNK]`` = 1, ``[SEP]`` = 2 (end of text), then the words by
  descending frequency (ties alphabetically), split on whitespace, punctuation attached;
- ids ``W ..``: the encoder's tokens, ``W + i`` for id ``i`` of chemtl's composition tokenizer
  (the 5 special tokens and the 118 elements, ``H`` = 5 ... ``Og`` = 122), followed by the amount
  tokens "1" .. "99" (``W + 123 + a - 1``).

The encoder reads the integer-amount spelling of a formula, not the composition tokenizer's
fractions: T5's encoder takes token ids only (its embeddings are looked up, and a T5 directory
saved with extra fraction weights would not load cleanly in ``transformers``), so a formula is
written as element and amount tokens, ``Fe2O3`` -> ``Fe 2 O 3``, then ``[SEP]``. The formula is
first reduced to its compound key (``chemtl.data.keys.composition_key``: ``Fe4O6`` -> ``Fe2O3``,
``Cu1.8S`` -> ``Cu9S5``), its elements in the order of that formula; a formula whose reduced
amounts are not whole numbers up to 99 (alloys with many-digit fractions) cannot be written so and
is refused with a one-line ``FormulaSpellingError`` (training skips and counts them). The
decoder never emits an encoder token: generation suppresses ids ``W ..`` (``encoder_token_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chemtl.errors import ChemtlError

TEXT_SPECIALS = ("[PAD]", "[UNK]", "[SEP]")
TEXT_PAD_ID, TEXT_UNK_ID, TEXT_EOS_ID = 0, 1, 2
MAX_AMOUNT = 99
TEXT_TOKENIZER_FILE = "text_tokenizer.json"

# The describer sizes: T5 hyper-parameters (num_layers each for encoder and decoder).
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 1, "num_heads": 2},
    "small": {"d_model": 128, "d_kv": 32, "d_ff": 512, "num_layers": 3, "num_heads": 4},
}


class FormulaSpellingError(ChemtlError):
    """A formula that cannot be written with whole-number amounts up to 99."""


def composition_vocab_size() -> int:
    from chemtl.tokenizers.composition import composition_vocab

    return len(composition_vocab())


def encoder_vocab_size() -> int:
    """Encoder tokens: the composition tokenizer's vocabulary and the amounts 1..99."""
    return composition_vocab_size() + MAX_AMOUNT


def formula_tokens(formula: str) -> list[str]:
    """``Fe2O3`` -> ``["Fe", "2", "O", "3"]``: the reduced formula's elements and whole amounts."""
    from chemtl.chem.composition import parse_composition
    from chemtl.data.keys import composition_key

    key = composition_key(formula)
    parsed = parse_composition(key)
    tokens: list[str] = []
    for element, amount in zip(parsed.elements, parsed.amounts):
        whole = round(amount)
        if abs(amount - whole) > 1e-6 or not 1 <= whole <= MAX_AMOUNT:
            raise FormulaSpellingError(
                f"formula {formula!r} (reduced {key!r}) cannot be written with whole amounts up to "
                f"{MAX_AMOUNT}; the describer reads such formulas only"
            )
        tokens += [element, str(whole)]
    return tokens


def encoder_ids(formula: str, offset: int) -> list[int]:
    """The encoder ids of ``formula`` for a model whose text vocabulary has ``offset`` words."""
    from chemtl.tokenizers.base import SEP_ID
    from chemtl.tokenizers.composition import composition_vocab

    index = {t: i for i, t in enumerate(composition_vocab())}
    amounts = len(index)
    ids = []
    for i, token in enumerate(formula_tokens(formula)):
        ids.append(offset + (index[token] if i % 2 == 0 else amounts + int(token) - 1))
    return ids + [offset + SEP_ID]


def encoder_token_ids(offset: int) -> list[int]:
    """Every encoder-side id (what generation suppresses)."""
    return list(range(offset, offset + encoder_vocab_size()))


def build_text_tokenizer(descriptions: Iterable[str]):
    """A word-level ``tokenizers.Tokenizer`` learned from ``descriptions`` (see the module docstring)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(
        special_tokens=list(TEXT_SPECIALS), min_frequency=1, show_progress=False
    )
    tok.train_from_iterator(list(descriptions), trainer=trainer)
    return tok


def load_text_tokenizer(path) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


def encode_texts(tok, texts: Sequence[str]) -> list[list[int]]:
    """Decoder label ids of ``texts``, each ending in ``[SEP]``."""
    return [enc.ids + [TEXT_EOS_ID] for enc in tok.encode_batch(list(texts))]


def decode_texts(tok, ids: Sequence[Sequence[int]]) -> list[str]:
    """Generated ids -> text (special tokens dropped, words joined by single spaces)."""
    return tok.decode_batch([list(map(int, row)) for row in ids], skip_special_tokens=True)


def _t5():
    """transformers' T5 module. chemtl's model modules are imported first: importing a transformers
    model class before them breaks chemtl's Auto-class registration (a circular import inside
    transformers when ``chemtl._hook`` registers while ``transformers.modeling_layers`` loads)."""
    import importlib

    importlib.import_module("chemtl.models.encoder")  # first, see above
    return importlib.import_module("transformers.models.t5")


def describer_config(text_vocab_size: int, size: str = "small", **overrides: Any):
    """The ``T5Config`` of a describer with ``text_vocab_size`` words (``SIZES[size]`` + overrides)."""
    T5Config = _t5().T5Config

    if size not in SIZES:
        raise ChemtlError(f"describer size {size!r} is not one of {', '.join(SIZES)}")
    shape = {**SIZES[size], **overrides}
    return T5Config(
        vocab_size=text_vocab_size + encoder_vocab_size(),
        num_decoder_layers=shape["num_layers"],
        dropout_rate=0.1,
        feed_forward_proj="relu",
        pad_token_id=TEXT_PAD_ID,
        eos_token_id=TEXT_EOS_ID,
        decoder_start_token_id=TEXT_PAD_ID,
        tie_word_embeddings=True,
        **shape,
    )


def new_describer(text_vocab_size: int, size: str = "small", **overrides: Any):
    """A T5ForConditionalGeneration with random weights (seed the run first)."""
    return _t5().T5ForConditionalGeneration(describer_config(text_vocab_size, size, **overrides))


def load_describer(path):
    """The T5ForConditionalGeneration saved in ``path`` (safetensors only; check the directory first)."""
    return _t5().T5ForConditionalGeneration.from_pretrained(path, use_safetensors=True)


__all__ = [
    "MAX_AMOUNT",
    "SIZES",
    "TEXT_TOKENIZER_FILE",
    "FormulaSpellingError",
    "build_text_tokenizer",
    "decode_texts",
    "describer_config",
    "encode_texts",
    "encoder_ids",
    "encoder_token_ids",
    "encoder_vocab_size",
    "formula_tokens",
    "load_describer",
    "load_text_tokenizer",
    "new_describer",
]
