"""finetune's batches: augmentation on the training loader only, seeded by the batch position."""

from __future__ import annotations

import pytest
import torch

from chemtl.chem.smiles import canonicalize_smiles
from chemtl.data.augment import TrainingAugmentation
from chemtl.pipelines.finetune import PropertyCollate, training_augmentation, training_loaders
from chemtl.tokenizers import get_tokenizer
from chemtl.training.config import ConfigError, DataConfig, TrainConfig

ROWS = [("Fe2O3", 1.0), ("LiCoO2", 2.0), ("NaCl", 0.5), ("SiO2", 3.0), ("Si", 0.0)]


def loaders(augment: str = "jitter", batch_size: int = 2, seed: int = 0):
    tok = get_tokenizer("composition")
    aug = training_augmentation(DataConfig(dataset="x", split="random", augment=augment), "composition", tok)
    train = TrainConfig(batch_size=batch_size, seed=seed)
    return training_loaders(ROWS, ROWS, tok, 32, "regression", train, aug)


def test_only_the_training_batches_are_augmented():
    train_loader, val_loader = loaders("jitter")
    plain_train, plain_val = loaders("none")
    batch = train_loader.dataset[(0, 0)]
    plain = plain_train.dataset[(0, 0)]
    assert torch.equal(batch["input_ids"], plain["input_ids"])
    assert torch.equal(batch["labels"], plain["labels"])
    assert not torch.equal(batch["fractions"], plain["fractions"])
    assert torch.allclose(batch["fractions"].sum(dim=1), torch.ones(2), atol=1e-6)
    val, val_plain = next(iter(val_loader)), next(iter(plain_val))
    assert val.keys() == val_plain.keys()
    assert all(torch.equal(val[k], val_plain[k]) for k in val)
    assert val["fractions"][0, 1:3].tolist() == pytest.approx([0.4, 0.6])  # Fe2O3 as written


def test_a_batch_position_gives_the_same_jitter_every_time():
    """Batch (epoch, j) is collated from its own seed: a resumed run fetching it again, or another
    loader with the same --seed, gets the same numbers; another epoch or --seed, others."""
    first = loaders("jitter")[0].dataset
    again = loaders("jitter")[0].dataset
    assert torch.equal(first[(1, 1)]["fractions"], again[(1, 1)]["fractions"])
    assert torch.equal(first[(1, 1)]["fractions"], first[(1, 1)]["fractions"])
    other_seed = loaders("jitter", seed=1)[0].dataset
    assert not torch.equal(first[(0, 0)]["fractions"], other_seed[(0, 0)]["fractions"])


def test_collate_randomises_smiles_before_tokenising():
    tok = get_tokenizer("smiles")
    rows = [("CC(=O)Nc1ccc(O)cc1", 0.0), ("c1ccccc1O", 1.0)]
    collate = PropertyCollate(tok, 64, "regression", TrainingAugmentation("random-smiles", "smiles"))
    plain = PropertyCollate(tok, 64, "regression")
    batch = collate(rows, seed=3)
    assert torch.equal(batch["input_ids"], collate(rows, seed=3)["input_ids"])
    assert not torch.equal(batch["input_ids"], plain(rows, seed=3)["input_ids"])
    written = [tok.decode(ids, skip_special_tokens=True).replace(" ", "") for ids in batch["input_ids"]]
    assert [canonicalize_smiles(s) for s in written] == [canonicalize_smiles(r[0]) for r in rows]


def test_the_models_kind_decides_auto_and_refuses_what_does_not_fit():
    tok = get_tokenizer("composition")
    assert training_augmentation(DataConfig(dataset="x", split="random"), "composition", tok) is None
    auto = training_augmentation(DataConfig(dataset="x", split="random", augment="auto"), "smiles", tok)
    assert (auto.method, auto.kind) == ("random-smiles", "smiles")
    with pytest.raises(ConfigError) as info:
        training_augmentation(DataConfig(dataset="x", split="random", augment="jitter"), "smiles", tok)
    assert str(info.value) == "augment 'jitter' applies to composition inputs, not smiles"


MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)O", "CCN", "CCCCCl", "c1ccncc1"]


def test_rdkit_feature_scaling_is_fitted_on_the_training_rows_only():
    import numpy as np

    from chemtl.data.features import rdkit_descriptor_matrix, rdkit_descriptor_names
    from chemtl.models import ChemtlConfig
    from chemtl.pipelines.finetune import fit_features, model_features

    train_rows = [0, 2, 3, 5]
    scaled, fields = fit_features("rdkit", "smiles", MOLECULES, train_rows)
    raw = rdkit_descriptor_matrix([MOLECULES[i] for i in train_rows])
    std = np.std(raw, axis=0)
    assert (fields["extra_features"], fields["extra_features_dim"]) == ("rdkit", 217)
    assert fields["extra_feature_names"] == rdkit_descriptor_names()
    assert np.allclose(fields["extra_feature_mean"], np.mean(raw, axis=0), rtol=1e-14, atol=0)
    assert np.allclose(fields["extra_feature_std"], np.where(std > 0, std, 1.0), rtol=1e-14, atol=0)
    assert scaled.shape == (6, 217) and scaled.dtype == np.float32
    mol_wt = fields["extra_feature_names"].index("MolWt")
    assert np.allclose(scaled[train_rows, mol_wt].mean(), 0.0, atol=1e-6)
    # other validation/test molecules: the same statistics
    others = MOLECULES[:1] + ["CCCCCCCCCCCCCCCCCCCC"] + MOLECULES[2:4] + ["O=C=O"] + MOLECULES[5:]
    assert fit_features("rdkit", "smiles", others, train_rows)[1] == fields
    # a model carrying these fields computes the same features for new inputs
    config = ChemtlConfig.from_size("tiny", "smiles", 40, **fields)
    assert np.array_equal(model_features(config, MOLECULES), scaled)


def test_morgan_features_are_the_bits_unscaled():
    import numpy as np

    from chemtl.data.features import morgan_matrix
    from chemtl.pipelines.finetune import fit_features

    scaled, fields = fit_features("morgan", "smiles", MOLECULES, [0, 1])
    assert fields == {
        "extra_features": "morgan",
        "extra_features_dim": 2048,
        "extra_feature_names": None,
        "extra_feature_mean": None,
        "extra_feature_std": None,
    }
    assert np.array_equal(scaled, morgan_matrix(MOLECULES).astype(np.float32))


def test_collate_adds_each_rows_features():
    import numpy as np

    tok = get_tokenizer("smiles")
    rows = [("CCO", 0.5, np.array([1.0, 2.0])), ("c1ccccc1O", 1.0, np.array([3.0, 4.0]))]
    batch = PropertyCollate(tok, 64, "regression")(rows)
    assert batch["features"].dtype == torch.float32
    assert batch["features"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert "features" not in PropertyCollate(tok, 64, "regression")([r[:2] for r in rows])
