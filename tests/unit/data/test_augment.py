"""Training-batch augmentation: fraction jitter and randomised SMILES, seeded by the batch."""

from __future__ import annotations

import pytest
import torch

from chemtl.chem.selfies import selfies_to_smiles, smiles_to_selfies
from chemtl.chem.smiles import canonicalize_smiles
from chemtl.data.augment import MIN_FACTOR, TrainingAugmentation, jitter_fractions, randomize_inputs
from chemtl.tokenizers import get_tokenizer

# [CLS] Fe O [SEP] [PAD] / [CLS] Li Co O [SEP] / [CLS] Si [SEP] [PAD] [PAD]
FRACTIONS = torch.tensor([[0.0, 0.4, 0.6, 0.0, 0.0], [0.0, 0.25, 0.25, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]])
SPECIAL = torch.tensor(
    [
        [True, False, False, True, True],
        [True, False, False, False, True],
        [True, False, True, True, True],
    ]
)


def jitter(seed: int, scale: float = 0.02, fractions: torch.Tensor = FRACTIONS) -> torch.Tensor:
    return jitter_fractions(fractions, SPECIAL, scale=scale, generator=torch.Generator().manual_seed(seed))


def test_jitter_keeps_each_composition_summing_to_one_and_changes_the_amounts():
    out = jitter(0)
    assert torch.allclose(out.sum(dim=1), torch.ones(3), atol=1e-6)
    assert not torch.equal(out[:2], FRACTIONS[:2])  # the two multi-element compositions move
    assert (out[~SPECIAL] > 0).all()
    assert out.dtype == torch.float32


def test_jitter_is_the_relative_noise_renormalised():
    """Each fraction is multiplied by 1 + scale * z (z the generator's normals), then the row is
    divided by its new sum: ratios of jittered to original are proportional to 1 + scale * z."""
    z = torch.randn(FRACTIONS.shape, generator=torch.Generator().manual_seed(5))
    out = jitter(5, scale=0.1)
    ratio = out[1, 1:4] / FRACTIONS[1, 1:4]
    factor = 1 + 0.1 * z[1, 1:4]
    assert torch.allclose(ratio / ratio[0], factor / factor[0], atol=1e-6)
    assert torch.allclose((FRACTIONS[1, 1:4] * factor).sum() * ratio, factor, atol=1e-6)


def test_jitter_leaves_special_and_padding_positions_and_single_elements_untouched():
    out = jitter(3, scale=0.5)
    assert torch.equal(out[SPECIAL], FRACTIONS[SPECIAL])  # all 0
    assert out[2].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]  # Si alone stays 1


def test_jitter_is_a_function_of_the_seed():
    assert torch.equal(jitter(11), jitter(11))
    assert not torch.equal(jitter(11), jitter(12))


def test_jitter_factor_is_clipped_so_no_element_vanishes():
    # scale 0.9: many draws of 1 + 0.9 z fall below 0; every factor is clipped to MIN_FACTOR
    fractions = torch.tensor([[0.0] + [0.1] * 10 + [0.0]] * 20)
    special = torch.zeros_like(fractions, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    z = torch.randn(fractions.shape, generator=torch.Generator().manual_seed(0))
    assert ((1 + 0.9 * z)[~special] < 0).sum() > 0
    out = jitter_fractions(fractions, special, scale=0.9, generator=torch.Generator().manual_seed(0))
    assert (out[~special] > 0).all()
    assert torch.allclose(out.sum(dim=1), torch.ones(20), atol=1e-6)
    assert MIN_FACTOR == 1e-3


def test_training_augmentation_jitters_a_tokenised_batch_only_in_its_fractions():
    tok = get_tokenizer("composition")
    enc = tok(["Fe2O3", "LiCoO2", "Si"], padding=True, return_tensors="pt")
    batch = {k: torch.as_tensor(enc[k]) for k in ("input_ids", "attention_mask", "fractions")}
    batch["fractions"] = batch["fractions"].float()
    aug = TrainingAugmentation("jitter", "composition", 0.02)
    out = aug.batch(batch, seed=7)
    assert torch.equal(out["input_ids"], batch["input_ids"])
    assert torch.equal(out["attention_mask"], batch["attention_mask"])
    assert torch.allclose(out["fractions"].sum(dim=1), torch.ones(3), atol=1e-6)
    assert not torch.equal(out["fractions"], batch["fractions"])
    pad = batch["attention_mask"] == 0
    assert out["fractions"][pad].tolist() == [0.0, 0.0, 0.0]
    assert torch.equal(aug.batch(batch, seed=7)["fractions"], out["fractions"])
    assert not torch.equal(aug.batch(batch, seed=8)["fractions"], out["fractions"])
    assert aug.strings(["Fe2O3"], seed=7) == ["Fe2O3"]  # jitter leaves the strings alone


MOLECULES = ["CC(=O)Nc1ccc(O)cc1", "c1ccccc1O", "C[C@H](N)C(=O)O", "CCO"]


def test_randomised_smiles_are_the_same_molecules_and_follow_the_seed():
    out = randomize_inputs(MOLECULES, "smiles", seed=3)
    assert [canonicalize_smiles(s) for s in out] == [canonicalize_smiles(s) for s in MOLECULES]
    assert out == randomize_inputs(MOLECULES, "smiles", seed=3)
    assert out != MOLECULES
    assert out != randomize_inputs(MOLECULES, "smiles", seed=4)
    aug = TrainingAugmentation("random-smiles", "smiles")
    assert aug.strings(MOLECULES, seed=3) == out


def test_randomised_selfies_go_through_smiles():
    selfies = [smiles_to_selfies(s) for s in MOLECULES[:2]]
    out = randomize_inputs(selfies, "selfies", seed=0)
    assert [canonicalize_smiles(selfies_to_smiles(s)) for s in out] == [
        canonicalize_smiles(s) for s in MOLECULES[:2]
    ]
    assert out == randomize_inputs(selfies, "selfies", seed=0)


@pytest.mark.parametrize("bad", ["not-a-smiles", "C1CC", ""])
def test_inputs_that_do_not_parse_stay_as_they_are(bad):
    out = randomize_inputs(["CCO", bad], "smiles", seed=1)
    assert out[1] == bad
    assert canonicalize_smiles(out[0]) == "CCO"
