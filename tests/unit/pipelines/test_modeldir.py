"""Model directories (``chemtl.pipelines.modeldir``): written whole, with the usual permissions."""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file

from chemtl.pipelines.modeldir import make_meta, save_model_dir
from chemtl.tokenizers import get_tokenizer


def test_saved_files_get_the_umask_permissions_not_safetensors_0600(tmp_path):
    def weights(d):
        save_file({"w": torch.zeros(2)}, str(d / "model.safetensors"))  # safetensors writes it 0600

    old = os.umask(0o022)
    try:
        out = save_model_dir(
            tmp_path / "m", weights, get_tokenizer("smiles"), make_meta(kind="smiles", task=None)
        )
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes["model.safetensors"] == 0o644 and modes["chemtl.json"] == 0o644
    assert set(modes.values()) == {0o644}
    assert not [p for p in out.iterdir() if p.name.startswith(".save-")]
