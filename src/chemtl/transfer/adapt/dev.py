"""Deep Embedded Validation (DEV; You et al., ICML 2019): model selection without target labels.

The source validation loss estimates the source risk. DEV estimates the target risk from the
same labelled source validation rows, each row's loss weighted by the density ratio
``w(x) = p_target(x) / p_source(x)`` of its embedding, estimated by the domain classifier
(``w = exp(logit)``: the classifier trains on batches with as many source as target rows, so
the domain prior ratio is 1). A control variate lowers the variance:

    DEV = mean(w l) + eta mean(w) - eta,   eta = -Cov(w l, w) / Var(w)

(with ``Var(w) = 0``, every ``w`` equal, DEV is ``mean(w l)``). ``DevValidation`` computes it at the
end of every validation and logs it as ``val_dev``; ``fit(..., monitor="val_dev")`` then picks the
best epoch by it. The density ratios come from the current encoder and domain classifier, so DEV
is a pure function of the weights and a resumed run computes the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from chemtl.models.losses import property_loss


def dev_risk(losses: np.ndarray, weights: np.ndarray) -> float:
    """The DEV estimate from per-row source validation ``losses`` and density ``weights``."""
    losses = np.asarray(losses, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    weighted = weights * losses
    var = float(np.var(weights, ddof=1)) if len(weights) > 1 else 0.0
    if var <= 0:
        return float(weighted.mean())
    eta = -float(np.cov(weighted, weights, ddof=1)[0, 1]) / var
    return float(weighted.mean() + eta * weights.mean() - eta)


def row_losses_and_weights(model, classifier, loader, problem_type: str = "regression"):
    """Per-row task losses and density ratios ``exp(classifier logit)`` over ``loader``'s rows."""
    losses, weights = [], []
    with torch.no_grad():
        for batch in loader:
            if batch is None:
                continue
            out = model(**{k: v for k, v in batch.items() if k != "labels"}, return_dict=True)
            labels = batch["labels"]
            for i in range(out.logits.shape[0]):
                losses.append(float(property_loss(out.logits[i : i + 1], labels[i : i + 1], problem_type)))
            weights += torch.exp(classifier(out.pooler_output).double()).tolist()
    return np.asarray(losses), np.asarray(weights)


class DevValidation(Callback):
    """Logs ``val_dev`` (and ``val_dev_weight_mean``) after each validation; ``loader``: the
    source validation rows, with labels."""

    def __init__(self, loader: Any, problem_type: str = "regression") -> None:
        self.loader = loader
        self.problem_type = problem_type

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        model, classifier = pl_module.model, pl_module.objective.classifier
        modes = model.training, classifier.training
        model.eval()
        classifier.eval()
        try:
            losses, weights = row_losses_and_weights(model, classifier, self.loader, self.problem_type)
        finally:
            model.train(modes[0])
            classifier.train(modes[1])
        if not len(losses):
            return
        pl_module.log("val_dev", dev_risk(losses, weights), on_step=False, on_epoch=True)
        pl_module.log("val_dev_weight_mean", float(weights.mean()), on_step=False, on_epoch=True)
