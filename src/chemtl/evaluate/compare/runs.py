"""Run identity and reuse: weights fingerprints, run hashes, seeded row subsets, reuse-or-train.

One implementation for ``compare`` and the benchmarks: a finished run is reused only when the
sha256 of everything that decides its numbers (``run_hash``: the model's weights, the rows, the
data, training and strategy configs) matches the hash stamped in its directory.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import write_json
from chemtl.evaluate.compare.config import CompareError

RUN_FILE = "compare_run.json"
RUN_FORMAT = 1


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_fingerprint(model_dir: str | Path) -> str:
    """sha256 over the model directory's config.json and model.safetensors (the weights hash that
    keys every reused run)."""
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        path = Path(model_dir) / name
        h.update(name.encode())
        h.update((sha256_file(path) if path.is_file() else "-").encode())
    return h.hexdigest()


def hash_json(payload: Any) -> str:
    """sha256 of ``payload`` as canonical JSON (sorted keys; other objects by ``str``)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def read_json(path: str | Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_hash(
    *,
    model_sha256: str,
    dataset: str,
    dataset_sha256: str | None,
    rows: Any,
    data: dict[str, Any],
    train: Any,
    strategy: Any,
) -> str:
    """sha256 of everything that decides a fine-tuning run's numbers (not where its files are):
    the model's weights hash, the table and the run's rows (a hash or hashes of them), the data
    config as a dict (leave out paths that do not change the rows), the ``TrainConfig`` (its
    progress bar left out) and the ``StrategyConfig``."""
    train_dict = (
        train.key_dict()
        if hasattr(train, "key_dict")
        else train.to_dict()
        if hasattr(train, "to_dict")
        else dict(train)
    )
    return hash_json(
        {
            "format": RUN_FORMAT,
            "model": model_sha256,
            "dataset": dataset,
            "dataset_sha256": dataset_sha256,
            "rows": rows,
            "data": data,
            "train": {k: v for k, v in train_dict.items() if k != "progress_bar"},
            "strategy": strategy.to_dict() if hasattr(strategy, "to_dict") else strategy,
        }
    )


def seeded_subset(pool: Any, n: int | None, seed: int, *salt: object) -> np.ndarray:
    """``n`` rows of ``pool``: the first ``n`` of a permutation drawn from
    ``derive_seed(seed, *salt)``, returned sorted (so a smaller ``n`` is a subset of a larger one);
    all of ``pool`` (sorted) when ``n`` is None or not smaller."""
    from chemtl.training.seeding import derive_seed

    pool = np.sort(np.asarray(pool, dtype=np.int64))
    if n is None or n >= len(pool):
        return pool
    rng = np.random.default_rng(derive_seed(seed, *salt))
    return np.sort(pool[rng.permutation(len(pool))[:n]])


def subset_rows(pool: np.ndarray, n: int, seed: int, fold: int | None) -> np.ndarray:
    """The ``n`` training rows of compare's replicate (fold, seed): ``seeded_subset`` drawn from
    (seed, fold) only, never the strategy or the size, so sizes are nested."""
    if not 0 < n <= len(pool):
        raise CompareError(f"train size {n} does not fit the {len(pool)} training rows")
    return seeded_subset(pool, n, seed, "compare-train-subset", -1 if fold is None else fold)


@dataclass
class FinishedRun:
    """What ``reuse_or_train`` returns: ``status`` "reused" or "trained", the run's metrics.json
    and its stamp (the extra fields the training step recorded, e.g. wall seconds). A benchmark
    that takes a run from its ledger of kept runs (benchmarks/ledger.py) says "recorded"."""

    status: str
    metrics: dict[str, Any]
    stamp: dict[str, Any]

    @property
    def reused(self) -> bool:
        return self.status in ("reused", "recorded")


def finished_run(run_dir: str | Path, key: str, stamp_name: str = RUN_FILE) -> FinishedRun | None:
    """The finished run in ``run_dir`` stamped with hash ``key`` (the one ``reuse_or_train`` would
    reuse without training), or None."""
    run_dir = Path(run_dir)
    stamp = read_json(run_dir / stamp_name) or {}
    return _finished(run_dir, stamp) if stamp.get("hash") == key else None


def _finished(run_dir: Path, stamp: dict[str, Any]) -> FinishedRun | None:
    if stamp.get("status") != "done":
        return None
    metrics = read_json(run_dir / "metrics.json")
    return None if metrics is None else FinishedRun("reused", metrics, stamp)


def reuse_or_train(
    run_dir: str | Path,
    key: str,
    train: Callable[[bool, bool], tuple[dict[str, Any], dict[str, Any]]],
    *,
    fresh: bool = False,
    stamp_name: str = RUN_FILE,
    keep_checkpoints: bool = False,
) -> FinishedRun:
    """Reuse the finished run in ``run_dir`` when its stamp carries hash ``key``, else train it.

    ``train(resume, overwrite)`` runs the fine-tuning into ``run_dir`` and returns
    ``(metrics, extra stamp fields)``: ``resume`` is true when an unfinished run with the same key
    is there (continue it), ``overwrite`` when the directory holds another run (replace it).
    ``fresh`` never reuses nor resumes. The stamp says "running" while it trains, "done" after,
    "failed" (with the traceback) when ``train`` raises; the exception goes on to the caller.
    ``checkpoints/`` is removed once finished unless ``keep_checkpoints``.
    """
    run_dir = Path(run_dir)
    stamp_path = run_dir / stamp_name
    stamp = read_json(stamp_path) or {}
    same = stamp.get("hash") == key and not fresh
    if same and (done := _finished(run_dir, stamp)) is not None:
        return done
    stale = run_dir.exists() and not same
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(stamp_path, {"format": RUN_FORMAT, "hash": key, "status": "running"})
    try:
        metrics, extra = train(same, stale)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        write_json(
            stamp_path,
            {
                "format": RUN_FORMAT,
                "hash": key,
                "status": "failed",
                "error": error,
                "traceback": traceback.format_exc(),
            },
        )
        raise
    done = {"format": RUN_FORMAT, "hash": key, "status": "done", **extra}
    write_json(stamp_path, done)
    if not keep_checkpoints:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return FinishedRun("trained", metrics, done)


def read_loss_curves(run_dir: str | Path) -> dict[str, list]:
    """Per-epoch curves of a finetune run from ``logs/metrics.csv`` (Lightning's CSV logger).

    Returns ``{"epoch": [1, 2, ...], "train_loss": [...], "val_loss": [...]}``: ``train_loss`` is
    the epoch mean of ``train_loss_epoch``, ``val_loss`` the epoch's ``val_loss``; the logger's
    0-based epochs become 1-based (as ``best_epoch``); a value the log lacks is None; a repeated
    epoch (a resumed run) keeps its last value.
    """
    path = Path(run_dir) / "logs" / "metrics.csv"
    train: dict[int, float] = {}
    val: dict[int, float] = {}
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    epoch = int(float(row.get("epoch") or ""))
                except ValueError:
                    continue
                for key, store in (("train_loss_epoch", train), ("val_loss", val)):
                    text = (row.get(key) or "").strip()
                    if text:
                        try:
                            store[epoch] = float(text)
                        except ValueError:
                            pass
    epochs = sorted(set(train) | set(val))
    return {
        "epoch": [e + 1 for e in epochs],
        "train_loss": [train.get(e) for e in epochs],
        "val_loss": [val.get(e) for e in epochs],
    }
