"""The run ledger: a benchmark protocol longer than a session, finished in pieces that are kept.

A benchmark's run directories live under ``build/`` and last as long as the machine; a protocol
of many hours (the molecules benchmark with and without its recipe is about 9 hours of one
core, MoleculeACE 4-5 more) does not fit one session of a 2-core machine. So each finished run is
also written down in the repository, ``benchmarks/results/ledger/BENCH/RUN.json``:

- ``key``: the very hash its run directory is stamped with (model weights, rows, inputs, targets,
  configurations), so a record is only ever taken for the run it describes;
- ``payload``: what the benchmark needs from the run (metrics, cost) and the predictions it made
  on the rows it is scored on, so the numbers can be computed again from them;
- ``recorded``: when, on what machine, with what versions and at which commit.

A run name holds one record per key: the first record of a name is ``RUN.json``; a run of the same
name under another configuration (a peer with other settings, a model trained again on changed
weights) is kept beside it as ``RUN.KEY12.json`` (the key's first 12 characters) and never replaces
it, so a side run with other settings cannot overwrite the committed protocol's record.

A later run of the benchmark, on this machine or another, takes a recorded run whose key matches
instead of training it again; the caller scores its kept predictions again and refuses a record
whose predictions do not give its numbers. The result says how many runs came from the ledger and
when they were measured. ``--fresh`` retrains (and writes the record anew); ``--ledger none``
neither reads nor writes. A ``--quick`` smoke run keeps no ledger unless ``--ledger DIR`` asks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
DIR_NAME = "ledger"
KEY_CHARS = 12  # of a key, in the name of a record kept beside the first


def add_ledger_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        default=None,
        metavar="DIR|none",
        help="the run ledger: finished runs kept in the repository and taken instead of retraining "
        "(default RESULTS_DIR/ledger/NAME; 'none': neither read nor written; off for --quick)",
    )


class Ledger:
    """Records of finished runs under ``root`` (None: a ledger that holds nothing and keeps nothing)."""

    def __init__(self, root: str | Path | None, bench: str = ""):
        self.root = None if root is None else Path(root)
        self.bench = bench

    @classmethod
    def from_args(cls, args: Any, bench: str, results_dir: Path) -> Ledger:
        option = getattr(args, "ledger", None)
        if option is not None and option.strip().lower() == "none":
            return cls(None, bench)
        if option is None:
            return cls(None if getattr(args, "quick", False) else results_dir / DIR_NAME / bench, bench)
        if Path(option).exists() and not Path(option).is_dir():
            from chemtl.errors import ChemtlError

            raise ChemtlError(f"--ledger {option!r}: not a directory")
        return cls(Path(option), bench)

    def path(self, run: str, key: str | None = None) -> Path:
        """The file of ``run``'s first record (``key`` None), or of its record under ``key`` when
        that is not the first (``RUN.KEY12.json``)."""
        from chemtl.errors import ChemtlError

        parts = run.split("/")
        if self.root is None or any(p in ("", "..", ".") for p in parts):
            raise ChemtlError(f"ledger run name {run!r}: a relative path under the ledger is needed")
        return self.root / (f"{run}.json" if key is None else f"{run}.{key[:KEY_CHARS]}.json")

    def get(self, run: str, key: str) -> dict[str, Any] | None:
        """The record of ``run`` stamped with ``key`` (the first record or the one kept beside it
        under that key) when it is there and readable; else None."""
        if self.root is None:
            return None
        for path in (self.path(run), self.path(run, key)):
            entry = self._load(path)
            if entry is not None and entry.get("key") == key:
                return entry
        return None

    def read(self, run: str) -> dict[str, Any] | None:
        """The first record of ``run`` whatever its key (a reader that checks the rows itself), or None."""
        return None if self.root is None else self._load(self.path(run))

    @staticmethod
    def _load(path: Path) -> dict[str, Any] | None:
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = (
            isinstance(entry, dict)
            and entry.get("format") == FORMAT
            and isinstance(entry.get("payload"), dict)
        )
        return entry if ok else None

    def sibling(self, bench: str) -> Ledger:
        """The ledger of another benchmark beside this one (``ROOT/../BENCH``)."""
        return Ledger(None if self.root is None else self.root.parent / bench, bench)

    def put(
        self, run: str, key: str, payload: dict[str, Any], measured: str | None = None, replace: bool = False
    ) -> Path | None:
        """Write the record of ``run`` under ``key`` (atomically), unless it already holds this key
        and not ``replace`` (a run trained again, by ``--fresh`` or over a record that failed its
        check, is a new measurement; a run reused from its directory is not). A key other than
        that of the name's first record goes beside it (``RUN.KEY12.json``). ``measured``: when
        the run finished (ISO; default now). Returns the path written, or None."""
        if self.root is None or (not replace and self.get(run, key) is not None):
            return None
        import common

        from chemtl.atomic import write_json

        first = self.read(run)
        path = self.path(run) if first is None or first.get("key") == key else self.path(run, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(
            path,
            {
                "format": FORMAT,
                "benchmark": self.bench,
                "run": run,
                "key": key,
                "recorded": {
                    "at": common.now_iso(),
                    "measured": measured or common.now_iso(),
                    "machine": _machine(),
                    "git_commit": common.git_commit(),
                    "versions": common.versions(),
                },
                "payload": _plain(payload),
            },
        )
        return path


def config_key(record: dict[str, Any]) -> str:
    """The key of a peer run (a baseline model the benchmark fits itself, Chemprop through its
    CLI): the hash of its config record as JSON, the one its run directory's stamp compares."""
    from chemtl.evaluate.compare import hash_json

    return hash_json(json.loads(json.dumps(record)))


def keep_peer(
    book: Ledger | None,
    run: str | None,
    record: dict[str, Any],
    summary: dict[str, Any],
    test_rows,
    preds,
    stamp_file: Path | None = None,
) -> None:
    """Write a finished peer run down: its config record (whose hash is the key), its summary and
    its test rows and predictions. ``stamp_file``: the stamp of the run directory it was reused
    from (measured when that was written; an existing record is kept); None: just trained (a new
    measurement, which replaces any record)."""
    if book is None or run is None:
        return
    measured = None
    if stamp_file is not None and stamp_file.is_file():
        import datetime as dt

        stamped = dt.datetime.fromtimestamp(stamp_file.stat().st_mtime, dt.UTC)
        measured = stamped.isoformat(timespec="seconds")
    book.put(
        run,
        config_key(record),
        {
            "config": json.loads(json.dumps(record)),
            "summary": summary,
            "test_rows": [int(i) for i in test_rows],
            "test_predictions": [float(x) for x in preds],
        },
        measured=measured,
        replace=stamp_file is None,
    )


def take_peer(
    book: Ledger | None, run: str | None, record: dict[str, Any], test_rows, score
) -> dict[str, Any] | None:
    """A peer run's outcome from its record: ``score(predictions)`` of the record's test
    predictions, which must be for ``test_rows`` and give its recorded RMSE (and MAE where
    recorded); None when there is no record of this config or it fails that check. The outcome
    is the recorded summary with the scores on top, ``reused`` and ``ledger`` (``origin``)."""
    if book is None or run is None:
        return None
    entry = book.get(run, config_key(record))
    if entry is None:
        return None
    got = entry["payload"]
    rows, preds, summary = got.get("test_rows"), got.get("test_predictions"), got.get("summary") or {}
    if rows != [int(i) for i in test_rows] or not isinstance(preds, list) or len(preds) != len(rows):
        return None
    again = score(np.asarray(preds, dtype=np.float64))
    if not all(same_score(summary.get(m), again.get(m)) for m in ("rmse", "mae") if m in summary):
        return None
    return {**summary, **again, "reused": True, "ledger": origin(entry)}


def _machine() -> dict[str, Any]:
    import common

    info = common.machine_info()
    return {k: info.get(k) for k in ("platform", "cpu_model", "cpu_count", "torch_threads", "load_average")}


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays to Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def same_score(recorded: float | None, again: float | None, tol: float = 1e-6) -> bool:
    """Whether a number scored again from kept predictions is the recorded one (kept predictions
    are written with 10 significant digits, hence the tolerance)."""
    if recorded is None or again is None:
        return recorded is None and again is None
    return abs(float(recorded) - float(again)) <= tol * max(1.0, abs(float(recorded)))


def origin(entry: dict[str, Any]) -> dict[str, Any]:
    """What a result says about a run taken from the ledger: when and where it was measured."""
    rec = entry.get("recorded") or {}
    machine = rec.get("machine") or {}
    return {
        "at": rec.get("measured") or rec.get("at"),
        "git_commit": rec.get("git_commit"),
        "cpu_model": machine.get("cpu_model"),
        "torch_threads": machine.get("torch_threads"),
    }


def summary_note(runs: list[dict[str, Any]], ledger: Ledger) -> str | None:
    """One note on the runs of a result that came from the ledger (each a method outcome with
    ``"ledger"`` set), or None when none did."""
    taken = [r["ledger"] for r in runs if r.get("ledger")]
    if not taken:
        return None
    dates = sorted(str(t.get("at"))[:10] for t in taken if t.get("at"))
    span = dates[0] if dates and dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}" if dates else "?"
    cpus = sorted({str(t.get("cpu_model")) for t in taken})
    where = ledger.root if ledger.root is not None else "the ledger"
    return (
        f"{len(taken)} of {len(runs)} runs were taken from the run ledger ({_display(where)}), measured "
        f"{span} on {', '.join(cpus)} by this same script; each was scored again from its kept "
        "predictions, which give its recorded numbers."
    )


def _display(path: Any) -> str:
    import common

    try:
        return str(Path(path).resolve().relative_to(common.REPO_ROOT))
    except ValueError:
        return str(path)
