"""Safe loading and atomic saving of weights and training checkpoints.

- Model weights load only from safetensors. ``check_weights_dir`` refuses, before anything
  unpickles it, a model directory holding a pickle-format file (``*.bin``, ``*.pt``, ``*.pth``,
  ``*.pkl``, ``*.pickle``, ``*.ckpt``) anywhere in it, sub-directories (a PEFT adapter) included,
  except in the run's own ``checkpoints/`` folder (and an unfinished save's ``.save-*`` folder, and
  a nested model directory, checked when it is loaded);
  and any ``*.safetensors`` file in it that is not whole safetensors (a pickle renamed, a
  truncated or damaged file, each said as such). A folder with ``adapter_config.json`` must hold its weights as ``adapter_model.safetensors``.
- ``checkpoints/`` holds chemtl's own Lightning checkpoints (optimizer state, loop counters). They
  are never read as model weights, only by ``--resume``, with ``torch.load(weights_only=True)``:
  tensors and plain containers only, never code. ``load_training_checkpoint`` turns a damaged one
  into a one-line error. They are written atomically by ``chemtl.training.ckpt_io``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chemtl.errors import ChemtlError

SAFETENSORS_NAME = "model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# The run's own training checkpoints (read only by --resume, with weights_only=True).
TRAINING_CHECKPOINTS = "checkpoints"
# The temporary folders of chemtl.pipelines.modeldir.save_model_dir.
SAVE_TEMPORARIES = (".save-", ".old-")
# A sub-folder holding one of these is a model or run directory of its own.
OWN_DIRECTORY = ("config.json", "train_config.json")
# safetensors refuses headers longer than this (its MAX_HEADER_SIZE).
MAX_HEADER_BYTES = 100_000_000
# How a pickle starts: a zip archive (torch.save) or the PROTO opcode of pickle protocols 2-5.
PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


class UnsafeWeightsError(ChemtlError):
    """A model directory whose weights are a pickle (or otherwise not safetensors)."""


class ModelDirError(ChemtlError):
    """A path that is not a chemtl model directory."""


class CheckpointError(ChemtlError):
    """A training checkpoint that cannot be read back (damaged, truncated, not chemtl's)."""


def safetensors_problem(path: str | os.PathLike) -> str | None:
    """None for a whole safetensors file, else why it is not one: a one-line message naming it.

    A safetensors file is an 8-byte little-endian header length N, N bytes of JSON (each tensor's
    ``data_offsets`` into the data that follows), then exactly the data. A file that starts like a
    pickle is said to be one; a header whose offsets run past the end of the file means truncated;
    anything else is damaged.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if head.startswith(PICKLE_MAGIC):
            return (
                f"{str(path)!r} is not a safetensors file (it may be a pickle); "
                "chemtl loads weights only from safetensors"
            )
        n = int.from_bytes(head, "little")
        if len(head) == 8 and 2 <= n <= MAX_HEADER_BYTES:
            header_bytes = handle.read(n)
        else:
            header_bytes = b""
    damaged = f"{str(path)!r} is damaged (not a safetensors file: {{}}); save or copy it again"
    if len(head) < 8:
        return f"{str(path)!r} is truncated ({size} bytes, no safetensors header); save or copy it again"
    if not 2 <= n <= MAX_HEADER_BYTES or not header_bytes.startswith(b"{"):
        return damaged.format("no JSON header")
    if len(header_bytes) < n:
        return (
            f"{str(path)!r} is truncated (its {n}-byte header is cut off at byte {size}); "
            "save or copy it again"
        )
    try:
        header = json.loads(header_bytes)
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return damaged.format("its header is not a safetensors header")
    need = 8 + n + max(ends, default=0)
    if need > size:
        return (
            f"{str(path)!r} is truncated (its header describes {need} bytes, the file has {size}); "
            "save or copy it again"
        )
    if need < size:
        return damaged.format(f"{size - need} bytes after the last tensor")
    return None


def _files(d: Path) -> list[Path]:
    """Every file under ``d`` (symlinked folders not followed) but in the run's ``checkpoints/``,
    in the temporary folders of an unfinished save (``.save-*``, ``.old-*``), which nothing loads
    from, and in nested model or run directories (a run written inside the model's folder), which
    are checked when they are loaded themselves."""
    out = []
    for root, dirs, files in os.walk(d):
        here = Path(root)
        if here == d:
            dirs[:] = [x for x in dirs if x != TRAINING_CHECKPOINTS and not x.startswith(SAVE_TEMPORARIES)]
        dirs[:] = sorted(x for x in dirs if not any((here / x / f).is_file() for f in OWN_DIRECTORY))
        out += [Path(root) / f for f in sorted(files)]
    return out


def check_weights_dir(model_dir: str | os.PathLike) -> Path:
    """Return the path of the directory's safetensors weights, or raise a one-line error."""
    d = Path(model_dir)
    if not d.exists():
        raise ModelDirError(f"model directory {str(d)!r} does not exist")
    if not d.is_dir():
        raise ModelDirError(f"model {str(d)!r} is not a directory (a model is a directory with config.json)")
    if not (d / "config.json").is_file():
        raise ModelDirError(f"model directory {str(d)!r} has no config.json")
    files = _files(d)
    weights = d / SAFETENSORS_NAME
    shards = sorted(d.glob("model-*-of-*.safetensors"))
    pickles = [p.relative_to(d).as_posix() for p in files if p.suffix in PICKLE_SUFFIXES]
    if pickles and not weights.is_file() and not shards:
        raise UnsafeWeightsError(
            f"model directory {str(d)!r} holds pickle weights ({', '.join(pickles)}) and no "
            f"{SAFETENSORS_NAME}; chemtl loads weights only from safetensors"
        )
    if pickles:
        raise UnsafeWeightsError(
            f"model directory {str(d)!r} holds {', '.join(pickles)}, a pickle-format file chemtl never "
            "loads; delete it (convert it to safetensors first if you need it) and load the directory again"
        )
    for path in files:
        if path.suffix == ".safetensors":
            problem = safetensors_problem(path)
            if problem:
                raise UnsafeWeightsError(problem)
        elif path.name == ADAPTER_CONFIG and not (path.parent / ADAPTER_WEIGHTS).is_file():
            raise ModelDirError(
                f"{str(path.parent)!r} holds {ADAPTER_CONFIG} but no {ADAPTER_WEIGHTS}; "
                "chemtl loads adapter weights only from safetensors"
            )
    if weights.is_file():
        return weights
    if shards:
        return shards[0]
    raise ModelDirError(f"model directory {str(d)!r} has no {SAFETENSORS_NAME}")


RESUME_ADVICE = (
    "chemtl keeps one checkpoint per run, so the run cannot resume: start it again with --overwrite"
)


def load_training_checkpoint(
    path: str | os.PathLike, *, data: bytes | None = None, advice: str = RESUME_ADVICE
) -> dict[str, Any]:
    """Read a Lightning checkpoint with ``weights_only=True`` (no code is unpickled).

    A file that does not read back as one (overwritten, truncated, not written by chemtl) is a
    one-line ``CheckpointError`` naming it and ending with ``advice`` (what it means for the verb);
    torch's own advice (to load it with ``weights_only=False``, which would run whatever the file
    holds) is never passed on. ``data``: the file's bytes, already read (one read of a checkpoint a
    running process may replace), else the file at ``path`` is read.
    """
    import io

    import torch

    path = Path(path)
    try:
        source = path if data is None else io.BytesIO(data)
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception:  # any failure to read the file back is the same user error
        if data is None:
            with open(path, "rb") as handle:
                head = handle.read(4)
        else:
            head = data[:4]
        if not head:
            what = "empty"
        elif head == PICKLE_MAGIC[0]:
            what = "truncated or damaged"
        else:
            what = "not a checkpoint chemtl wrote (overwritten or damaged)"
        raise CheckpointError(_checkpoint_message(path, what, advice)) from None
    if not isinstance(state, dict) or not {"global_step", "state_dict", "loops"} <= set(state):
        raise CheckpointError(_checkpoint_message(path, "not a chemtl training checkpoint", advice))
    return state


def _checkpoint_message(path: Path, what: str, advice: str = RESUME_ADVICE) -> str:
    return f"training checkpoint {str(path)!r} is {what}; {advice}"
