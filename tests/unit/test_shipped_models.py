"""The pretrained models inside the package load offline by name."""

from __future__ import annotations

import json

import torch

import chemtl
from chemtl.shipped import resolve_model_dir, shipped_models


def test_composition_small_ships_with_a_card():
    assert "composition-small" in shipped_models()
    d = resolve_model_dir("composition-small")
    names = {p.name for p in d.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "loss_curve.png"} <= names
    assert not any(n.endswith((".bin", ".pt", ".ckpt", ".pkl")) for n in names)
    assert (d / "model.safetensors").stat().st_size < 25e6
    config = json.loads((d / "config.json").read_text())
    assert (config["kind"], config["hidden_size"], config["num_hidden_layers"]) == ("composition", 256, 4)


def test_load_by_name_and_embed():
    model = chemtl.load_model("composition-small")
    tok = chemtl.load_tokenizer("composition-small")
    batch = tok(["Fe2O3", "O3Fe2"], return_tensors="pt")
    with torch.no_grad():
        pooled = model(**batch).pooler_output
    assert pooled.shape == (2, 256)
    assert torch.allclose(pooled[0], pooled[1], atol=1e-5)  # element order does not matter


def test_earlier_import_paths_still_work(capsys):
    from chemtl import packaging, pretrained, shipped

    assert pretrained.resolve_model_dir is shipped.resolve_model_dir
    assert pretrained.shipped_models is shipped.shipped_models
    assert pretrained.package_model is packaging.package_model
    assert pretrained.SHIPPED_FILES is packaging.SHIPPED_FILES
    assert chemtl.shipped_models is shipped.shipped_models
    assert packaging.main([]) == 2
    assert capsys.readouterr().err == (
        "usage: python -m chemtl.packaging RUN_DIR OUT_DIR NAME COMMAND [NOTES.md]\n"
    )
