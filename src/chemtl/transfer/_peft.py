"""Small glue for the PEFT library: quiet wrapping and unwrapping of ``modules_to_save``.

PEFT's ``TaskType.SEQ_CLS`` keeps the property head (``classifier``) trainable by wrapping it in a
``ModulesToSaveWrapper`` (a frozen ``original_module`` and a trained copy); ``unwrap_modules_to_save``
puts the trained copy back in its place so the model is a plain ``ChemtlForPropertyPrediction``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from torch import nn


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """Hide PEFT's FutureWarning about transformers' renamed ``is_gradient_checkpointing`` (a
    PEFT 0.21 / transformers 5 mismatch, harmless here); other warnings still show."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def get_peft_model_quietly(model: nn.Module, peft_config: Any) -> nn.Module:
    from peft import get_peft_model

    with quiet_peft():
        return get_peft_model(model, peft_config)


def unwrap_modules_to_save(model: nn.Module) -> nn.Module:
    """Replace every ``ModulesToSaveWrapper`` inside ``model`` by its active trained copy (in place)."""
    from peft.utils import ModulesToSaveWrapper

    wrapped = [name for name, module in model.named_modules() if isinstance(module, ModulesToSaveWrapper)]
    for name in wrapped:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        wrapper = getattr(parent, child)
        setattr(parent, child, wrapper.modules_to_save[wrapper.active_adapter])
    return model
