"""Optimiser parameter groups: layer-wise learning-rate decay, a head learning rate, and no weight
decay where it does harm.

Learning rates, for an encoder of L layers (layer 0 at the bottom):

    head (everything outside the encoder: classifier, prompts, prefixes)   head_lr (default lr)
    encoder_top (the final LayerNorm, above every layer)                    lr
    layer i (including LoRA adapters inside it)                            lr * lr_decay ** (L - 1 - i)
    embeddings (tokens, positions, fraction encoding)                       lr * lr_decay ** L

Prompts and prefixes count as head: they are new, randomly initialised task parameters, like the
head, and want its (larger) learning rate.

Weight decay is off for biases, normalisation weights, and embedding tables (token / element /
position embeddings, prompt and prefix tables). Embeddings are excluded because with AdamW's
decoupled decay the rows of elements or tokens absent from a small fine-tuning set would shrink
towards zero every step, with no gradient to hold them, erasing what pretraining learnt about them.

Groups are named ``<part>`` or ``<part>.no_decay`` (``embeddings``, ``layer.0`` ...,
``encoder_top``, ``head``), bottom to top, decayed before not decayed, empty groups left out. Each
carries ``name``, ``lr``, ``weight_decay``, ``params`` and ``param_names`` (torch optimisers keep
both keys); only parameters with ``requires_grad`` are included.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from chemtl.transfer.base import find_encoder, parameter_part
from chemtl.transfer.config import TransferError


def _check_positive(name: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise TransferError(f"{name} must be a finite number > 0, got {value!r}")


def is_no_decay_module(module: nn.Module) -> bool:
    """Modules whose parameters never take weight decay: normalisation layers and embedding tables."""
    norms = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.modules.batchnorm._BatchNorm)
    return isinstance(module, norms + (nn.Embedding,)) or "Norm" in type(module).__name__


def no_decay_parameter_names(model: nn.Module) -> set[str]:
    """Names of the parameters of ``model`` that take no weight decay (biases, norms, embeddings)."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            if param_name.endswith("bias") or is_no_decay_module(module):
                names.add(f"{module_name}.{param_name}" if module_name else param_name)
    return names


def parameter_groups(
    model: nn.Module,
    lr: float,
    head_lr: float | None = None,
    lr_decay: float = 1.0,
    weight_decay: float = 0.01,
) -> list[dict[str, Any]]:
    """Torch optimiser parameter groups for the trainable parameters of ``model`` (see module doc)."""
    _check_positive("lr", lr)
    if head_lr is not None:
        _check_positive("head_lr", head_lr)
    _check_positive("lr_decay", lr_decay)
    if lr_decay > 1:
        raise TransferError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float) or not weight_decay >= 0:
        raise TransferError(f"weight_decay must be a number >= 0, got {weight_decay!r}")

    prefix, encoder = find_encoder(model)
    n_layers = len(encoder.encoder.layers)
    no_decay = no_decay_parameter_names(model)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part, layer = parameter_part(name, prefix)
        if part == "embeddings":
            rank, tag, group_lr = 0, "embeddings", lr * lr_decay**n_layers
        elif part == "layer":
            rank, tag, group_lr = 1 + layer, f"layer.{layer}", lr * lr_decay ** (n_layers - 1 - layer)
        elif part == "encoder_top":
            rank, tag, group_lr = n_layers + 1, "encoder_top", lr
        else:
            rank, tag, group_lr = n_layers + 2, "head", lr if head_lr is None else head_lr
        decays = name not in no_decay
        group = groups.setdefault(
            (rank, not decays),
            {
                "name": tag if decays else f"{tag}.no_decay",
                "lr": group_lr,
                "weight_decay": weight_decay if decays else 0.0,
                "params": [],
                "param_names": [],
            },
        )
        group["params"].append(param)
        group["param_names"].append(name)
    return [groups[key] for key in sorted(groups)]
