"""Heads that sit on the encoder's hidden states: one small MLP module, configured per task.

Their layers are named ``transform`` and ``out`` (never ``query``/``key``/``value``/``dense``/
``fc_in``/``fc_out``), so LoRA aimed at the encoder by module name leaves them alone; the property
head is attached as ``classifier``, the name PEFT keeps trainable for sequence classification.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ChemtlHead(nn.Module):
    """dropout -> Linear ``transform`` -> GELU -> [LayerNorm] -> dropout -> Linear ``out``.

    Maps (..., in_dim) to (..., out_dim); used per token (masked-token logits, amounts) and per
    item (projection for contrastive learning, property prediction).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        out_dim: int,
        dropout: float = 0.0,
        layer_norm_eps: float | None = None,
    ) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.transform = nn.Linear(in_dim, hidden_dim)
        self.layer_norm = nn.LayerNorm(hidden_dim, eps=layer_norm_eps) if layer_norm_eps is not None else None
        self.out = nn.Linear(hidden_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.transform(self.dropout(x)))  # (..., hidden_dim)
        if self.layer_norm is not None:
            h = self.layer_norm(h)
        return self.out(self.dropout(h))  # (..., out_dim)


class ResidualHead(nn.Module):
    """CrabNet's residual network, per token: dropout, then for each width w of ``hidden_dims``
    ``x <- LeakyReLU(Linear(x)) + shortcut(x)`` (the shortcut a bias-free Linear where the width
    changes, else the identity), then a Linear ``out``. Maps (..., in_dim) to (..., out_dim)."""

    def __init__(self, in_dim: int, hidden_dims: tuple[int, ...], out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        widths = [in_dim, *hidden_dims]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.shortcuts = nn.ModuleList(
            nn.Identity() if a == b else nn.Linear(a, b, bias=False)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.out = nn.Linear(widths[-1], out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x)
        for layer, shortcut in zip(self.layers, self.shortcuts, strict=True):
            x = F.leaky_relu(layer(x)) + shortcut(x)  # (..., w)
        return self.out(x)  # (..., out_dim)
