"""The domain-adversarial objective (DANN, Ganin et al. 2016) for ``TaskModule``.

A training batch is ``{"source": labelled batch, "target": unlabelled batch}`` (the engine's two
streams). The loss is the model's own task loss on the source batch plus the binary
cross-entropy of a ``DomainClassifier`` on the pooled embeddings of both batches (source 0,
target 1). With ``method="dann"`` the embeddings reach the classifier through gradient reversal
with ``lambda = ganin_lambda(p, domain_weight)`` at training progress ``p`` (given by the engine
through ``set_progress``): the classifier learns to separate the domains, the encoder to make
them inseparable. With ``method="source-only"`` (the control) the classifier sees detached
embeddings: it still learns (its density ratios serve DEV model selection), but nothing of the
domain loss reaches the encoder, which trains on the task loss alone.

The objective is an ``nn.Module`` owning the classifier, so ``TaskModule`` optimises it and the
training checkpoint holds it (``objective.classifier.*``). Validation is the source task loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from chemtl.transfer.adapt.grl import ganin_lambda, grad_reverse

SOURCE, TARGET = "source", "target"


class DomainClassifier(nn.Module):
    """Linear -> ReLU -> Linear -> ReLU -> Linear: a pooled embedding (B, d) -> logit (B,)
    that the row comes from the target domain."""

    def __init__(self, hidden_size: int, width: int | None = None) -> None:
        super().__init__()
        width = width or hidden_size
        self.net = nn.Sequential(
            nn.Linear(hidden_size, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "labels"}


class DomainAdversarial(nn.Module):
    """The DANN (or source-only control) objective; see the module docstring."""

    def __init__(
        self,
        hidden_size: int,
        method: str = "dann",
        domain_weight: float = 1.0,
        width: int | None = None,
    ) -> None:
        super().__init__()
        if method not in ("dann", "source-only"):
            raise ValueError(f"unknown method {method!r}")
        self.method = method
        self.domain_weight = float(domain_weight)
        self.classifier = DomainClassifier(hidden_size, width)
        self.lambda_ = 0.0

    def set_progress(self, p: float) -> None:
        self.lambda_ = ganin_lambda(p, self.domain_weight)

    def training_loss(
        self, model: nn.Module, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        source, target = batch[SOURCE], batch[TARGET]
        out = model(**source, return_dict=True)
        if out.loss is None:
            raise ValueError("the source batch has no targets: the model returned no loss")
        target_out = model(**model_inputs(target), return_dict=True)
        features = torch.cat([out.pooler_output, target_out.pooler_output])
        if self.method == "dann":
            features = grad_reverse(features, self.lambda_)
        else:
            features = features.detach()
        logits = self.classifier(features)
        n_source = out.pooler_output.shape[0]
        domain = torch.cat([logits.new_zeros(n_source), logits.new_ones(logits.shape[0] - n_source)])
        domain_loss = F.binary_cross_entropy_with_logits(logits, domain)
        accuracy = ((logits > 0).to(domain.dtype) == domain).float().mean()
        parts = {
            "task_loss": out.loss.detach(),
            "domain_loss": domain_loss.detach(),
            "domain_acc": accuracy.detach(),
            "lambda": torch.tensor(self.lambda_),
        }
        return out.loss + domain_loss, parts

    def validation_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(**batch, return_dict=True).loss
