"""Tiny chemtl property models and batches for the transfer tests."""

from __future__ import annotations

import pytest
import torch

from chemtl.models import ChemtlConfig, ChemtlForPropertyPrediction

SMILES_VOCAB = 40


def composition_batch(batch_size: int = 3) -> dict[str, torch.Tensor]:
    """[CLS] el el (el) [SEP] [PAD]: rows of 2 and 3 elements, fractions summing to 1."""
    g = torch.Generator().manual_seed(1)
    ids = torch.zeros(batch_size, 6, dtype=torch.long)
    fractions = torch.zeros(batch_size, 6)
    for row in range(batch_size):
        n = 2 + row % 2
        ids[row, 0] = 2
        ids[row, 1 : 1 + n] = torch.randint(5, 123, (n,), generator=g)
        ids[row, 1 + n] = 3
        amounts = torch.rand(n, generator=g) + 0.1
        fractions[row, 1 : 1 + n] = amounts / amounts.sum()
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "fractions": fractions}


def smiles_batch(batch_size: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(5, SMILES_VOCAB, (batch_size, 7), generator=g)
    ids[:, 0] = 2
    ids[:, -1] = 3
    ids[0, -2:] = torch.tensor([3, 0])  # one padded row
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


def tiny_config(kind: str = "composition") -> ChemtlConfig:
    vocab = None if kind == "composition" else SMILES_VOCAB
    return ChemtlConfig.from_size("tiny", kind, vocab, num_labels=1)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads; on a busy 2-core machine they cost ~6x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pretrained_dirs(tmp_path_factory) -> dict[str, str]:
    """A saved tiny property model per kind, standing in for a pretrained checkpoint."""
    dirs = {}
    for kind in ("composition", "smiles"):
        torch.manual_seed(0)
        model = ChemtlForPropertyPrediction(tiny_config(kind))
        path = tmp_path_factory.mktemp(f"pretrained-{kind}")
        model.save_pretrained(path)
        dirs[kind] = str(path)
    return dirs


@pytest.fixture
def load_tiny(pretrained_dirs):
    """``load_tiny(kind)``: a fresh copy of the pretrained tiny model."""

    def load(kind: str = "composition") -> ChemtlForPropertyPrediction:
        return ChemtlForPropertyPrediction.from_pretrained(pretrained_dirs[kind])

    return load


@pytest.fixture
def batches():
    return {"composition": composition_batch(), "smiles": smiles_batch()}
