"""Atomic file writes: a reader sees the old file or the complete new one, never half of it.

Write to a temporary file in the target's directory, flush and fsync it, then ``os.replace`` it
over the target. On any exception the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports 'w' and 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, _file_mode(target))  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _file_mode(target: Path) -> int:
    """The replaced file's mode, or what ``open`` would give a new file under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def usual_modes(directory: str | os.PathLike) -> None:
    """Give ``directory``, and every file and folder under it, the permissions ``open`` and
    ``mkdir`` would under the umask: a staging directory from ``mkdtemp`` is 0700, and
    safetensors writes its files 0600, so a model directory renamed into place would otherwise
    be unreadable to the other users of a shared machine."""
    umask = _umask()
    root = Path(directory)
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def fsync_tree(directory: str | os.PathLike) -> None:
    """fsync every file under ``directory`` (a staging directory about to be renamed into place)."""
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def replace_dir(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename directory ``source`` to ``target``; a directory at ``target`` is moved aside first
    (into a temporary ``.tmp-old-NAME-*`` directory beside it, a name readers skip) and removed
    after, so ``target`` is the old directory or the whole new one, never a mix."""
    source, target = Path(source), Path(target)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".tmp-old-{target.name}-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
