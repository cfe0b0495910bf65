"""Loss functions as plain functions of tensors (no state), shared by the task models.

Each returns a scalar that stays connected to the graph even when nothing is selected (a batch
without masked tokens or without finite targets gives a zero loss, never NaN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FRACTION_FLOOR = 1e-6


def _zero(like: torch.Tensor) -> torch.Tensor:
    return like.sum() * 0.0


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent (SimCLR) loss between two views: row i of ``z1`` and row i of ``z2`` are a positive pair.

    Each of the 2N embeddings is classified against the other 2N - 1 by cosine similarity divided by
    ``temperature``; the target is its partner. Returns the mean over the 2N anchors.
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(
            f"nt_xent needs two (N, D) tensors of one shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=-1)  # (2N, D)
    sim = z @ z.T / temperature  # (2N, 2N)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # an anchor is not its own candidate
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # (2N,) partner index
    return F.cross_entropy(sim, targets)


def masked_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, T, V) logits against (B, T) labels; -100 labels are ignored."""
    if not (labels != -100).any():
        return _zero(logits)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def amount_loss(
    amount_logits: torch.Tensor, fraction_labels: torch.Tensor, selected: torch.Tensor, kind: str = "log_mse"
) -> torch.Tensor:
    """Error of predicted atomic fractions at the ``selected`` (B, T) positions.

    ``amount_logits`` (B, T) are read as ``sigmoid(logit)`` = predicted fraction, so predictions stay in
    (0, 1). ``"log_mse"``: squared error of natural-log fractions (a 10x error on a 0.001 dopant counts
    as much as on a major element); ``"mse"``: squared error of the fractions.
    """
    if not selected.any():
        return _zero(amount_logits)
    logits = amount_logits[selected]  # (M,)
    target = fraction_labels[selected].to(logits.dtype)  # (M,)
    if kind == "log_mse":
        target = torch.log(target.clamp_min(FRACTION_FLOOR))
        return F.mse_loss(F.logsigmoid(logits), target)
    if kind == "mse":
        return F.mse_loss(torch.sigmoid(logits), target)
    raise ValueError(f"unknown amount loss {kind!r}")


SQRT2 = 2.0**0.5


def robust_l1(pred: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CrabNet's robust L1: ``mean(sqrt(2) |target - pred| exp(-log_std) + log_std)``.

    The negative log-likelihood of a Laplace distribution of standard deviation ``exp(log_std)``
    (up to a constant): rows the model is unsure of cost less per unit of error but pay
    ``log_std``, so ``exp(log_std)`` learns to be each row's expected error scale.
    """
    return (SQRT2 * (target - pred).abs() * torch.exp(-log_std) + log_std).mean()


def property_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    problem_type: str,
    regression_loss: str = "mse",
    log_std: torch.Tensor | None = None,
) -> torch.Tensor:
    """Loss of (B, L) ``logits`` against ``labels`` for a Hugging Face ``problem_type``.

    - ``"regression"``: labels (B,) or (B, L) float; NaN targets are skipped, so several sparsely
      labelled properties train together (multi-task); ``regression_loss`` over the finite
      entries: ``"mse"``, ``"l1"`` or ``"robust-l1"`` (needs ``log_std``, (B, L)).
    - ``"single_label_classification"``: labels (B,) class ids, -100 ignored; cross-entropy.
    - ``"multi_label_classification"``: labels (B, L) in {0, 1}, NaN skipped; binary cross-entropy.
    """
    if problem_type == "single_label_classification":
        labels = labels.reshape(-1).long()
        if not (labels != -100).any():
            return _zero(logits)
        return F.cross_entropy(logits, labels, ignore_index=-100)
    labels = labels.to(logits.dtype).reshape(logits.shape)  # (B, L)
    finite = torch.isfinite(labels)
    if not finite.any():
        return _zero(logits)
    if problem_type == "regression":
        if regression_loss == "mse":
            return F.mse_loss(logits[finite], labels[finite])
        if regression_loss == "l1":
            return F.l1_loss(logits[finite], labels[finite])
        if regression_loss == "robust-l1":
            if log_std is None:
                raise ValueError("regression_loss 'robust-l1' needs the predicted log_std")
            return robust_l1(logits[finite], log_std.reshape(logits.shape)[finite], labels[finite])
        raise ValueError(f"unknown regression_loss {regression_loss!r}")
    if problem_type == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits[finite], labels[finite])
    raise ValueError(f"unknown problem_type {problem_type!r}")
