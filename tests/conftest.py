"""Suite-wide settings."""

import os

import pytest

# Idle OpenMP threads sleep instead of spinning (see chemtl.cli.main): on a shared 2-core machine
# spinning threads make the training tests many times slower. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def tiny_smiles_model(tmp_path_factory):
    """A random-weight tiny SMILES encoder saved as a chemtl model directory."""
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path_factory.mktemp("tiny-smiles")
    tokenizer = get_tokenizer("smiles")
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "smiles", vocab_size=len(tokenizer)))
    save_model_dir(d, model.save_pretrained, tokenizer, make_meta(kind="smiles", task=None))
    return d
