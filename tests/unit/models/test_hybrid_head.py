"""The hybrid property head (``extra_features``): molecule features concatenated to the pooled
embedding before the head, as Chemprop's feature generators."""

from __future__ import annotations

import pytest
import torch

from chemtl.errors import ChemtlError
from chemtl.models import ChemtlConfig, ChemtlForPropertyPrediction


def hybrid_config(**overrides) -> ChemtlConfig:
    fields = {"num_labels": 1, "extra_features": "morgan", "extra_features_dim": 7, **overrides}
    return ChemtlConfig.from_size("tiny", "smiles", 40, **fields)


def batch(n: int = 3) -> dict[str, torch.Tensor]:
    ids = torch.tensor([[2, 5, 6, 3]] * n)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_head_input_is_hidden_size_plus_the_features():
    config = hybrid_config()
    assert (config.hidden_size, config.head_input_size) == (32, 39)
    model = ChemtlForPropertyPrediction(config).eval()
    assert (model.classifier.transform.in_features, model.classifier.transform.out_features) == (39, 32)
    plain = ChemtlForPropertyPrediction(ChemtlConfig.from_size("tiny", "smiles", 40, num_labels=1))
    assert plain.classifier.transform.in_features == 32


def test_the_features_reach_the_prediction():
    torch.manual_seed(0)
    model = ChemtlForPropertyPrediction(hybrid_config()).eval()
    features = torch.zeros(3, 7)
    with torch.no_grad():
        out = model(**batch(), features=features, return_dict=True)
        pooled = model.chemtl(**batch()).pooler_output
        by_hand = model.classifier(torch.cat([pooled, features], dim=-1))
        assert out.logits.shape == (3, 1)
        assert torch.equal(out.logits, by_hand)
        features[1, 4] = 1.0
        moved = model(**batch(), features=features, return_dict=True).logits
    assert torch.equal(moved[[0, 2]], out.logits[[0, 2]]) and not torch.equal(moved[1], out.logits[1])


def test_a_batch_without_its_features_is_refused():
    model = ChemtlForPropertyPrediction(hybrid_config()).eval()
    with pytest.raises(
        ValueError, match=r"extra_features 'morgan' need the batch's features of shape \(3, 7\), got None"
    ):
        model(**batch())
    with pytest.raises(ValueError, match=r"got \(3, 5\)"):
        model(**batch(), features=torch.zeros(3, 5))
    plain = ChemtlForPropertyPrediction(ChemtlConfig.from_size("tiny", "smiles", 40, num_labels=1))
    with pytest.raises(ValueError, match="this model reads no extra features; the batch has some"):
        plain(**batch(), features=torch.zeros(3, 7))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"kind": "composition", "vocab_size": 123},
            "extra_features 'morgan' are molecule features: they need kind 'smiles' or 'selfies', got kind "
            "'composition'",
        ),
        ({"extra_features": "ecfp"}, "unknown extra_features 'ecfp'; choose one of morgan, rdkit"),
        ({"extra_features": None}, "extra_features_dim 7 needs extra_features (morgan or rdkit)"),
        (
            {"extra_feature_mean": [0.0] * 7},
            "extra_feature_mean and extra_feature_std go together: give both or neither",
        ),
        (
            {"extra_feature_mean": [0.0], "extra_feature_std": [1.0]},
            "extra_feature_mean must be a list of 7 values (extra_features_dim), got [0.0]",
        ),
    ],
)
def test_extra_feature_settings_are_validated(overrides, message):
    fields = {"extra_features": "morgan", "extra_features_dim": 7, "kind": "smiles", "vocab_size": 40}
    with pytest.raises(ChemtlError) as info:
        ChemtlConfig(**{**fields, **overrides})
    assert str(info.value) == message


def test_the_config_round_trips_its_scaling(tmp_path):
    config = hybrid_config(
        extra_features="rdkit",
        extra_feature_names=list("abcdefg"),
        extra_feature_mean=[0.1 * k for k in range(7)],
        extra_feature_std=[1.0 + k / 3 for k in range(7)],
    )
    config.save_pretrained(tmp_path)
    back = ChemtlConfig.from_pretrained(tmp_path)
    assert (back.extra_features, back.extra_features_dim, back.extra_feature_names) == (
        "rdkit",
        7,
        list("abcdefg"),
    )
    assert back.extra_feature_mean == config.extra_feature_mean
    assert back.extra_feature_std == config.extra_feature_std
