"""Small glue for the PEFT library: quiet wrapping and unwrapping of ``modules_to_save``.

PEFT's ``TaskType.SEQ_CLS`` keeps the property head (``classifier``) trainable by wrapping it in a
``ModulesToSaveWrapper`` (a frozen ``original_module`` and a trained copy); ``unwrap_modules_to_save``
puts the trained copy back in its place so the model is a plain ``ChemtlForPropertyPrediction``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from torch import nn

# A bank task's PEFT adapter (prompt or lora): ``adapter_config.json`` + ``adapter_model.safetensors``.
BANK_ADAPTER_DIR = "adapter"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


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


def save_bank_adapter(model: nn.Module, out_dir: Path) -> None:
    """Write the PEFT adapter of ``model`` (trained with ``TaskType.SEQ_CLS``) for a prompt bank,
    into ``out_dir/adapter``: the adapter's own weights only (the head is saved apart, as
    ``head.safetensors``), under a ``FEATURE_EXTRACTION`` config without ``modules_to_save``, so
    that adapters of tasks with different heads load side by side into one ``PeftModel``.

    PEFT's feature-extraction forward is its sequence-classification forward without the labels
    (the same virtual tokens prepended, the same mask), so the pooled output is the same numbers."""
    import copy

    from peft import TaskType, get_peft_model_state_dict
    from safetensors.torch import save_file

    config = copy.deepcopy(model.peft_config[model.active_adapter])
    skip = set(config.modules_to_save or ())
    config.task_type = TaskType.FEATURE_EXTRACTION
    config.modules_to_save = None
    state = {
        k: v.detach().contiguous()
        for k, v in get_peft_model_state_dict(model).items()
        if not skip.intersection(k.split("."))
    }
    adapter_dir = Path(out_dir) / BANK_ADAPTER_DIR
    config.save_pretrained(adapter_dir)
    save_file(state, str(adapter_dir / ADAPTER_WEIGHTS), metadata={"format": "pt"})


def attach_bank_adapters(base: nn.Module, tasks: dict[str, Path]):
    """One ``PeftModel`` on ``base`` holding every task's bank adapter (PEFT multi-adapter: the
    adapters are loaded side by side under the task names; ``set_adapter`` switches between them,
    the base weights are one copy). Returns ``chemtl.transfer.base.TaskAdapters``."""
    from peft import PeftModel

    from chemtl.transfer.base import TaskAdapters

    names = list(tasks)
    with quiet_peft():
        model = PeftModel.from_pretrained(
            base, str(tasks[names[0]] / BANK_ADAPTER_DIR), adapter_name=names[0]
        )
        for name in names[1:]:
            model.load_adapter(str(tasks[name] / BANK_ADAPTER_DIR), adapter_name=name)
    model.eval()

    def select(name: str) -> nn.Module:
        model.set_adapter(name)
        return model

    return TaskAdapters(select, names)
