"""Gradient reversal (Ganin & Lempitsky 2015) and its schedule.

``GradientReversal`` is an autograd function: the forward pass is the identity, the backward pass
multiplies the incoming gradient by ``-lambda``. Put between the encoder's pooled embedding and a
domain classifier, the classifier learns to tell the domains apart while the encoder, receiving
the reversed gradient, learns features that the classifier cannot tell apart.

``ganin_lambda(p)`` is the schedule of the paper (section 5.2.2): ``2 / (1 + exp(-10 p)) - 1`` for
training progress ``p`` in [0, 1], rising from 0 (no adversarial signal while the classifier is
still random) towards 1; ``max_weight`` scales it.
"""

from __future__ import annotations

import math

import torch


class GradientReversal(torch.autograd.Function):
    """``GradientReversal.apply(x, lambda_)``: x forward, ``-lambda_ * grad`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.neg() * ctx.lambda_, None


def grad_reverse(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    return GradientReversal.apply(x, lambda_)


def ganin_lambda(p: float, max_weight: float = 1.0) -> float:
    """``max_weight * (2 / (1 + exp(-10 p)) - 1)``, ``p`` clipped to [0, 1]."""
    p = min(max(float(p), 0.0), 1.0)
    return max_weight * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
