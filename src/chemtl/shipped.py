"""Names of the pretrained models shipped inside the package, resolved to their directories.

``resolve_model_dir("composition-small")`` finds ``chemtl/resources/models/composition-small``
(read with importlib.resources); any other value is taken as a directory path. Every verb's
``--model NAME|DIR`` goes through it. This module sits low in the stack (it imports nothing of
chemtl): the model-directory reader (``chemtl.pipelines.modeldir``), the loading API
(``chemtl.pretrained``) and the packaging of new shipped models (``chemtl.packaging``) all use it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

MODELS_PACKAGE = "chemtl.resources.models"


def shipped_models() -> list[str]:
    """Names of the pretrained models inside the package (each a directory with config.json)."""
    root = resources.files("chemtl").joinpath("resources", "models")
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("config.json").is_file())


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """The directory of a shipped model name; any other value is returned as a path (checked by
    whoever loads it, with an error naming it)."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if not path.exists() and text in shipped_models():
        return Path(str(resources.files("chemtl").joinpath("resources", "models", text)))
    return path


__all__ = ["MODELS_PACKAGE", "resolve_model_dir", "shipped_models"]
