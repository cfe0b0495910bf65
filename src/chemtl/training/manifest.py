"""Run manifests: what went in (data hashes, split, versions, code commit, command) and when.

A manifest is a plain dict written as ``manifest.json`` beside a run's outputs, enough to say
whether two runs are comparable and to rerun one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

PACKAGES = (
    "chemtl",
    "torch",
    "transformers",
    "tokenizers",
    "lightning",
    "peft",
    "safetensors",
    "numpy",
    "pandas",
    "scikit-learn",
    "rdkit",
)


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit checked out where chemtl's source lives (read-only ``git rev-parse``), or None."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


def indices_sha256(*arrays: Any) -> str:
    """sha256 over index arrays (as int64), in order: two splits hash equal iff their rows are equal."""
    h = hashlib.sha256()
    for a in arrays:
        arr = np.ascontiguousarray(np.asarray(a, dtype=np.int64))
        h.update(len(arr).to_bytes(8, "little"))
        h.update(arr.tobytes())
    return h.hexdigest()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
    }


def build_manifest(
    *,
    kind: str,
    command: list[str] | None,
    started: str,
    finished: str | None = None,
    data: dict[str, Any] | None = None,
    split: dict[str, Any] | None = None,
    model_source: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a manifest; ``data`` is the dataset's provenance (with file sha256s)."""
    manifest: dict[str, Any] = {
        "run": kind,
        "command": list(sys.argv) if command is None else list(command),
        "started": started,
        "finished": finished,
        "model_source": model_source,
        "data": data,
        "split": split,
        "versions": versions(),
        "git_commit": git_commit(),
        "machine": machine(),
    }
    if extra:
        manifest.update(extra)
    return manifest
