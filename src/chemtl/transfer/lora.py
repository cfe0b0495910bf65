"""``lora``: low-rank adapters (Hu et al. 2021) on the frozen encoder, through the PEFT library.

``peft.get_peft_model`` with ``TaskType.SEQ_CLS`` wraps the model: LoRA's ``lora_A`` / ``lora_B``
sit beside the target linear layers of every encoder layer, and the head (``classifier``) trains
in full as PEFT's ``modules_to_save``. Everything else is frozen. The target layers are picked by
a regular expression anchored at ``chemtl.encoder.layers.<i>.``, so a head layer can never be
adapted by accident, and an unknown module name is an error instead of a silent no-op.

Saving merges the adapters into the base weights (``merge_and_unload`` on a copy, the training
model is untouched) and writes a plain ``ChemtlForPropertyPrediction`` directory: the fine-tuned
model loads with ``from_pretrained`` (or ``AutoModelForSequenceClassification``) and no PEFT, and
predicts what the adapted model predicts.

In a prompt bank (``chemtl.pipelines.bank``) a task keeps its head (``head.safetensors``) and its
unmerged adapter (``adapter/``); the adapters of several tasks are loaded side by side into one PEFT
model on the shared base weights and switched with ``set_adapter`` (unmerged, as in training: the
bank's numbers are the trained model's; a plain directory's merged weights agree to rounding).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from chemtl.transfer._peft import attach_bank_adapters, get_peft_model_quietly, save_bank_adapter
from chemtl.transfer.base import Strategy, find_encoder, save_head
from chemtl.transfer.config import TransferError

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig


class LoraStrategy(Strategy):
    name = "lora"
    options = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")
    bankable = True

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        from peft import LoraConfig, TaskType

        from chemtl.models import LORA_TARGET_MODULES

        targets = tuple(config.lora_target_modules or LORA_TARGET_MODULES)
        prefix, encoder = find_encoder(model)
        available = sorted(
            {
                name.rsplit(".", 1)[-1]
                for name, m in encoder.encoder.layers.named_modules()
                if isinstance(m, nn.Linear)
            }
        )
        unknown = [t for t in targets if t not in available]
        if unknown:
            raise TransferError(
                f"lora_target_modules {', '.join(map(repr, unknown))} not found in the encoder layers; "
                f"choose from {', '.join(available)}"
            )
        peft_config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=lora_target_regex(prefix, targets),
            bias="none",
        )
        return get_peft_model_quietly(model, peft_config)

    @classmethod
    def save(cls, model: nn.Module, out_dir: Path) -> None:
        merged = copy.deepcopy(model).merge_and_unload()  # a plain ChemtlForPropertyPrediction
        merged.save_pretrained(out_dir)

    @classmethod
    def save_adapter(cls, model: nn.Module, out_dir: Path) -> None:
        save_head(model, out_dir)
        save_bank_adapter(model, out_dir)

    @classmethod
    def attach(cls, base, tasks):
        return attach_bank_adapters(base, {name: path for name, (path, _) in tasks.items()})


def lora_target_regex(encoder_prefix: str, targets: tuple[str, ...]) -> str:
    """PEFT ``target_modules`` regex (full match) for ``targets`` inside the encoder's layers only."""
    names = "|".join(re.escape(t) for t in targets)
    return rf"{re.escape(encoder_prefix)}\.encoder\.layers\.\d+\.(.*\.)?({names})"
