"""Domain adaptation: a labelled source domain, an unlabelled target domain, one encoder.

Public API::

    GradientReversal, grad_reverse(x, lambda_)   # identity forward, -lambda * grad backward
    ganin_lambda(p, max_weight=1.0)              # 2 / (1 + exp(-10 p)) - 1, times max_weight
    DomainClassifier(hidden_size, width=None)    # MLP: pooled embedding -> domain logit
    DomainAdversarial(hidden_size, method, ...)  # the objective (an nn.Module owning the classifier)
    DevValidation(loader, ...)                   # the importance-weighted validation loss (DEV)
    AdaptConfig                                  # what `chemtl adapt` runs (JSON round-trip)
    METHODS, SELECTIONS

This package imports torch only in the modules that need it (``config`` does not).
"""

from __future__ import annotations

from chemtl.transfer.adapt.config import METHODS, SELECTIONS, AdaptConfig, AdaptError

__all__ = ["METHODS", "SELECTIONS", "AdaptConfig", "AdaptError"]
