"""The peers of the ``molecules`` benchmark: Chemprop v2 through its own command line and a
RandomForest on Morgan bits, each run on the rows the benchmark gives, kept in its run directory
and the run ledger, and scored again from its kept predictions when reused
(``molecule_recipe`` reads their finished runs too)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import keep_peer, take_peer  # noqa: E402

CHEMPROP_PIN = "chemprop==2.2.4"


def _same_config(stamp: dict[str, Any], record: dict[str, Any]) -> bool:
    from chemtl.evaluate.compare import hash_json

    return hash_json(stamp.get("config")) == hash_json(json.loads(json.dumps(record)))


def _split_hash(split) -> str:
    from chemtl.training.manifest import indices_sha256

    return indices_sha256(split.train, split.val, split.test)


def _data_record(sub_ds, split) -> dict[str, str]:
    """Hashes of the rows a run saw: the split's indices, the inputs and the targets."""
    from chemtl.data.files import sha256_strings

    return {
        "split_sha256": _split_hash(split),
        "inputs_sha256": sha256_strings(sub_ds.inputs),
        "targets_sha256": sha256_strings(
            [repr(float(t)) for t in np.asarray(sub_ds.targets, dtype=np.float64)]
        ),
    }


# ----------------------------------------------------------------------------------------------
# Chemprop (through its command line)


def find_chemprop(option: str | None) -> tuple[str | None, str]:
    """(the chemprop executable or None, why not): ``option`` is a path, 'none' or None (look)."""
    if option is not None and option.strip().lower() == "none":
        return None, "skipped on request (--chemprop none)"
    if option is not None:
        path = Path(option)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path), ""
        return None, f"no chemprop executable at {option!r}"
    beside = Path(sys.executable).parent / "chemprop"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside), ""
    found = shutil.which("chemprop")
    if found:
        return found, ""
    return None, f"chemprop is not installed (pip install '{CHEMPROP_PIN}')"


def chemprop_version(exe: str) -> str | None:
    """The version of the chemprop that ``exe`` runs (its interpreter's package metadata)."""
    import importlib.metadata

    python = None
    try:
        with open(exe, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
        if first.startswith("#!") and "python" in first:
            python = first[2:].strip().split()[0]
    except OSError:
        pass
    if python and Path(python).resolve() != Path(sys.executable).resolve():
        try:
            out = subprocess.run(
                [python, "-c", "import importlib.metadata as m; print(m.version('chemprop'))"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            return (out.stdout.strip() or None) if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    try:
        return importlib.metadata.version("chemprop")
    except importlib.metadata.PackageNotFoundError:
        return None


def _write_csv(path: Path, smiles: list[str], targets: np.ndarray | None) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["smiles", "y"] if targets is not None else ["smiles"])
        for i, s in enumerate(smiles):
            writer.writerow([s, repr(float(targets[i]))] if targets is not None else [s])


def _run_logged(cmd: list[str], log_path: Path, what: str) -> float:
    from chemtl.errors import ChemtlError

    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONUNBUFFERED"] = "1"
    start = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(cmd) + "\n")
        handle.flush()
        code = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False).returncode
    wall = time.perf_counter() - start
    if code != 0:
        lines = [
            ln for ln in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()
        ]
        last = lines[-1].strip() if lines else ""
        raise ChemtlError(f"{what} exited with status {code} (log {log_path}): {last[:300]}")
    return wall


def run_chemprop(
    exe: str,
    version: str | None,
    sub_ds,
    split,
    seed: int,
    args,
    run_dir: Path,
    fresh,
    log,
    ledger=None,
    ledger_run: str | None = None,
):
    """``chemprop train`` on the split's train/val/test rows, ``chemprop predict`` on its test
    rows; or the finished run in ``run_dir``, or its record in ``ledger`` (``ledger_run``), each
    scored again from its kept test predictions."""
    from chemtl.atomic import write_json
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.metrics import regression_metrics

    targets = np.asarray(sub_ds.targets, dtype=np.float64)
    options = ["--epochs", str(args.chemprop_epochs), "--batch-size", str(args.chemprop_batch_size)]
    if args.chemprop_patience is not None:
        options += ["--patience", str(args.chemprop_patience)]
    options += ["--pytorch-seed", str(seed), "--data-seed", str(seed)]
    options += ["--accelerator", "cpu", "--devices", "1", "--num-workers", "0"]
    record = {
        "chemprop_version": version,
        "options": options,
        **_data_record(sub_ds, split),
    }
    stamp_file = run_dir / "bench_run.json"
    preds_path = run_dir / "test_preds.csv"
    if not fresh and stamp_file.is_file() and preds_path.is_file():
        stamp = json.loads(stamp_file.read_text())
        if _same_config(stamp, record):
            # the reused number is recomputed from the run's kept predictions
            score = chemprop_kept_score(run_dir, sub_ds, split)
            log(f"    chemprop: reused finished run in {run_dir} (scored again from its predictions)")
            preds = _chemprop_predictions(preds_path, sub_ds, split)
            keep_peer(ledger, ledger_run, record, stamp["summary"], split.test, preds, stamp_file)
            return {**stamp["summary"], **_scores(score), "reused": True, "ledger": None}
    taken = None if fresh else take_peer(ledger, ledger_run, record, split.test, _test_scores(sub_ds, split))
    if taken is not None:
        log(f"    chemprop: taken from the ledger ({ledger_run}, measured {taken['ledger']['at']})")
        return taken
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    files = {}
    for side, idx in split.sides().items():
        files[side] = run_dir / f"{side}.csv"
        _write_csv(files[side], [sub_ds.inputs[i] for i in idx], targets[idx])
    test_input = run_dir / "test_smiles.csv"
    _write_csv(test_input, [sub_ds.inputs[i] for i in split.test], None)
    out_dir = run_dir / "train"
    train_cmd = [exe, "train", "-i", str(files["train"]), str(files["val"]), str(files["test"])]
    train_cmd += ["-s", "smiles", "--target-columns", "y", "--task-type", "regression", "-o", str(out_dir)]
    train_cmd += ["--remove-checkpoints", *options]
    train_wall = _run_logged(train_cmd, run_dir / "train.log", "chemprop train")
    best = sorted(out_dir.glob("**/best.pt"))
    if not best:
        raise ChemtlError(f"chemprop train left no best.pt under {out_dir} (log {run_dir / 'train.log'})")
    predict_cmd = [
        exe,
        "predict",
        "-i",
        str(test_input),
        "--model-paths",
        str(best[0]),
        "-o",
        str(preds_path),
    ]
    predict_cmd += ["-s", "smiles", "--accelerator", "cpu", "--devices", "1", "--num-workers", "0"]
    predict_wall = _run_logged(predict_cmd, run_dir / "predict.log", "chemprop predict")
    preds = _chemprop_predictions(preds_path, sub_ds, split)
    score = regression_metrics(targets[split.test], preds)
    summary = {
        "rmse": score["rmse"],
        "mae": score["mae"],
        "r2": score["r2"],
        "wall_seconds": round(train_wall + predict_wall, 2),
        "train_seconds": round(train_wall, 2),
        "predict_seconds": round(predict_wall, 2),
        "epochs_run": _chemprop_epochs(out_dir),
        "n_train": int(len(split.train)),
        "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "command": [Path(exe).name, *train_cmd[1:]],
    }
    write_json(stamp_file, {"config": record, "summary": summary})
    keep_peer(ledger, ledger_run, record, summary, split.test, preds)
    return {**summary, "reused": False, "ledger": None}


def chemprop_kept_score(run_dir: Path, sub_ds, split) -> dict[str, Any]:
    """The test metrics of a finished Chemprop run, recomputed from the predictions it kept."""
    from chemtl.evaluate.metrics import regression_metrics

    preds = _chemprop_predictions(run_dir / "test_preds.csv", sub_ds, split)
    return regression_metrics(np.asarray(sub_ds.targets, dtype=np.float64)[split.test], preds)


def same_rows(stamp: dict[str, Any], sub_ds, split) -> bool:
    """Whether a peer run's stamp (Chemprop's or the RandomForest's ``bench_run.json``) was made on
    these rows: its split, inputs and targets hashes are this split's."""
    config = stamp.get("config") or {}
    return all(config.get(k) == v for k, v in _data_record(sub_ds, split).items())


def _chemprop_predictions(preds_path: Path, sub_ds, split) -> np.ndarray:
    """Chemprop's test predictions, checked against the split's test SMILES in order."""
    import pandas as pd

    from chemtl.errors import ChemtlError

    table = pd.read_csv(preds_path, keep_default_na=False)
    column = "y" if "y" in table.columns else table.columns[-1]
    preds = table[column].to_numpy(dtype=np.float64)
    if len(preds) != len(split.test) or list(table["smiles"]) != [sub_ds.inputs[i] for i in split.test]:
        raise ChemtlError(f"{preds_path}: the predictions do not match the {len(split.test)} test rows")
    return preds


def _test_scores(sub_ds, split):
    """Test predictions -> their RMSE, MAE and R2 on the split's test rows."""
    from chemtl.evaluate.metrics import regression_metrics

    targets = np.asarray(sub_ds.targets, dtype=np.float64)[split.test]
    return lambda preds: _scores(regression_metrics(targets, preds))


def _scores(score: dict[str, Any]) -> dict[str, Any]:
    return {"rmse": score["rmse"], "mae": score["mae"], "r2": score["r2"]}


def _chemprop_epochs(out_dir: Path) -> int | None:
    """Epochs chemprop trained, from its CSV training log where it wrote one."""
    epochs = set()
    for path in out_dir.glob("**/metrics.csv"):
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    if row.get("epoch", "").strip().isdigit():
                        epochs.add(int(row["epoch"]))
        except OSError:
            continue
    return max(epochs) + 1 if epochs else None


# ----------------------------------------------------------------------------------------------
# RandomForest on Morgan fingerprints


def run_rf(
    sub_ds,
    split,
    seed: int,
    trees: int,
    jobs: int,
    run_dir: Path,
    fresh: bool,
    log,
    ledger=None,
    ledger_run: str | None = None,
) -> dict[str, Any]:
    """RandomForest on Morgan bits of the training rows, scored on the test rows (or the finished run
    recorded in ``run_dir`` or in ``ledger``: 500 trees on Lipophilicity take minutes)."""
    import importlib.metadata

    from chemtl.atomic import write_json
    from chemtl.evaluate.baselines import MORGAN_BITS, MORGAN_RADIUS, MorganRandomForest
    from chemtl.evaluate.metrics import regression_metrics

    targets = np.asarray(sub_ds.targets, dtype=np.float64)
    record = {
        "n_estimators": trees,
        "n_jobs": jobs,
        "random_state": seed,
        "radius": MORGAN_RADIUS,
        "n_bits": MORGAN_BITS,
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        "rdkit": importlib.metadata.version("rdkit"),
        **_data_record(sub_ds, split),
    }
    stamp_file = run_dir / "bench_run.json"
    if not fresh and stamp_file.is_file():
        stamp = json.loads(stamp_file.read_text())
        score = rf_kept_score(stamp, sub_ds, split) if _same_config(stamp, record) else None
        if score is not None:
            # the reused number is recomputed from the run's kept predictions
            log(f"    RF-Morgan: reused finished run in {run_dir} (scored again from its predictions)")
            keep_peer(
                ledger,
                ledger_run,
                record,
                stamp["summary"],
                split.test,
                stamp["test_predictions"],
                stamp_file,
            )
            return {**stamp["summary"], **_scores(score), "reused": True, "ledger": None}
    taken = None if fresh else take_peer(ledger, ledger_run, record, split.test, _test_scores(sub_ds, split))
    if taken is not None:
        log(f"    RF-Morgan: taken from the ledger ({ledger_run}, measured {taken['ledger']['at']})")
        return taken
    start = time.perf_counter()
    rf = MorganRandomForest(n_estimators=trees, n_jobs=jobs, random_state=seed)
    rf.fit([sub_ds.inputs[i] for i in split.train], targets[split.train])
    preds = rf.predict([sub_ds.inputs[i] for i in split.test])
    wall = time.perf_counter() - start
    score = regression_metrics(targets[split.test], preds)
    summary = {
        "rmse": score["rmse"],
        "mae": score["mae"],
        "r2": score["r2"],
        "wall_seconds": round(wall, 2),
        "n_train": int(len(split.train)),
        "n_test": int(len(split.test)),
    }
    write_json(
        stamp_file,
        {
            "config": record,
            "summary": summary,
            "test_rows": [int(i) for i in split.test],
            "test_predictions": [float(x) for x in preds],
        },
    )
    keep_peer(ledger, ledger_run, record, summary, split.test, preds)
    return {**summary, "reused": False, "ledger": None}


def rf_kept_score(stamp: dict[str, Any], sub_ds, split) -> dict[str, Any] | None:
    """The test metrics of a finished RandomForest run, recomputed from the test predictions its
    stamp kept; None when it kept none for these test rows."""
    from chemtl.evaluate.metrics import regression_metrics

    kept = stamp.get("test_predictions")
    if not isinstance(kept, list) or len(kept) != len(split.test):
        return None
    targets = np.asarray(sub_ds.targets, dtype=np.float64)
    return regression_metrics(targets[split.test], np.asarray(kept, dtype=np.float64))
