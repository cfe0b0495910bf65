"""Pretrained models shipped inside the package, loadable by name offline.

``resolve_model_dir("composition-small")`` finds ``chemtl/resources/models/composition-small``
(read with importlib.resources); any other value is taken as a directory path. Every verb's
``--model NAME|DIR`` goes through it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from chemtl.errors import ChemtlError

MODELS_PACKAGE = "chemtl.resources.models"


def shipped_models() -> list[str]:
    """Names of the pretrained models inside the package (each a directory with config.json)."""
    root = resources.files("chemtl").joinpath("resources", "models")
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("config.json").is_file())


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """The directory of a shipped model name, or ``name_or_path`` itself when it is a directory."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.is_dir():
        return path
    if text in shipped_models():
        return Path(str(resources.files("chemtl").joinpath("resources", "models", text)))
    shipped = ", ".join(shipped_models()) or "none installed"
    raise ChemtlError(f"model {text!r} is neither a directory nor a shipped model (shipped: {shipped})")


def load_model(name_or_path: str | os.PathLike):
    """The encoder of a shipped or saved chemtl model (``ChemtlModel``, weights from safetensors).

    Its tokenizer: ``chemtl.load_tokenizer(resolve_model_dir(name_or_path))``.
    """
    from chemtl.models import ChemtlModel
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers

    loaded = load_model_dir(resolve_model_dir(name_or_path))  # refuses pickles, checks the tokenizer
    quiet_transformers()
    return ChemtlModel.from_pretrained(loaded.path).eval()
