"""Loading pretrained models by name, offline: ``chemtl.load_model(NAME)``, ``chemtl.load_tokenizer``.

Name resolution lives in ``chemtl.shipped`` (``resolve_model_dir``, ``shipped_models``, re-exported
here); packaging a run as a shipped model (the model card writer) lives in ``chemtl.packaging``.
``chemtl.pretrained.package_model`` and ``python -m chemtl.pretrained ...`` still reach it.
"""

from __future__ import annotations

import os
from typing import Any

from chemtl.shipped import MODELS_PACKAGE, resolve_model_dir, shipped_models


def load_model(name_or_path: str | os.PathLike):
    """The encoder of a shipped or saved chemtl model (``ChemtlModel``, weights from safetensors);
    for a causal generator (``composition-gpt-small``, ...) its ``GPT2LMHeadModel``.

    Its tokenizer: ``chemtl.load_tokenizer(resolve_model_dir(name_or_path))``.
    """
    from chemtl.models import ChemtlModel
    from chemtl.pipelines.modeldir import is_causal_dir, load_model_dir, quiet_transformers

    if is_causal_dir(name_or_path):
        from transformers import GPT2LMHeadModel

        loaded = load_model_dir(resolve_model_dir(name_or_path), causal=True)
        quiet_transformers()
        return GPT2LMHeadModel.from_pretrained(loaded.path, use_safetensors=True).eval()

    loaded = load_model_dir(resolve_model_dir(name_or_path))  # refuses pickles, checks the tokenizer
    quiet_transformers()
    return ChemtlModel.from_pretrained(loaded.path).eval()


def load_tokenizer(name_or_path: str | os.PathLike):
    """The tokenizer of a shipped model name, or of any saved tokenizer/model directory."""
    from chemtl.tokenizers import load_tokenizer as load_saved

    return load_saved(resolve_model_dir(name_or_path))


_PACKAGING = ("SHIPPED_FILES", "package_model")


def __getattr__(name: str) -> Any:
    # The packaging names of earlier versions, loaded from chemtl.packaging only when asked for.
    if name in _PACKAGING:
        from chemtl import packaging

        return getattr(packaging, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODELS_PACKAGE", "load_model", "load_tokenizer", "resolve_model_dir", "shipped_models"]

if __name__ == "__main__":  # the former packaging command; the Makefile runs chemtl.packaging
    from chemtl.packaging import main

    raise SystemExit(main())
