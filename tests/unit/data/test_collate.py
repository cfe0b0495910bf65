"""``DescriptorCollator``: each batch's molecules get their standardised RDKit descriptors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chemtl.data.collate import DescriptorCollator, MaskedLMCollator, MaskingOptions
from chemtl.data.features import DescriptorTargets, FeatureScaling
from chemtl.errors import ChemtlError

TARGETS = DescriptorTargets(
    ("MolWt", "NumHDonors"), FeatureScaling(np.array([50.0, 0.0]), np.array([10.0, 2.0])), 2
)


def test_descriptor_labels_beside_the_plain_or_the_masked_batch():
    from chemtl.tokenizers import get_tokenizer

    tokenizer = get_tokenizer("smiles")
    rows = ["CCO", "c1ccccc1"]
    plain = DescriptorCollator("smiles", tokenizer, TARGETS)(rows)
    # alone (pure multi-task regression): the strings tokenised as they are, nothing masked
    encoded = tokenizer(rows, padding=True, return_tensors="pt")
    assert sorted(plain) == ["attention_mask", "descriptor_labels", "input_ids"]
    assert torch.equal(plain["input_ids"], torch.as_tensor(encoded["input_ids"]))
    # (46.069 - 50) / 10, 1 / 2 and (78.114 - 50) / 10, 0
    assert plain["descriptor_labels"].dtype == torch.float32
    assert plain["descriptor_labels"].tolist() == [
        [np.float32(-0.3931), 0.5],
        [np.float32((78.11399999999999 - 50) / 10), 0.0],
    ]
    masked = DescriptorCollator("smiles", tokenizer, TARGETS, MaskedLMCollator("smiles", tokenizer, seed=3))(
        rows
    )
    alone = MaskedLMCollator("smiles", tokenizer, masking=MaskingOptions(), seed=3)(rows)
    assert torch.equal(masked["labels"], alone["labels"]) and torch.equal(
        masked["input_ids"], alone["input_ids"]
    )
    assert torch.equal(masked["descriptor_labels"], plain["descriptor_labels"])
    # SELFIES are read through SMILES: the same molecules, the same targets
    selfies = DescriptorCollator("selfies", get_tokenizer("selfies"), TARGETS)(
        ["[C][C][O]", "[C][=C][C][=C][C][=C][Ring1][=Branch1]"]
    )
    assert torch.equal(selfies["descriptor_labels"], plain["descriptor_labels"])


def test_descriptor_targets_need_molecules():
    from chemtl.tokenizers import get_tokenizer

    with pytest.raises(ChemtlError, match="kind 'composition' has none"):
        DescriptorCollator("composition", get_tokenizer("composition"), TARGETS)
    collate = DescriptorCollator("smiles", get_tokenizer("smiles"), TARGETS)
    with pytest.raises(ChemtlError, match="invalid SMILES 'C1CC'"):
        collate(["CCO", "C1CC"])
