from __future__ import annotations

import pytest
import torch

from chemtl.errors import ChemtlError
from chemtl.models import ChemtlConfig, ChemtlModel
from chemtl.models.encoder import fraction_features


def _model(kind="composition", **overrides) -> ChemtlModel:
    torch.manual_seed(0)
    vocab = None if kind == "composition" else 40
    return ChemtlModel(ChemtlConfig.from_size("tiny", kind, vocab, **overrides)).eval()


def _permute_elements(batch, generator):
    """Shuffle each row's element tokens (and their fractions), keeping [CLS] first and [SEP]/pad."""
    ids, fr = batch["input_ids"].clone(), batch["fractions"].clone()
    for i in range(ids.shape[0]):
        n = int((ids[i] >= 5).sum())
        perm = torch.randperm(n, generator=generator) + 1
        while n > 1 and torch.equal(perm, torch.arange(1, n + 1)):
            perm = torch.randperm(n, generator=generator) + 1
        ids[i, 1 : n + 1] = ids[i, perm]
        fr[i, 1 : n + 1] = fr[i, perm]
    return {**batch, "input_ids": ids, "fractions": fr}


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("fraction_encoding", ["sinusoidal", "learned"])
def test_composition_pooled_embedding_is_permutation_invariant(composition_batch, pooling, fraction_encoding):
    model = _model(pooling=pooling, fraction_encoding=fraction_encoding)
    permuted = _permute_elements(composition_batch, torch.Generator().manual_seed(0))
    assert not torch.equal(permuted["input_ids"], composition_batch["input_ids"])
    with torch.no_grad():
        a = model(**composition_batch).pooler_output
        b = model(**permuted).pooler_output
    assert a.shape == (4, 32)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_smiles_encoder_sees_order(smiles_batch):
    model = _model("smiles", pooling="mean")
    reordered = smiles_batch["input_ids"].clone()
    reordered[:, 1:-1] = reordered[:, 1:-1].flip(1)
    with torch.no_grad():
        a = model(**smiles_batch).pooler_output
        b = model(input_ids=reordered, attention_mask=smiles_batch["attention_mask"]).pooler_output
    assert (a - b).abs().max() > 1e-3


def test_padding_does_not_change_outputs(composition_batch):
    model = _model(pooling="mean")
    padded = {k: torch.nn.functional.pad(v, (0, 5)) for k, v in composition_batch.items()}
    with torch.no_grad():
        a = model(**composition_batch)
        b = model(**padded)
    torch.testing.assert_close(a.pooler_output, b.pooler_output, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.last_hidden_state, b.last_hidden_state[:, :8], atol=1e-5, rtol=0)


def test_amounts_matter(composition_batch):
    model = _model()
    other = {**composition_batch, "fractions": composition_batch["fractions"].clone()}
    other["fractions"][0, 1:3] = torch.tensor([0.6, 0.4])  # Fe3O2 instead of Fe2O3
    with torch.no_grad():
        a = model(**composition_batch).pooler_output
        b = model(**other).pooler_output
    assert (a[0] - b[0]).abs().max() > 1e-3
    torch.testing.assert_close(a[1:], b[1:])


def test_outputs_and_layer_structure(composition_batch):
    model = _model()
    out = model(**composition_batch, output_hidden_states=True)
    assert out.last_hidden_state.shape == (4, 8, 32)
    assert len(out.hidden_states) == 3  # embeddings + 2 layers
    assert len(model.encoder.layers) == 2
    assert model.get_input_embeddings() is model.embeddings.word_embeddings
    names = {n for n, _ in model.named_modules()}
    for leaf in ("query", "key", "value", "dense"):
        assert f"encoder.layers.0.attention.{leaf}" in names
    assert {"encoder.layers.1.ffn.fc_in", "encoder.layers.1.ffn.fc_out"} <= names
    assert model(**composition_batch, return_dict=False)[0].shape == (4, 8, 32)


def test_inputs_embeds_equal_input_ids(composition_batch, smiles_batch):
    for model, batch in ((_model(), composition_batch), (_model("smiles"), smiles_batch)):
        embeds = model.embeddings.word_embeddings(batch["input_ids"])
        rest = {k: v for k, v in batch.items() if k != "input_ids"}
        with torch.no_grad():
            a = model(**batch).last_hidden_state
            b = model(inputs_embeds=embeds, **rest).last_hidden_state
        torch.testing.assert_close(a, b)


def test_prepended_virtual_tokens_take_no_amount(composition_batch):
    model = _model(pooling="mean")
    embeds = model.embeddings.word_embeddings(composition_batch["input_ids"])  # (4, 8, 32)
    virtual = torch.randn(4, 3, 32)
    mask = torch.cat([torch.ones(4, 3, dtype=torch.long), composition_batch["attention_mask"]], dim=1)
    with torch.no_grad():
        out = model(
            inputs_embeds=torch.cat([virtual, embeds], 1),
            attention_mask=mask,
            fractions=composition_batch["fractions"],
        )
    assert out.last_hidden_state.shape == (4, 11, 32)


def test_prefix_key_values(composition_batch):
    model = _model()
    H, hd = 2, 16
    zeros = [(torch.zeros(4, H, 2, hd), torch.zeros(4, H, 2, hd)) for _ in range(2)]
    random = [(torch.randn(4, H, 2, hd), torch.randn(4, H, 2, hd)) for _ in range(2)]
    with torch.no_grad():
        plain = model(**composition_batch).pooler_output
        with_random = model(**composition_batch, prefix_key_values=random).pooler_output
        with_zeros = model(**composition_batch, prefix_key_values=zeros).pooler_output
    assert (plain - with_random).abs().max() > 1e-4
    assert (plain - with_zeros).abs().max() > 1e-6  # zero keys still take attention weight
    with pytest.raises(ValueError, match="expected"):
        model(**composition_batch, prefix_key_values=[(torch.zeros(4, H, 2, 8), torch.zeros(4, H, 2, 8))] * 2)
    with pytest.raises(ValueError, match="2 layers"):
        model(**composition_batch, prefix_key_values=random[:1])


def test_input_errors(composition_batch):
    model = _model()
    with pytest.raises(ValueError, match="fractions"):
        model(input_ids=composition_batch["input_ids"])
    with pytest.raises(ValueError, match="exactly one"):
        model()
    smiles = _model("smiles", max_position_embeddings=8)
    with pytest.raises(ChemtlError, match="longer than max_position_embeddings 8"):
        smiles(input_ids=torch.full((1, 9), 7))


def test_fraction_features_are_unit_norm_and_resolve_dopants():
    f = torch.tensor([[1e-4, 2e-4, 0.5, 0.5001]])
    x = fraction_features(f, 32)
    assert x.shape == (1, 4, 32)
    torch.testing.assert_close(x.norm(dim=-1), torch.ones(1, 4))
    # the log channel separates 1e-4 from 2e-4 far more than the linear one
    lin, log = slice(0, 16), slice(16, 32)
    assert (x[0, 0, log] - x[0, 1, log]).norm() > 5 * (x[0, 0, lin] - x[0, 1, lin]).norm()
