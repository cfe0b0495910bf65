"""``scratch``: the same architecture, randomly initialised, every parameter trained.

The control for every transfer claim. It takes the *pretrained* model like every other strategy
and re-initialises all of its weights in place (encoder and head) with the model's own
``init_weights``, exactly as ``ChemtlForPropertyPrediction(config)`` initialises a new model
(including ``config.element_init`` when the architecture asks for element-table embeddings). So
scratch and the transfer strategies share one code path, one config and the same parameter
names, and differ only in the starting weights. ``element_init`` (a strategy option) sets the
model's ``element_init`` first, so a scratch run can start its element embeddings from mat2vec.

Transformers 5 marks loaded weights ``_is_hf_initialized`` and its init functions skip marked
tensors; the marks are removed first, otherwise ``init_weights`` would silently keep the
pretrained weights.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING

import torch
from torch import nn

from chemtl.transfer.base import Strategy, set_requires_grad
from chemtl.transfer.config import TransferError

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig

_HF_INIT_FLAG = "_is_hf_initialized"


class ScratchStrategy(Strategy):
    name = "scratch"
    options = ("init_seed", "element_init")

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        if config.element_init is not None:
            if model.config.kind != "composition":
                raise TransferError(
                    f"element_init {config.element_init!r} initialises element embeddings: it needs a "
                    f"composition model, got kind {model.config.kind!r}"
                )
            model.config.element_init = config.element_init  # saved with the model: how it began
        reinitialize(model, seed=config.init_seed)
        return set_requires_grad(model, lambda part, layer: True)


def reinitialize(model: ChemtlForPropertyPrediction, seed: int | None = None) -> None:
    """Re-draw every weight of ``model`` in place as a freshly built model would.

    ``seed``: draw from ``torch.manual_seed(seed)`` inside a forked RNG (the global RNG is left as
    it was); ``None`` draws from the global RNG.
    """
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if hasattr(tensor, _HF_INIT_FLAG):
            delattr(tensor, _HF_INIT_FLAG)
    for module in model.modules():
        if hasattr(module, _HF_INIT_FLAG):
            setattr(module, _HF_INIT_FLAG, False)
    rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
    with rng:
        if seed is not None:
            torch.manual_seed(seed)
        model.init_weights()
