"""Padding, truncation, attention masks, tensors and the too-long error (shared base)."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import TokenizationError
from chemtl.tokenizers import SmilesTokenizer


@pytest.fixture(scope="module")
def tok():
    return SmilesTokenizer(["C", "O", "N", "(", ")", "="])  # C=5 O=6 N=7 (=8 )=9 ==10


def test_padding_longest(tok):
    batch = tok(["CCO", "C", "C(=O)N"])
    assert batch["input_ids"].tolist() == [
        [2, 5, 5, 6, 3, 0, 0, 0],
        [2, 5, 3, 0, 0, 0, 0, 0],
        [2, 5, 8, 10, 6, 9, 7, 3],
    ]
    assert batch["attention_mask"].tolist() == [
        [1, 1, 1, 1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1],
    ]
    assert batch["input_ids"].dtype == np.int64 and batch["attention_mask"].dtype == np.int64


def test_padding_max_length(tok):
    batch = tok(["CCO", "C"], padding="max_length", max_length=7)
    assert batch["input_ids"].tolist() == [[2, 5, 5, 6, 3, 0, 0], [2, 5, 3, 0, 0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]]


def test_truncation_keeps_cls_and_sep(tok):
    batch = tok(["CCCCCO", "CO"], truncation=True, max_length=5)
    assert batch["input_ids"].tolist() == [[2, 5, 5, 5, 3], [2, 5, 6, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]
    padded = tok(["CCCCCO", "CO"], truncation=True, max_length=5, padding="max_length")
    assert padded["input_ids"].tolist() == [[2, 5, 5, 5, 3], [2, 5, 6, 3, 0]]


def test_too_long_without_truncation_names_string_length_limit_and_index(tok):
    with pytest.raises(TokenizationError) as info:
        tok(["CO", "CCCCCO", "CCCCCCCCCCO"], max_length=5)
    assert str(info.value) == (
        "string 1 'CCCCCO' has 8 tokens (with [CLS] and [SEP]), more than max_length=5; "
        "pass truncation=True or a larger max_length; 1 more string(s) in this batch are too long"
    )


def test_too_long_message_shortens_long_strings(tok):
    long = "C" * 300 + "O" * 300
    with pytest.raises(
        TokenizationError, match=r"^string 0 'C{40}\.\.\.O{15}' has 602 tokens .* max_length=512"
    ):
        tok(long)


def test_model_max_length_is_the_default_limit():
    tok = SmilesTokenizer(["C"], model_max_length=4)
    assert tok("CC")["input_ids"].tolist() == [[2, 5, 5, 3]]
    with pytest.raises(TokenizationError, match="max_length=4"):
        tok("CCC")


def test_no_padding(tok):
    ragged = tok(["CCO", "C"], padding=False, return_tensors=None)
    assert ragged == {"input_ids": [[2, 5, 5, 6, 3], [2, 5, 3]], "attention_mask": [[1] * 5, [1] * 3]}
    same = tok(["CO", "CN"], padding=False)
    assert same["input_ids"].tolist() == [[2, 5, 6, 3], [2, 5, 7, 3]]
    with pytest.raises(TokenizationError, match="padding=False"):
        tok(["CCO", "C"], padding=False)


def test_return_tensors(tok):
    import torch

    batch = tok(["CCO", "C"], return_tensors="pt")
    assert isinstance(batch["input_ids"], torch.Tensor) and batch["input_ids"].dtype == torch.int64
    assert batch["input_ids"].tolist() == [[2, 5, 5, 6, 3], [2, 5, 3, 0, 0]]
    lists = tok(["CCO", "C"], return_tensors=None)
    assert lists["input_ids"] == [[2, 5, 5, 6, 3], [2, 5, 3, 0, 0]]


def test_single_string_is_a_batch_of_one_and_encode_gives_lists(tok):
    assert tok("CO")["input_ids"].tolist() == [[2, 5, 6, 3]]
    assert tok.encode("CO") == {"input_ids": [2, 5, 6, 3], "attention_mask": [1, 1, 1, 1]}
    assert tok.encode("CO", add_special_tokens=False)["input_ids"] == [5, 6]


def test_empty_inputs(tok):
    assert tok([""])["input_ids"].tolist() == [[2, 3]]
    empty = tok([])
    assert empty["input_ids"].shape == (0, 0) and empty["attention_mask"].shape == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": "longest_first"}, "padding="),
        ({"return_tensors": "tf"}, "return_tensors="),
        ({"max_length": 2}, "max_length=2"),
    ],
)
def test_bad_arguments(tok, kwargs, message):
    with pytest.raises(TokenizationError, match=message):
        tok(["CO"], **kwargs)


@pytest.mark.parametrize("bad", [None, 3.5, ["CO", None]])
def test_non_strings(tok, bad):
    with pytest.raises(TokenizationError):
        tok(bad)


def test_decode_variants(tok):
    ids = tok(["CO", "CCO"])["input_ids"]
    assert tok.decode(ids[0]) == "CO"
    assert tok.decode(ids[0], skip_special_tokens=False) == "[CLS]CO[SEP][PAD]"
    assert tok.decode(ids[0].tolist()) == "CO"
    assert tok.batch_decode(ids) == ["CO", "CCO"]
    assert tok.decode([2, 5, 4, 1, 3]) == "C[MASK][UNK]"
    with pytest.raises(TokenizationError, match="batch_decode"):
        tok.decode(ids.tolist())


def test_special_tokens_in_text_map_to_their_ids(tok):
    assert tok.encode("C[MASK]O")["input_ids"] == [2, 5, 4, 6, 3]


def test_vocabulary_errors():
    with pytest.raises(TokenizationError, match="appears twice"):
        SmilesTokenizer(["C", "O", "C"])
    with pytest.raises(TokenizationError, match="non-empty"):
        SmilesTokenizer(["C", ""])
