"""``feature``: the pretrained encoder is a frozen feature extractor; only the head trains.

The frozen encoder also runs in eval mode while the head trains (``encoder_in_eval``; the trainer
keeps it there with ``chemtl.transfer.set_train_mode``), so its pooled features are deterministic:
``encode_features`` computes them once and the head can train on the cached (B, d) tensors with
``model.classifier(features)``, bit for bit what the full forward pass gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from chemtl.transfer.base import Strategy, find_encoder, set_requires_grad

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig

# Batch keys the encoder reads; labels and anything else stay out.
ENCODER_INPUTS = ("input_ids", "attention_mask", "fractions")


class FeatureStrategy(Strategy):
    name = "feature"
    encoder_in_eval = True

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        set_requires_grad(model, lambda part, layer: part == "head")
        find_encoder(model)[1].eval()
        return model


@torch.no_grad()
def encode_features(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The frozen encoder's pooled output for ``batch``: (B, d), the head's input.

    Runs the encoder in eval mode (no dropout) and restores its previous mode.
    """
    _, encoder = find_encoder(model)
    was_training = encoder.training
    encoder.eval()
    try:
        inputs = {k: v for k, v in batch.items() if k in ENCODER_INPUTS}
        return encoder(**inputs, return_dict=True).pooler_output  # (B, d)
    finally:
        encoder.train(was_training)
