"""``partial``: the embeddings and the bottom layers are frozen; the top ``trainable_layers``
encoder layers, the encoder's final LayerNorm (it sits above every layer) and the head train."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from chemtl.transfer.base import Strategy, num_encoder_layers, set_requires_grad
from chemtl.transfer.config import TrainableLayersError

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig


class PartialStrategy(Strategy):
    name = "partial"
    options = ("trainable_layers",)

    @classmethod
    def validate(cls, config: StrategyConfig) -> None:
        if config.trainable_layers is None:
            raise TrainableLayersError("strategy 'partial' needs trainable_layers (--trainable-layers K)")

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        n_layers = num_encoder_layers(model)
        k = config.trainable_layers
        if k > n_layers:
            raise TrainableLayersError(
                f"trainable_layers {k} is larger than the model's {n_layers} encoder layers (choose 1 to {n_layers})"
            )
        first = n_layers - k  # layers first .. n_layers - 1 train

        def trainable(part: str, layer: int | None) -> bool:
            if part == "layer":
                return layer >= first
            return part in ("encoder_top", "head")

        return set_requires_grad(model, trainable)
