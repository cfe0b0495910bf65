"""Seeds: one call at the start of a run, and per-batch seeds that depend only on the position.

``seed_run`` seeds every generator and turns on deterministic algorithms; call it inside a run
function, never at import time. ``derive_seed(seed, *parts)`` gives a stable 32-bit seed for a
position in training (an epoch and batch index, a global step): reseeding from it makes each
batch's randomness (masking, dropout) a pure function of the seed and the position, so a run
resumed mid-epoch draws exactly the numbers an uninterrupted run draws.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from chemtl.seeds import derive_seed

__all__ = ["derive_seed", "reseed", "seed_run"]


def seed_run(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (and dataloader workers) and pick deterministic kernels."""
    import lightning

    lightning.seed_everything(seed, workers=True, verbose=False)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def reseed(seed: int) -> None:
    """Reseed the global python, numpy and torch generators of this process."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
