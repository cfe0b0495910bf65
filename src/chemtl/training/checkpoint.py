"""Safe loading and atomic saving of weights and training checkpoints.

- Model weights load only from safetensors. ``check_weights_dir`` refuses a directory whose
  weights are a pickle (``pytorch_model.bin``, ``*.pt``, ``*.pkl``, a pickle renamed
  ``model.safetensors``) before anything unpickles it.
- Lightning checkpoints (optimizer state, loop counters) are read with
  ``torch.load(weights_only=True)``: tensors and plain containers only, never code. They are
  written atomically by ``chemtl.training.ckpt_io.AtomicCheckpointIO``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chemtl.errors import ChemtlError

SAFETENSORS_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class UnsafeWeightsError(ChemtlError):
    """A model directory whose weights are a pickle (or otherwise not safetensors)."""


class ModelDirError(ChemtlError):
    """A path that is not a chemtl model directory."""


def _looks_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte little-endian header length, then a JSON object."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= path.stat().st_size - 8 and head[8:9] == b"{"


def check_weights_dir(model_dir: str | os.PathLike) -> Path:
    """Return the path of the directory's safetensors weights, or raise a one-line error."""
    d = Path(model_dir)
    if not d.exists():
        raise ModelDirError(f"model directory {str(d)!r} does not exist")
    if not d.is_dir():
        raise ModelDirError(f"model {str(d)!r} is not a directory (a model is a directory with config.json)")
    if not (d / "config.json").is_file():
        raise ModelDirError(f"model directory {str(d)!r} has no config.json")
    weights = d / SAFETENSORS_NAME
    shards = sorted(d.glob("model-*-of-*.safetensors"))
    if weights.is_file():
        if not _looks_like_safetensors(weights):
            raise UnsafeWeightsError(
                f"{str(weights)!r} is not a safetensors file (it may be a pickle); "
                "chemtl loads weights only from safetensors"
            )
        return weights
    if shards and all(_looks_like_safetensors(s) for s in shards):
        return shards[0]
    pickles = sorted(p.name for p in d.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise UnsafeWeightsError(
            f"model directory {str(d)!r} holds pickle weights ({', '.join(pickles)}) and no "
            f"{SAFETENSORS_NAME}; chemtl loads weights only from safetensors"
        )
    raise ModelDirError(f"model directory {str(d)!r} has no {SAFETENSORS_NAME}")


def load_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a Lightning checkpoint with ``weights_only=True`` (no code is unpickled)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)
