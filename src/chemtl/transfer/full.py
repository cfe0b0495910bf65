"""``full``: every parameter of the pretrained encoder and of the head trains."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from chemtl.transfer.base import Strategy, set_requires_grad

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig


class FullStrategy(Strategy):
    name = "full"

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        return set_requires_grad(model, lambda part, layer: True)
