"""chemtl models: the encoder, its pretraining models and the property-prediction model.

Public API::

    ChemtlConfig, SIZES, ChemtlConfig.from_size(size, kind, vocab_size=None, **overrides)
    ChemtlModel                      # bare encoder (AutoModel)
    ChemtlForMaskedLM                # masked tokens + amounts (AutoModelForMaskedLM)
    ChemtlForPretraining             # masked loss and/or NT-Xent (AutoModelForPreTraining)
    ChemtlForPropertyPrediction      # regression / classification (AutoModelForSequenceClassification)
    register_auto_classes()          # make the Auto classes know model_type "chemtl"
    nt_xent(z1, z2, temperature)
    LORA_TARGET_MODULES, LORA_ALL_LINEAR_MODULES

Names load on first use (PEP 562), so ``chemtl.models.element_tables`` (numpy only) and the
constants here do not import torch or transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chemtl.models.configuration import SIZES, ChemtlConfig
    from chemtl.models.encoder import ChemtlModel, ChemtlPreTrainedModel
    from chemtl.models.losses import nt_xent
    from chemtl.models.prediction import ChemtlForPropertyPrediction, ChemtlForSequenceClassification
    from chemtl.models.pretraining import ChemtlForMaskedLM, ChemtlForPretraining

# Module names for PEFT's LoRA ``target_modules`` (matched as name suffixes; only encoder layers have
# them). The default follows the LoRA paper and PEFT's BERT default: the query and value projections.
LORA_TARGET_MODULES: tuple[str, ...] = ("query", "value")
# Every linear layer of every transformer block (attention projections and the feed-forward pair).
LORA_ALL_LINEAR_MODULES: tuple[str, ...] = ("query", "key", "value", "dense", "fc_in", "fc_out")

_LAZY = {
    "SIZES": "chemtl.models.configuration",
    "ChemtlConfig": "chemtl.models.configuration",
    "ChemtlModel": "chemtl.models.encoder",
    "ChemtlPreTrainedModel": "chemtl.models.encoder",
    "nt_xent": "chemtl.models.losses",
    "ChemtlForPropertyPrediction": "chemtl.models.prediction",
    "ChemtlForSequenceClassification": "chemtl.models.prediction",
    "ChemtlForMaskedLM": "chemtl.models.pretraining",
    "ChemtlForPretraining": "chemtl.models.pretraining",
}

__all__ = [
    "LORA_ALL_LINEAR_MODULES",
    "LORA_TARGET_MODULES",
    "SIZES",
    "ChemtlConfig",
    "ChemtlForMaskedLM",
    "ChemtlForPretraining",
    "ChemtlForPropertyPrediction",
    "ChemtlForSequenceClassification",
    "ChemtlModel",
    "ChemtlPreTrainedModel",
    "nt_xent",
    "register_auto_classes",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def register_auto_classes() -> None:
    """Register chemtl with AutoConfig and the Auto model classes (idempotent).

    After this, ``AutoModel.from_pretrained(dir)`` (and the masked-LM, pretraining and
    sequence-classification Auto classes) load chemtl checkpoints without ``trust_remote_code``.
    """
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
    )

    from chemtl.models.configuration import ChemtlConfig
    from chemtl.models.encoder import ChemtlModel
    from chemtl.models.prediction import ChemtlForPropertyPrediction
    from chemtl.models.pretraining import ChemtlForMaskedLM, ChemtlForPretraining

    AutoConfig.register(ChemtlConfig.model_type, ChemtlConfig, exist_ok=True)
    AutoModel.register(ChemtlConfig, ChemtlModel, exist_ok=True)
    AutoModelForMaskedLM.register(ChemtlConfig, ChemtlForMaskedLM, exist_ok=True)
    AutoModelForPreTraining.register(ChemtlConfig, ChemtlForPretraining, exist_ok=True)
    AutoModelForSequenceClassification.register(ChemtlConfig, ChemtlForPropertyPrediction, exist_ok=True)
