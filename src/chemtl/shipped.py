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


def shipped_models(model_type: str | None = None) -> list[str]:
    """Names of the pretrained models inside the package (each a directory with config.json);
    with ``model_type``, only those whose config.json says it (``chemtl``: the encoders, ``gpt2``:
    the generators, ``t5``: the describer). A small JSON read each: no torch, no weights."""
    import json

    root = resources.files("chemtl").joinpath("resources", "models")
    if not root.is_dir():
        return []
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("config.json").is_file())
    if model_type is None:
        return names
    out = []
    for name in names:
        try:
            config = json.loads(root.joinpath(name, "config.json").read_text())
        except ValueError:
            continue
        if config.get("model_type") == model_type:
            out.append(name)
    return out


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """The directory of a shipped model name; any other value is returned as a path (checked by
    whoever loads it, with an error naming it)."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if not path.exists() and text in shipped_models():
        return Path(str(resources.files("chemtl").joinpath("resources", "models", text)))
    return path


__all__ = ["MODELS_PACKAGE", "resolve_model_dir", "shipped_models"]
