"""Library entry points behind the verbs: ``pretrain``, ``finetune``, ``predict``, ``embed``.

Each takes typed configs (``chemtl.training.config``) and built objects, never an argparse
Namespace, and returns a result object; the CLI modules only turn flags into configs.
Submodules load on first use so ``import chemtl.pipelines`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "pretrain": "chemtl.pipelines.pretrain",
    "PretrainResult": "chemtl.pipelines.pretrain",
    "supervised_pretrain": "chemtl.pipelines.pretrain",
    "finetune": "chemtl.pipelines.finetune",
    "FinetuneResult": "chemtl.pipelines.finetune",
    "adapt": "chemtl.pipelines.adapt",
    "AdaptResult": "chemtl.pipelines.adapt",
    "predict": "chemtl.pipelines.predict",
    "embed": "chemtl.pipelines.predict",
    "plot_embedding": "chemtl.pipelines.predict",
    "run_chain": "chemtl.pipelines.chain",
    "load_chain_config": "chemtl.pipelines.chain_config",
    "load_model_dir": "chemtl.pipelines.modeldir",
    "LoadedModel": "chemtl.pipelines.modeldir",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
