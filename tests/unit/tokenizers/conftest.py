"""Shared fixtures: tokenizers with the shipped vocabularies and a MOSES sample."""

from __future__ import annotations

from itertools import islice

import pytest

from chemtl.tokenizers import get_tokenizer
from chemtl.tokenizers.build_default_vocab import iter_moses


@pytest.fixture(scope="session")
def moses_sample() -> list[str]:
    """The first 2,000 MOSES training SMILES (streamed, file order)."""
    return list(islice(iter_moses("train"), 2000))


@pytest.fixture(scope="session")
def smiles_tok():
    return get_tokenizer("smiles")


@pytest.fixture(scope="session")
def selfies_tok():
    return get_tokenizer("selfies")


@pytest.fixture(scope="session")
def comp_tok():
    return get_tokenizer("composition")


@pytest.fixture(scope="session")
def repeat_tok():
    return get_tokenizer("composition", mode="repeat")
