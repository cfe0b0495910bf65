"""SMILES tokenizer: exact tokens, round trips, unknown tokens, the default vocabulary."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chemtl.tokenizers import SmilesTokenizer
from chemtl.tokenizers.build_default_vocab import COMMON_BRACKET_ATOMS, RING_CLOSURES
from chemtl.tokenizers.smiles import SCHWALLER_REGEX, SMILES_SINGLE_CHARACTERS


@pytest.mark.parametrize(
    ("smiles", "tokens"),
    [
        ("C[C@@H](N)C(=O)O", ["C", "[C@@H]", "(", "N", ")", "C", "(", "=", "O", ")", "O"]),
        ("[NH4+].[Cl-]", ["[NH4+]", ".", "[Cl-]"]),
        ("C%10CCCCC%10", ["C", "%10", "C", "C", "C", "C", "C", "%10"]),
        ("ClCBr", ["Cl", "C", "Br"]),
        ("CCl", ["C", "Cl"]),
        ("c1ccccc1Br", ["c", "1", "c", "c", "c", "c", "c", "1", "Br"]),
        ("[2H]C([2H])([2H])[Zn]", ["[2H]", "C", "(", "[2H]", ")", "(", "[2H]", ")", "[Zn]"]),
        ("C/C=C\\C", ["C", "/", "C", "=", "C", "\\", "C"]),
        ("C1CC%12CC1", ["C", "1", "C", "C", "%12", "C", "C", "1"]),
        ("B(O)O", ["B", "(", "O", ")", "O"]),
    ],
)
def test_exact_tokens_and_round_trip(smiles_tok, smiles, tokens):
    assert smiles_tok.tokenize(smiles) == tokens
    enc = smiles_tok.encode(smiles)
    assert enc["input_ids"][0] == 2 and enc["input_ids"][-1] == 3
    assert enc["input_ids"][1:-1] == smiles_tok.convert_tokens_to_ids(tokens)
    assert 1 not in enc["input_ids"]
    assert smiles_tok.decode(enc["input_ids"]) == smiles


def test_exact_ids_of_a_small_vocabulary():
    tok = SmilesTokenizer(["C", "O", "(", ")", "=", "[C@@H]", "N"])
    assert tok.vocab_size == 12
    assert tok.encode("C[C@@H](N)C(=O)O")["input_ids"] == [2, 5, 10, 7, 11, 8, 5, 7, 9, 6, 8, 6, 3]


def test_out_of_vocabulary_tokens_become_unk_and_are_counted():
    tok = SmilesTokenizer(["C", "O", "Cl"])
    batch = tok(["CCO", "C[Zn]CX C", "ClC[Zn]"])
    assert batch["input_ids"].tolist() == [
        [2, 5, 5, 6, 3, 0, 0, 0],
        [2, 5, 1, 5, 1, 1, 5, 3],
        [2, 7, 5, 1, 3, 0, 0, 0],
    ]
    assert batch.unknown == {"[Zn]": 2, "X": 1, " ": 1}
    assert batch.num_unknown == 4
    assert batch.unknown_rows == [1, 2]
    assert tok.last_unknown == batch.unknown
    assert tok.decode(batch["input_ids"][1]) == "C[UNK]C[UNK][UNK]C"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("C[C", ["C", "[", "C"]),  # unclosed bracket
        ("C[]C", ["C", "[", "]", "C"]),  # empty bracket
        ("C%1C", ["C", "%", "1", "C"]),  # % needs two digits
        ("C%(123)C", ["C", "%", "(", "1", "2", "3", ")", "C"]),
        ("CH4", ["C", "H", "4"]),
        ("c1ccccc1\n", ["c", "1", "c", "c", "c", "c", "c", "1", "\n"]),
        ("CCé", ["C", "C", "é"]),
        ("C\x00C", ["C", "\x00", "C"]),
    ],
)
def test_characters_outside_the_regex_are_kept_as_tokens(smiles_tok, text, tokens):
    assert smiles_tok.tokenize(text) == tokens
    enc = smiles_tok.encode(text)
    assert len(enc["input_ids"]) == len(tokens) + 2
    assert sum(smiles_tok.last_unknown.values()) == sum(1 for t in tokens if t not in smiles_tok.get_vocab())


def test_pattern_is_schwaller_regex_with_a_catch_all():
    assert SmilesTokenizer.PATTERN == SCHWALLER_REGEX + r"|[\s\S]"
    original = re.compile(
        r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])"
    )
    smiles = "CC(=O)Oc1ccccc1C(=O)O.[Na+].[2H]C%10CC/C=C\\C%10Br"
    assert SmilesTokenizer().tokenize(smiles) == original.findall(smiles)


def test_default_vocabulary_covers_moses_and_common_bracket_atoms(smiles_tok, moses_sample):
    vocab = smiles_tok.get_vocab()
    for token in (*COMMON_BRACKET_ATOMS, *RING_CLOSURES, *SMILES_SINGLE_CHARACTERS, "Cl", "Br"):
        assert token in vocab, token
    for token in (
        "[C@@H]",
        "[C@H]",
        "[NH4+]",
        "[Na+]",
        "[Cl-]",
        "[O-]",
        "[N+]",
        "[nH]",
        "[2H]",
        "%10",
        "%99",
    ):
        assert token in vocab
    batch = smiles_tok(moses_sample)
    assert batch.unknown == {}
    decoded = smiles_tok.batch_decode(batch["input_ids"])
    assert decoded == moses_sample


def test_default_vocabulary_order_is_stable(smiles_tok):
    assert smiles_tok.vocab[:12] == (
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "c",
        "C",
        "(",
        ")",
        "1",
        "O",
        "2",
    )
    assert smiles_tok.vocab_size == 296


def test_strings_with_nul_take_the_slow_path_with_the_same_result(smiles_tok):
    fast = smiles_tok(["CCO", "c1ccccc1"])
    slow = smiles_tok(["CCO", "c1ccccc1", "C\x00"])
    np.testing.assert_array_equal(slow["input_ids"][:2, : fast["input_ids"].shape[1]], fast["input_ids"])
    assert slow.unknown == {"\x00": 1} and slow.unknown_rows == [2]
