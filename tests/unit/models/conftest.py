"""Hand-built batches in the tokenizer contract: [CLS]=2 [SEP]=3 [PAD]=0, element id = Z + 4 (Fe=30, O=12)."""

from __future__ import annotations

import pytest
import torch

Z = {"Li": 3, "O": 8, "P": 15, "Ti": 22, "Fe": 26, "Co": 27, "Sr": 38, "Ba": 56}


def el(symbol: str) -> int:
    return Z[symbol] + 4


@pytest.fixture
def composition_batch() -> dict[str, torch.Tensor]:
    """Fe2O3, LiCoO2, (Ba0.5Sr0.5)TiO3, LiFePO4 (B=4, T=8, padded)."""
    rows = [
        ([el("Fe"), el("O")], [0.4, 0.6]),
        ([el("Li"), el("Co"), el("O")], [0.25, 0.25, 0.5]),
        ([el("Ba"), el("Sr"), el("Ti"), el("O")], [0.1, 0.1, 0.2, 0.6]),
        ([el("Li"), el("Fe"), el("P"), el("O")], [1 / 7, 1 / 7, 1 / 7, 4 / 7]),
    ]
    T = 8
    input_ids = torch.zeros(4, T, dtype=torch.long)
    fractions = torch.zeros(4, T)
    for i, (ids, fr) in enumerate(rows):
        input_ids[i, : len(ids) + 2] = torch.tensor([2, *ids, 3])
        fractions[i, 1 : len(ids) + 1] = torch.tensor(fr)
    return {"input_ids": input_ids, "attention_mask": (input_ids != 0).long(), "fractions": fractions}


@pytest.fixture
def smiles_batch() -> dict[str, torch.Tensor]:
    """Four token sequences over a made-up SMILES vocabulary of 40 ids (B=4, T=10)."""
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, 40, (4, 10), generator=g)
    input_ids[:, 0] = 2
    input_ids[:, -1] = 3
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for the 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
