"""Lightning checkpoint IO that writes atomically and reads with ``weights_only=True``.

Lightning's own ``TorchCheckpointIO`` writes through an fsspec transaction (a temporary file moved
into place, without fsync). This one goes through ``chemtl.atomic.atomic_open``: the bytes go to a
temporary file in the checkpoint's directory, are flushed and fsync'ed, then ``os.replace``'d over
the target. A SIGKILL at any moment leaves the previous ``last.ckpt`` whole and readable.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from chemtl.atomic import atomic_open


class AtomicCheckpointIO(TorchCheckpointIO):
    """Atomic writes, ``weights_only=True`` reads (tensors and plain containers, never code)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        with atomic_open(path, "wb") as handle:
            torch.save(checkpoint, handle)

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        if not Path(path).is_file():
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        return torch.load(path, map_location="cpu", weights_only=True)
