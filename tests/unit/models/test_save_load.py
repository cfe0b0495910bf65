from __future__ import annotations

import torch
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification

from chemtl.models import (
    ChemtlConfig,
    ChemtlForMaskedLM,
    ChemtlForPropertyPrediction,
    ChemtlModel,
    register_auto_classes,
)


def _files(path):
    return sorted(p.name for p in path.iterdir())


def test_save_pretrained_writes_safetensors_and_round_trips(tmp_path, composition_batch):
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition", element_init="mat2vec")).eval()
    with torch.no_grad():  # as if trained: loading must keep these rows, not re-read mat2vec
        model.chemtl.embeddings.word_embeddings.weight[5:10] += 1.0
    model.save_pretrained(tmp_path)
    assert _files(tmp_path) == ["config.json", "model.safetensors"]
    loaded = ChemtlForMaskedLM.from_pretrained(tmp_path).eval()
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    with torch.no_grad():
        torch.testing.assert_close(model(**composition_batch).logits, loaded(**composition_batch).logits)


def test_auto_classes_load_chemtl_without_remote_code(tmp_path, smiles_batch):
    register_auto_classes()
    register_auto_classes()  # idempotent
    torch.manual_seed(0)
    mlm = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "smiles", 40)).eval()
    mlm.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), ChemtlConfig)
    assert type(AutoModelForMaskedLM.from_pretrained(tmp_path)) is ChemtlForMaskedLM
    encoder = AutoModel.from_pretrained(tmp_path).eval()
    assert type(encoder) is ChemtlModel
    with torch.no_grad():
        torch.testing.assert_close(
            encoder(**smiles_batch).last_hidden_state, mlm.chemtl(**smiles_batch).last_hidden_state
        )
    classifier = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    assert type(classifier) is ChemtlForPropertyPrediction
    assert torch.equal(
        classifier.chemtl.encoder.layers[1].attention.value.weight,
        mlm.chemtl.encoder.layers[1].attention.value.weight,
    )
    assert classifier.classifier.out.weight.shape == (2, 32)
