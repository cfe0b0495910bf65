"""The describer's id layout, formula spelling, text vocabulary and T5 config."""

from __future__ import annotations

import pytest

from chemtl.errors import InvalidFormulaError
from chemtl.models.seq2seq import (
    FormulaSpellingError,
    build_text_tokenizer,
    decode_texts,
    describer_config,
    encode_texts,
    encoder_ids,
    encoder_token_ids,
    encoder_vocab_size,
    formula_tokens,
    new_describer,
)

TEXTS = ["metal, band gap 0.0 eV (DFT).", "non-metal semiconductor, band gap 2.1 eV (DFT)."]


@pytest.mark.parametrize(
    ("formula", "tokens"),
    [
        ("Fe2O3", ["Fe", "2", "O", "3"]),
        ("Fe4O6", ["Fe", "2", "O", "3"]),  # reduced first
        ("Cu1.8S", ["Cu", "9", "S", "5"]),  # fractions cleared
        ("O3Fe2", ["Fe", "2", "O", "3"]),  # the compound key's order
        ("Si3(Cl4O)2", ["Si", "3", "Cl", "8", "O", "2"]),
    ],
)
def test_formula_tokens(formula, tokens):
    assert formula_tokens(formula) == tokens


def test_unspellable_and_invalid_formulas():
    with pytest.raises(FormulaSpellingError, match="cannot be written with whole amounts up to 99"):
        formula_tokens("Fe0.123456O0.7")
    with pytest.raises(FormulaSpellingError, match="'H100Cl'"):
        formula_tokens("H100Cl")
    with pytest.raises(InvalidFormulaError, match="Xx"):
        formula_tokens("Xx2O")


def test_encoder_ids_follow_the_composition_tokenizer():
    # Fe is id 30 and O id 12 in chemtl's composition tokenizer; amounts start at 123; [SEP] = 3
    assert encoder_vocab_size() == 123 + 99
    assert encoder_ids("Fe2O3", offset=10) == [10 + 30, 10 + 123 + 1, 10 + 12, 10 + 123 + 2, 10 + 3]
    assert encoder_token_ids(10) == list(range(10, 232))


def test_text_tokenizer_round_trips_and_orders_words():
    tok = build_text_tokenizer(TEXTS)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    # specials, then by count (band, eV, gap: twice), ties alphabetical
    assert [w for w, _ in vocab] == [
        "[PAD]", "[UNK]", "[SEP]", "(DFT).", "band", "eV", "gap", "0.0", "2.1", "metal,", "non-metal",
        "semiconductor,",
    ]  # fmt: skip
    ids = encode_texts(tok, TEXTS)
    assert ids[0] == [9, 4, 6, 7, 5, 3, 2]  # ends with [SEP]
    assert decode_texts(tok, ids) == TEXTS
    assert encode_texts(tok, ["band gap 9.9 eV"])[0] == [4, 6, 1, 5, 2]  # unseen word: [UNK]


def test_config_and_model():
    config = describer_config(12, "tiny")
    assert (config.model_type, config.vocab_size, config.d_model, config.num_layers) == (
        "t5",
        12 + 222,
        32,
        1,
    )
    assert (config.pad_token_id, config.eos_token_id, config.decoder_start_token_id) == (0, 2, 0)
    model = new_describer(12, "tiny")
    assert type(model).__name__ == "T5ForConditionalGeneration"
    with pytest.raises(Exception, match="describer size 'huge' is not one of tiny, small"):
        describer_config(12, "huge")
