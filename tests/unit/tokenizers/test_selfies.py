"""SELFIES tokenizer: symbols as split_selfies gives them, unknown symbols, default vocabulary."""

from __future__ import annotations

import selfies as sf

from chemtl.tokenizers import SelfiesTokenizer


def test_symbols_match_split_selfies(selfies_tok):
    s = "[C][=C][F].[C][Ring1][=Branch1][NH1][N+1][O-1]"
    assert selfies_tok.tokenize(s) == list(sf.split_selfies(s))
    assert selfies_tok.tokenize(s) == [
        "[C]",
        "[=C]",
        "[F]",
        ".",
        "[C]",
        "[Ring1]",
        "[=Branch1]",
        "[NH1]",
        "[N+1]",
        "[O-1]",
    ]
    enc = selfies_tok.encode(s)
    assert 1 not in enc["input_ids"]
    assert selfies_tok.decode(enc["input_ids"]) == s


def test_exact_ids_of_a_small_vocabulary():
    tok = SelfiesTokenizer(["[C]", "[=C]", "[F]", "."])
    assert tok.encode("[C][=C][F].[C]")["input_ids"] == [2, 5, 6, 7, 8, 5, 3]


def test_characters_outside_symbols_are_kept_and_unknown():
    tok = SelfiesTokenizer(["[C]", "[O]"])
    # split_selfies would drop "ab" and glue "x" onto the next symbol
    assert tok.tokenize("ab[C]x[O][Xe]") == ["a", "b", "[C]", "x", "[O]", "[Xe]"]
    batch = tok(["ab[C]x[O][Xe]", "[C][O]"])
    assert batch["input_ids"].tolist() == [[2, 1, 1, 5, 1, 6, 1, 3], [2, 5, 6, 3, 0, 0, 0, 0]]
    assert batch.unknown == {"a": 1, "b": 1, "x": 1, "[Xe]": 1} and batch.unknown_rows == [0]
    assert tok.tokenize("[C][C") == ["[C]", "[", "C"]  # hanging bracket


def test_default_vocabulary_covers_robust_alphabet_and_moses(selfies_tok, moses_sample):
    vocab = selfies_tok.get_vocab()
    assert set(sf.get_semantic_robust_alphabet()) <= set(vocab)
    assert "." in vocab
    encoded = [sf.encoder(s) for s in moses_sample[:300]]
    batch = selfies_tok(encoded)
    assert batch.unknown == {}
    assert selfies_tok.batch_decode(batch["input_ids"]) == encoded
