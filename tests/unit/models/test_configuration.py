from __future__ import annotations

import pytest

from chemtl.errors import ChemtlError
from chemtl.models import SIZES, ChemtlConfig


def test_named_sizes():
    assert SIZES["base"] == dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072
    )
    small = ChemtlConfig.from_size("small", "composition")
    assert (small.hidden_size, small.num_hidden_layers, small.num_attention_heads) == (256, 4, 4)
    assert small.vocab_size == 123
    tiny = ChemtlConfig.from_size("tiny", "smiles", 200, pooling="mean")
    assert (tiny.hidden_size, tiny.vocab_size, tiny.pooling, tiny.kind) == (32, 200, "mean", "smiles")


def test_config_round_trips_as_json(tmp_path):
    config = ChemtlConfig.from_size("tiny", "composition", element_init="mat2vec", num_labels=3)
    config.save_pretrained(tmp_path)
    loaded = ChemtlConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.model_type == "chemtl" and loaded.num_labels == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(kind="protein"), "'protein'"),
        (dict(pooling="max"), "'max'"),
        (dict(fraction_encoding="rbf"), "'rbf'"),
        (dict(hidden_size=36, num_attention_heads=5), "not divisible by num_attention_heads 5"),
        (dict(hidden_size=34, num_attention_heads=2), "multiple of 4"),
        (dict(num_hidden_layers=0), "num_hidden_layers"),
        (dict(hidden_dropout_prob=1.5), "hidden_dropout_prob"),
        (dict(element_init="word2vec"), "'word2vec'"),
        (dict(kind="smiles", vocab_size=50, element_init="mat2vec"), "needs kind 'composition'"),
        (dict(vocab_size=100), "vocab_size 100"),
        (dict(problem_type="ranking"), "'ranking'"),
        (dict(mask_token_id=500), "mask_token_id"),
    ],
)
def test_config_validation_names_the_bad_value(kwargs, message):
    with pytest.raises(ChemtlError, match=message.replace("(", r"\(")):
        ChemtlConfig(**kwargs)


def test_from_size_errors():
    with pytest.raises(ChemtlError, match="unknown model size 'huge'"):
        ChemtlConfig.from_size("huge", "composition")
    with pytest.raises(ChemtlError, match="vocab_size is required"):
        ChemtlConfig.from_size("tiny", "smiles")
