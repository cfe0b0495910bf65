"""Objectives for ``TaskModule``: what loss a batch gives, and which parts of it to log.

``ModelLoss`` covers every chemtl model that computes its own loss from the batch, Hugging Face
style (``model(**batch).loss``): the property model (regression with NaN-masked multi-task targets,
classification), the masked-LM model (token + amount loss) and the pretraining model (masked loss
and/or NT-Xent). Objectives with their own maths (few-shot episodes, domain adaptation) are new
classes with the same two methods.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ModelLoss:
    """``loss = model(**batch).loss``; ``parts`` names output fields to log beside it."""

    def __init__(self, parts: tuple[str, ...] = ()) -> None:
        self.parts = parts

    def training_loss(
        self, model: nn.Module, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(**batch, return_dict=True)
        if out.loss is None:
            raise ValueError("the batch has no targets: the model returned no loss")
        parts = {
            name: getattr(out, name).detach() for name in self.parts if getattr(out, name, None) is not None
        }
        return out.loss, parts

    def validation_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(**batch, return_dict=True).loss
