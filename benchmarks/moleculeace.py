"""Benchmark ``moleculeace``: chemtl against RF-ECFP and SVM-ECFP on the 30 MoleculeACE sets.

Protocol (van Tilborg, Alenicheva, Grisoni, J. Chem. Inf. Model. 62, 5938 (2022)): the 30 registered
ChEMBL Ki/EC50 sets ``moleculeace_<target>_<Ki|EC50>``, each on its own shipped train/test split
(MoleculeACE's spectral-cluster split, stratified on cliffs). The target is the files' ``y`` column,
``-log10(Ki or EC50 / nM)``: MoleculeACE's pKi/pEC50 less 9, so every error is the same on either
scale. Per set and seed, in this one script and on identical rows:

- chemtl: ``chemtl.pipelines.finetune.finetune`` from ``--model`` (default the shipped
  ``smiles-small``) with strategy ``full``, trained on 90% of the training rows with early stopping
  on the other 10% (a random subset of the training rows drawn with the seed; never test rows);
- RF-ECFP: sklearn ``RandomForestRegressor`` on ECFP4 bits (RDKit Morgan, radius 2, 1024 bits, as
  MoleculeACE), ``n_estimators`` as MoleculeACE tuned it for the set, ``random_state=seed``;
- SVM-ECFP: sklearn ``SVR`` on the same bits with MoleculeACE's tuned ``kernel`` (rbf), ``C``,
  ``gamma`` and ``epsilon`` for the set;
- blend (``--blend svm``, the default when chemtl runs): ``w * chemtl + (1 - w) * SVM``, where the
  SVM is the same SVR fitted on chemtl's own training rows only, and ``w`` in 0, 0.1, ..., 1 is the
  one with the lowest RMSE on chemtl's validation rows (``chemtl.evaluate.blend``); its control is
  SVM-ECFP alone, fitted on every training row.

The peers' hyperparameters are MoleculeACE's own, chosen there by 5-fold cross-validation on the
training rows and shipped with the package (``MoleculeACE/Data/configures/benchmark/<set>/
{RF,SVM}_ECFP.yml``, MoleculeACE 3.0.0); they are read from the installed package and recorded in
the result. As in MoleculeACE, the peers fit on every training row (they need no validation rows).

Scores on the test rows: RMSE, and the RMSE on the test molecules MoleculeACE flags as activity-cliff
compounds (the files' ``cliff_mol`` column; ``chemtl.evaluate.cliffs`` implements the definition and
reproduces that column). The 30-set means stand beside the published ones (MoleculeACE's
``MoleculeACE_results.csv``).

Writes ``results/moleculeace.json`` and regenerates ``docs/BENCHMARKS.md``. Every run directory lives
under ``--work-dir``; a finished chemtl, RF or SVM run whose configuration and rows are unchanged is
reused when the script runs again (``--fresh`` retrains), so the protocol can be run a few sets at a
time with ``--datasets`` and then whole, which then only collects.

    chemtl benchmark moleculeace                                  # the full protocol
    chemtl benchmark moleculeace --model none                     # the peers only (minutes)
    chemtl benchmark moleculeace --datasets CHEMBL2835_Ki,CHEMBL4203_Ki
    chemtl benchmark moleculeace --quick --model DIR              # smoke: one set, 100 rows, 2 epochs
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from ledger import Ledger, add_ledger_arg, keep_peer, summary_note, take_peer  # noqa: E402

NAME = "moleculeace"
DEFAULT_MODEL = "smiles-small"
VAL_FRAC = 0.1
ECFP_RADIUS, ECFP_BITS = 2, 1024
METHODS = ("chemtl", "rf", "svm", "blend")
PEERS = ("rf", "svm")
QUICK = {"datasets": "CHEMBL4616_EC50", "size_cap": 100, "epochs": 2, "rf_trees": 20}
CONFIG_DIR = ("Data", "configures", "benchmark")
# Published test RMSE and cliff RMSE per set (MoleculeACE's Data/results/MoleculeACE_results.csv,
# github.com/molML/MoleculeACE at 45cf46d, 2023-09-29): RF-ECFP rmse, cliff rmse, SVM-ECFP rmse, cliff rmse.
PUBLISHED = {
    "CHEMBL1862_Ki": (0.805116822, 0.685948816, 0.773564898, 0.673929079),
    "CHEMBL1871_Ki": (0.659959722, 0.906362031, 0.664930823, 0.873355961),
    "CHEMBL2034_Ki": (0.726912284, 0.851792909, 0.673741686, 0.812857718),
    "CHEMBL2047_EC50": (0.627521378, 0.664613409, 0.613573775, 0.687410644),
    "CHEMBL204_Ki": (0.762779484, 0.898835255, 0.723130877, 0.858812643),
    "CHEMBL2147_Ki": (0.661555456, 0.676338461, 0.576209377, 0.579571862),
    "CHEMBL214_Ki": (0.700288672, 0.801005647, 0.634460505, 0.723824686),
    "CHEMBL218_EC50": (0.705521262, 0.759604791, 0.718980493, 0.761411878),
    "CHEMBL219_Ki": (0.722727893, 0.765048756, 0.709612418, 0.788280697),
    "CHEMBL228_Ki": (0.709291581, 0.77331132, 0.662074031, 0.675925248),
    "CHEMBL231_Ki": (0.821545553, 0.907421698, 0.750317748, 0.932241785),
    "CHEMBL233_Ki": (0.800727607, 0.879608004, 0.774225753, 0.85906693),
    "CHEMBL234_Ki": (0.659977415, 0.682872064, 0.621661924, 0.631824199),
    "CHEMBL235_EC50": (0.638487887, 0.764435049, 0.639691197, 0.774266808),
    "CHEMBL236_Ki": (0.710813146, 0.792146595, 0.69807971, 0.797765875),
    "CHEMBL237_EC50": (0.762012581, 0.792682203, 0.720032983, 0.781575963),
    "CHEMBL237_Ki": (0.728834872, 0.799491535, 0.677140738, 0.735015207),
    "CHEMBL238_Ki": (0.624723728, 0.656210103, 0.610063233, 0.680838147),
    "CHEMBL239_EC50": (0.688953097, 0.824836021, 0.677620628, 0.819104405),
    "CHEMBL244_Ki": (0.740716914, 0.823140353, 0.715156602, 0.796601426),
    "CHEMBL262_Ki": (0.721200696, 0.77493695, 0.723561157, 0.655612464),
    "CHEMBL264_Ki": (0.658634653, 0.741808903, 0.614966561, 0.67408044),
    "CHEMBL2835_Ki": (0.387563669, 0.802061697, 0.419799387, 0.742676765),
    "CHEMBL287_Ki": (0.77577106, 0.891088914, 0.714210746, 0.811548584),
    "CHEMBL2971_Ki": (0.629729891, 0.642780163, 0.605035062, 0.65899881),
    "CHEMBL3979_EC50": (0.64968465, 0.707811812, 0.629475403, 0.67371024),
    "CHEMBL4005_Ki": (0.647536047, 0.732088835, 0.64615184, 0.741545957),
    "CHEMBL4203_Ki": (0.881606659, 1.08090246, 0.879794104, 1.001432611),
    "CHEMBL4616_EC50": (0.68160373, 0.769546049, 0.635267778, 0.692430037),
    "CHEMBL4792_Ki": (0.708628773, 0.721142262, 0.633394998, 0.638141045),
}
# The 30-set means of MoleculeACE_results.csv, (test RMSE, cliff RMSE); quoted, not rerun.
PUBLISHED_MEANS = (
    ("SVM-ECFP", 0.671, 0.751),
    ("GBM-ECFP", 0.695, 0.783),
    ("RF-ECFP", 0.700, 0.786),
    ("LSTM-SMILES", 0.742, 0.871),
    ("Transformer (SMILES tokens)", 0.896, 0.970),
)
LABELS = {"rf": "RF-ECFP", "svm": "SVM-ECFP"}
BLEND_LABEL = "chemtl + SVM-ECFP blend (weight on validation rows)"


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog="chemtl benchmark moleculeace",
        description="chemtl vs RF-ECFP vs SVM-ECFP on the 30 MoleculeACE sets (their own splits): "
        "test RMSE and RMSE on activity-cliff compounds, the published means beside.",
    )
    common.add_common_args(p)
    p.add_argument(
        "--datasets",
        default=None,
        metavar="LIST",
        help="MoleculeACE sets, e.g. CHEMBL2835_Ki,CHEMBL4203_Ki (default all 30)",
    )
    p.add_argument(
        "--seeds",
        default=None,
        metavar="LIST",
        help="seeds: chemtl's validation rows and training seed, the RandomForest's seed (default 0; "
        "the split is MoleculeACE's, the same for every seed)",
    )
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME|DIR",
        help=f"the chemtl model to fine-tune (default {DEFAULT_MODEL}); 'none' runs the peers only",
    )
    p.add_argument(
        "--features",
        choices=("none", "morgan", "rdkit"),
        default="none",
        help="chemtl's hybrid-head features beside the pooled embedding (default none): Morgan bits or "
        "RDKit descriptors, as `chemtl finetune --features`",
    )
    p.add_argument(
        "--size-cap",
        type=int,
        default=None,
        metavar="N",
        help="use N rows of each set (seeded, the same for every seed; their shipped sides kept; smoke)",
    )
    p.add_argument("--epochs", type=int, default=None, help="most epochs per chemtl run (default 40)")
    p.add_argument(
        "--patience", type=int, default=8, help="chemtl early stopping patience (0: off; default 8)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="chemtl batch size (default 32)")
    p.add_argument("--lr", type=float, default=1e-4, help="chemtl encoder learning rate (default 1e-4)")
    p.add_argument("--head-lr", type=float, default=1e-3, help="chemtl head learning rate (default 1e-3)")
    p.add_argument("--lr-decay", type=float, default=1.0, help="layer-wise lr decay (default 1.0: none)")
    p.add_argument("--scheduler", choices=("constant", "linear", "cosine"), default="constant")
    common.add_recipe_arg(p)
    p.add_argument(
        "--rf-trees",
        type=int,
        default=None,
        help="RandomForest trees for every set (default: MoleculeACE's tuned number for each set)",
    )
    p.add_argument("--rf-jobs", type=int, default=2, help="RandomForest n_jobs (default 2)")
    p.add_argument(
        "--blend",
        choices=("svm", "none"),
        default="svm",
        help="also score chemtl blended with an SVM-ECFP fitted on chemtl's training rows, the weight "
        "chosen on its validation rows (default svm; none: no blend)",
    )
    p.add_argument(
        "--cliff-check",
        choices=("on", "off"),
        default=None,
        help="recompute each set's cliff labels with chemtl.evaluate.cliffs and count the molecules "
        "where they differ from the shipped cliff_mol column (default on; off for --quick)",
    )
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="DIR",
        help="split files and run directories (default build/benchmarks/moleculeace[-quick])",
    )
    p.add_argument("--fresh", action="store_true", help="retrain every run even where a finished one exists")
    add_ledger_arg(p)
    return p


# ----------------------------------------------------------------------------------------------
# sets, rows, splits, MoleculeACE's hyperparameters


def all_sets() -> list[str]:
    """The 30 set names (``CHEMBL1862_Ki``, ...), sorted."""
    from chemtl.data.registry import family_members

    return sorted(n.removeprefix("moleculeace_") for n in family_members("moleculeace"))


def parse_sets(text: str) -> list[str]:
    """``--datasets``: set names with or without the ``moleculeace_`` prefix, any case."""
    from chemtl.errors import ChemtlError

    known = {s.lower(): s for s in all_sets()}
    items = [t.strip() for t in text.split(",") if t.strip()]
    out = []
    for item in items:
        name = known.get(item.lower().removeprefix("moleculeace_"))
        if name is None:
            raise ChemtlError(
                f"--datasets {item!r}: not a MoleculeACE set (chemtl datasets list --family moleculeace)"
            )
        if name in out:
            raise ChemtlError(f"--datasets {item!r}: given twice")
        out.append(name)
    if not out:
        raise ChemtlError(f"--datasets {text!r}: name at least one MoleculeACE set")
    return out


def capped_rows(n: int, cap: int | None, name: str) -> np.ndarray:
    """All rows, or ``cap`` of them drawn with the set's name (sorted; the same for every seed)."""
    from chemtl.evaluate.compare import seeded_subset

    return seeded_subset(np.arange(n), cap, 0, "bench-moleculeace-cap", name)


def make_split(sub_ds, name: str, seed: int):
    """The shipped train/test sides, ``VAL_FRAC`` of the training rows drawn with ``seed`` as
    validation rows (``chemtl.pipelines.finetune.resolve_split``)."""
    from chemtl.pipelines.finetune import resolve_split
    from chemtl.training.config import DataConfig

    data = DataConfig(dataset=f"moleculeace_{name}", split="shipped", val_frac=VAL_FRAC, split_seed=seed)
    return resolve_split(sub_ds, data)


def moleculeace_config(name: str, model: str) -> dict[str, Any]:
    """MoleculeACE's tuned hyperparameters of ``model`` (RF_ECFP, SVM_ECFP) for set ``name``, from
    the installed package's ``Data/configures/benchmark/<name>/<model>.yml`` (read, not imported:
    importing MoleculeACE needs its deep-learning dependencies)."""
    import yaml

    from chemtl.data.registry import package_dir
    from chemtl.errors import ChemtlError

    path = package_dir("MoleculeACE").joinpath(*CONFIG_DIR, name, f"{model}.yml")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChemtlError(f"cannot read MoleculeACE's {model} settings for {name} ({path}): {exc}") from None
    if not isinstance(params, dict):
        raise ChemtlError(f"{path}: not a table of hyperparameters")
    params.pop("epochs", None)  # as MoleculeACE's benchmark script
    return params


# ----------------------------------------------------------------------------------------------
# runs


def _data_record(sub_ds, split) -> dict[str, str]:
    """Hashes of the rows a run saw: the split's indices, the inputs and the targets."""
    from chemtl.data.files import sha256_strings
    from chemtl.training.manifest import indices_sha256

    return {
        "split_sha256": indices_sha256(split.train, split.val, split.test),
        "inputs_sha256": sha256_strings(sub_ds.inputs),
        "targets_sha256": sha256_strings(
            [repr(float(t)) for t in np.asarray(sub_ds.targets, dtype=np.float64)]
        ),
    }


def _same_config(stamp: dict[str, Any], record: dict[str, Any]) -> bool:
    from chemtl.evaluate.compare import hash_json

    return hash_json(stamp.get("config")) == hash_json(json.loads(json.dumps(record)))


def _scores(y: np.ndarray, preds: np.ndarray, cliff: np.ndarray) -> dict[str, Any]:
    from chemtl.evaluate.cliffs import cliff_rmse
    from chemtl.evaluate.metrics import regression_metrics

    score = regression_metrics(y, preds)
    return {
        "rmse": score["rmse"],
        "cliff_rmse": cliff_rmse(y, preds, cliff),
        "mae": score["mae"],
        "r2": score["r2"],
    }


def _cliff_check(ds) -> int:
    """How many molecules of the whole set ``chemtl.evaluate.cliffs`` labels otherwise than the
    shipped ``cliff_mol`` column (MoleculeACE labelled cliffs on train and test together)."""
    from chemtl.evaluate.cliffs import cliff_molecules

    got = cliff_molecules(ds.inputs, ds.extra["exp_mean [nM]"])
    return int((got != (np.asarray(ds.extra["cliff_mol"], dtype=np.int64) == 1)).sum())


def run_peer(
    method: str,
    params: dict[str, Any],
    sub_ds,
    split,
    cliff: np.ndarray,
    features,
    run_dir: Path,
    fresh,
    log,
    ledger: Ledger | None = None,
    ledger_run: str | None = None,
) -> dict[str, Any]:
    """RF or SVM on the ECFP bits of every training row (train and validation), scored on the test
    rows; or the finished run recorded in ``run_dir`` or in ``ledger`` (``ledger_run``), scored
    again from its kept predictions."""
    import importlib.metadata

    from chemtl.atomic import write_json

    y = np.asarray(sub_ds.targets, dtype=np.float64)
    fit_rows = np.sort(np.concatenate([split.train, split.val]))
    record = {
        "method": method,
        "params": params,
        "radius": ECFP_RADIUS,
        "n_bits": ECFP_BITS,
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        "rdkit": importlib.metadata.version("rdkit"),
        **_data_record(sub_ds, split),
    }
    stamp_file = run_dir / "bench_run.json"
    if not fresh and stamp_file.is_file():
        stamp = json.loads(stamp_file.read_text(encoding="utf-8"))
        kept = stamp.get("test_predictions")
        if _same_config(stamp, record) and isinstance(kept, list) and len(kept) == len(split.test):
            log(f"    {LABELS[method]}: reused finished run in {run_dir}")
            preds = np.asarray(kept, dtype=np.float64)
            keep_peer(ledger, ledger_run, record, stamp["summary"], split.test, preds, stamp_file)
            return {
                **stamp["summary"],
                **_scores(y[split.test], preds, cliff),
                "reused": True,
                "ledger": None,
            }
    score = lambda preds: _scores(y[split.test], preds, cliff)  # noqa: E731
    taken = None if fresh else take_peer(ledger, ledger_run, record, split.test, score)
    if taken is not None:
        log(f"    {LABELS[method]}: taken from the ledger ({ledger_run}, measured {taken['ledger']['at']})")
        return taken
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.svm import SVR

    start = time.perf_counter()
    x = features()
    model = RandomForestRegressor(**params) if method == "rf" else SVR(**params)
    model.fit(x[fit_rows], y[fit_rows])
    preds = model.predict(x[split.test])
    wall = time.perf_counter() - start
    summary = {
        **_scores(y[split.test], preds, cliff),
        "wall_seconds": round(wall, 2),
        "n_train": int(len(fit_rows)),
        "n_test": int(len(split.test)),
        "params": params,
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        stamp_file,
        {
            "config": record,
            "summary": summary,
            "test_rows": [int(i) for i in split.test],
            "test_predictions": [float(v) for v in preds],
        },
    )
    keep_peer(ledger, ledger_run, record, summary, split.test, preds)
    return {**summary, "reused": False, "ledger": None}


def run_blend(
    params: dict[str, Any],
    sub_ds,
    split,
    cliff: np.ndarray,
    features,
    chemtl_preds: dict[str, np.ndarray],
) -> dict[str, Any]:
    """chemtl's predictions blended with an SVR (``params``, MoleculeACE's SVM-ECFP settings)
    fitted on chemtl's training rows only (its validation rows held out, as chemtl's were), the
    weight chosen on those validation rows by ``chemtl.evaluate.blend.choose_weight``, scored on the
    test rows. A deterministic fit of a second or so: computed again on every run, not kept."""
    from sklearn.svm import SVR

    from chemtl.evaluate.blend import blend, choose_weight

    start = time.perf_counter()
    y = np.asarray(sub_ds.targets, dtype=np.float64)
    x = features()
    svm = SVR(**params).fit(x[split.train], y[split.train])
    svm_val, svm_test = svm.predict(x[split.val]), svm.predict(x[split.test])
    weight, val_rmse = choose_weight(y[split.val], chemtl_preds["val"], svm_val)
    preds = blend(chemtl_preds["test"], svm_test, weight)
    return {
        **_scores(y[split.test], preds, cliff),
        "weight": weight,
        "val_rmse": val_rmse[weight],
        "val_rmse_by_weight": {f"{w:.1f}": round(v, 6) for w, v in val_rmse.items()},
        "svm_train_rows_rmse": _scores(y[split.test], svm_test, cliff)["rmse"],
        "wall_seconds": round(time.perf_counter() - start, 2),
        "n_train": int(len(split.train)),
        "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "reused": False,
        "ledger": None,
    }


def run_chemtl(
    model: str,
    model_sha256: str,
    name: str,
    sub_ds,
    split,
    split_path: Path,
    cliff: np.ndarray,
    train_cfg,
    run_dir: Path,
    fresh,
    log,
    ledger: Ledger | None = None,
    ledger_run: str | None = None,
    augment: str = "none",
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One fine-tuning run (or the finished one in ``run_dir``), scored from its predictions.csv;
    or its record in ``ledger``, scored from the test predictions it kept. ``augment``: the
    training-batch augmentation (``DataConfig.augment``). Returns its predictions on the
    validation and test rows (``{"val", "test"}``) and its scores."""
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.compare import strategy_config
    from chemtl.training.config import DataConfig

    dataset = f"moleculeace_{name}"
    data = DataConfig(dataset=dataset, split_file=str(split_path), split=split.method, augment=augment)
    done = common.finetune_pinned(
        model,
        model_sha256,
        dataset,
        sub_ds,
        data,
        _data_record(sub_ds, split),
        train_cfg,
        strategy_config("full", None),
        run_dir,
        fresh,
        NAME,
        ledger=ledger,
        ledger_run=ledger_run,
    )
    if done.status == "recorded":
        log(f"    chemtl: taken from the ledger ({ledger_run}, measured {done.stamp['ledger']['at']})")
        kept, where = done.stamp["predictions"], f"the ledger record {ledger_run}"
    else:
        if done.reused:
            log(f"    chemtl: reused finished run in {run_dir}")
        kept, where = common.kept_predictions(run_dir, ("val", "test")), str(run_dir / "predictions.csv")
    test = kept.get("test") or {"rows": [], "predictions": []}
    rows, preds = test["rows"], np.asarray(test["predictions"], dtype=np.float64)
    if rows != [int(i) for i in split.test]:
        raise ChemtlError(f"{where}: its test rows are not the split's")
    val = kept.get("val") or {"rows": [], "predictions": []}
    if val["rows"] != [int(i) for i in split.val]:
        raise ChemtlError(f"{where}: its validation rows are not the split's")
    y = np.asarray(sub_ds.targets, dtype=np.float64)[split.test]
    metrics = done.metrics
    predictions = {
        "val": np.asarray(val["predictions"], dtype=np.float64),
        "test": preds,
    }
    return predictions, {
        **_scores(y, preds, cliff),
        "val_rmse": (metrics.get("val") or {}).get("rmse"),
        "wall_seconds": round(float(done.stamp.get("wall_seconds") or 0.0), 2),
        "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics.get("best_epoch"),
        "stopped_early": metrics.get("stopped_early"),
        "n_train": metrics.get("n_train"),
        "n_val": metrics.get("n_val"),
        "n_test": metrics.get("n_test"),
        "reused": done.reused,
        "ledger": done.stamp.get("ledger"),
    }


# ----------------------------------------------------------------------------------------------
# summary


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return float(np.mean(got)) if got else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)
    sets = parse_sets(args.datasets) if args.datasets else all_sets()
    if args.cliff_check is None:
        args.cliff_check = "off" if args.quick else "on"
    seeds = list(common.seeds_arg(args.seeds or "0"))
    args.epochs_given = args.epochs is not None
    args.epochs = args.epochs if args.epochs is not None else 40
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    from chemtl.data import load_dataset
    from chemtl.data.splits import save_split
    from chemtl.errors import ChemtlError
    from chemtl.pretrained import resolve_model_dir

    if args.size_cap is not None and args.size_cap < 40:
        raise ChemtlError(f"--size-cap {args.size_cap}: use at least 40 rows")
    if args.epochs < 1:
        raise ChemtlError(f"--epochs {args.epochs}: use at least 1")
    if args.rf_trees is not None and args.rf_trees < 1:
        raise ChemtlError(f"--rf-trees {args.rf_trees}: use at least 1")
    args.recipe = common.parse_recipe(args.recipe)  # an unknown name fails here, before any run

    notes: list[str] = []
    kept = Ledger.from_args(args, NAME, common.results_dir(args.results_dir))
    model, model_sha256 = common.smiles_model(args.model, DEFAULT_MODEL, notes, log)
    train_cfg = (
        None
        if model is None
        else common.recipe_config(args, common.finetune_config(args, features=args.features), args.recipe)
    )
    augment = common.chemtl_augment(args, args.recipe)
    run_name = None if model is None else common.chemtl_dir_name(model, args.features, args.recipe)

    from chemtl.evaluate.baselines import morgan_features

    ran = {
        "chemtl": model is not None,
        "rf": True,
        "svm": True,
        "blend": model is not None and args.blend == "svm",
    }
    labels = {
        "blend": BLEND_LABEL,
        "chemtl": f"chemtl {Path(model).name if model else '-'} / full"
        + ("" if args.features == "none" else f" + {args.features} features")
        + ("" if args.recipe is None else f", recipe {args.recipe}"),
        **LABELS,
    }
    runs: list[dict[str, Any]] = []
    set_info: dict[str, Any] = {}
    for name in sets:
        ds = load_dataset(f"moleculeace_{name}")
        rows = capped_rows(len(ds), args.size_cap, name)
        sub_ds = ds if len(rows) == len(ds) else ds.subset(rows)
        cliff_all = np.asarray(sub_ds.extra["cliff_mol"], dtype=np.int64) == 1
        params = {
            "rf": moleculeace_config(name, "RF_ECFP"),
            "svm": moleculeace_config(name, "SVM_ECFP"),
        }
        if args.rf_trees is not None:
            params["rf"]["n_estimators"] = args.rf_trees
        cache: dict[str, np.ndarray] = {}

        def features(sub_ds=sub_ds, cache=cache) -> np.ndarray:
            if "x" not in cache:
                cache["x"] = morgan_features(sub_ds.inputs, ECFP_RADIUS, ECFP_BITS)
            return cache["x"]

        set_info[name] = {
            "rows": int(len(ds)),
            "rows_used": int(len(rows)),
            "sha256": ds.info.get("sha256"),
            "units": ds.info.get("units"),
            "cliff_molecules": int(cliff_all.sum()),
            "cliff_labels_differing": _cliff_check(ds) if args.cliff_check == "on" else None,
            "moleculeace_params": {"RF_ECFP": params["rf"], "SVM_ECFP": params["svm"]},
            "source": f"{ds.info.get('package')}=={ds.info.get('version')}",
        }
        for seed in seeds:
            split = make_split(sub_ds, name, seed)
            cliff = cliff_all[split.test]
            tag = f"seed{seed}" + (f"_cap{args.size_cap}" if args.size_cap else "")
            base = work / name / tag
            split_path = save_split(split, base / "split.json", inputs=sub_ds.inputs)
            sizes = split.sizes
            log(
                f"{name} seed {seed}: train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}, "
                f"{int(cliff.sum())} test cliff compounds"
            )
            run: dict[str, Any] = {
                "dataset": name,
                "seed": seed,
                "sizes": sizes,
                "test_cliffs": int(cliff.sum()),
                "indices_sha256": _data_record(sub_ds, split)["split_sha256"],
                "split_file": str(split_path),
                "methods": {},
            }
            if model is not None:
                chemtl_preds, out = run_chemtl(
                    model,
                    model_sha256,
                    name,
                    sub_ds,
                    split,
                    split_path,
                    cliff,
                    dataclasses.replace(train_cfg, seed=seed),
                    base / run_name,
                    args.fresh,
                    log,
                    ledger=kept,
                    ledger_run=f"{name}/{tag}/{run_name}",
                    augment=augment,
                )
                run["methods"]["chemtl"] = out
                log(
                    f"    chemtl: RMSE {out['rmse']:.4f}, cliff RMSE {_fmt(out['cliff_rmse'])} "
                    f"({out['wall_seconds']:.0f} s, {out['epochs_run']} epochs)"
                )
            rf_params = {**params["rf"], "random_state": seed, "n_jobs": args.rf_jobs}
            for method, p in (("rf", rf_params), ("svm", params["svm"])):
                out = run_peer(
                    method,
                    p,
                    sub_ds,
                    split,
                    cliff,
                    features,
                    base / method,
                    args.fresh,
                    log,
                    ledger=kept,
                    ledger_run=f"{name}/{tag}/{method}",
                )
                run["methods"][method] = out
                log(
                    f"    {LABELS[method]}: RMSE {out['rmse']:.4f}, cliff RMSE {_fmt(out['cliff_rmse'])} "
                    f"({out['wall_seconds']:.1f} s)"
                )
            if ran["blend"]:
                out = run_blend(params["svm"], sub_ds, split, cliff, features, chemtl_preds)
                run["methods"]["blend"] = out
                log(
                    f"    blend: weight {out['weight']:.1f} on chemtl (val RMSE {out['val_rmse']:.4f}), RMSE "
                    f"{out['rmse']:.4f}, cliff RMSE {_fmt(out['cliff_rmse'])} ({out['wall_seconds']:.1f} s)"
                )
            runs.append(run)

    # ---- per set (mean over seeds), then the means over the sets
    summary: dict[str, Any] = {}
    for name in sets:
        mine = [r for r in runs if r["dataset"] == name]
        entry: dict[str, Any] = {"seeds": [r["seed"] for r in mine], "test_cliffs": mine[0]["test_cliffs"]}
        for m in METHODS:
            got = [r["methods"][m] for r in mine if m in r["methods"]]
            entry[m] = (
                {
                    "rmse": _mean([g["rmse"] for g in got]),
                    "cliff_rmse": _mean([g["cliff_rmse"] for g in got]),
                }
                if got
                else None
            )
        entry["blend_weights"] = [r["methods"]["blend"]["weight"] for r in mine if "blend" in r["methods"]]
        pub = PUBLISHED.get(name)
        entry["published"] = {
            "rf": {"rmse": pub[0], "cliff_rmse": pub[1]},
            "svm": {"rmse": pub[2], "cliff_rmse": pub[3]},
        }
        summary[name] = entry
    means: dict[str, Any] = {}
    for m in METHODS:
        if not ran[m]:
            means[m] = None
            continue
        means[m] = {k: _mean([summary[s][m][k] for s in sets]) for k in ("rmse", "cliff_rmse")}
    published_means = {
        m: {k: _mean([summary[s]["published"][m][k] for s in sets]) for k in ("rmse", "cliff_rmse")}
        for m in ("rf", "svm")
    }
    no_cliffs = [s for s in sets if summary[s]["test_cliffs"] == 0]
    full_protocol = set(sets) == set(all_sets()) and args.size_cap is None and args.rf_trees is None

    chemtl_mean = means["chemtl"]["rmse"] if means["chemtl"] else None
    targets_out = []
    for m in ("rf", "svm"):
        t = common.target(
            f"chemtl mean test RMSE over the {len(sets)} sets at or below {LABELS[m]}'s (same run)",
            chemtl_mean,
            means[m]["rmse"],
            "<=",
        )
        t["value"], t["target"] = common.rounded(chemtl_mean), common.rounded(means[m]["rmse"])
        if chemtl_mean is not None:
            t["note"] = f"chemtl / {LABELS[m]} {chemtl_mean / means[m]['rmse']:.3f}"
        else:
            t["note"] = "chemtl was not run"
        if not full_protocol:
            common.withhold(t, "not the full protocol (sets, size cap or --rf-trees)")
        targets_out.append(t)
    if ran["blend"]:
        blend_mean, svm_mean = means["blend"]["rmse"], means["svm"]["rmse"]
        t = common.target(
            f"blend mean test RMSE over the {len(sets)} sets at or below its control SVM-ECFP's (same run)",
            blend_mean,
            svm_mean,
            "<=",
        )
        t["value"], t["target"] = common.rounded(blend_mean), common.rounded(svm_mean)
        t["note"] = (
            f"blend / SVM-ECFP {blend_mean / svm_mean:.3f}; blend / RF-ECFP "
            f"{blend_mean / means['rf']['rmse']:.3f}; blend / chemtl {blend_mean / chemtl_mean:.3f}"
        )
        if not full_protocol:
            common.withhold(t, "not the full protocol (sets, size cap or --rf-trees)")
        targets_out.append(t)

    # ---- tables
    shown = [m for m in METHODS if ran[m]]
    cols = [labels[m] for m in shown]
    seeds_text = ",".join(map(str, seeds))
    mean_rows = []
    for m in shown:
        pub = published_means.get(m)
        mean_rows.append(
            [
                labels[m],
                _fmt(means[m]["rmse"]),
                _fmt(means[m]["cliff_rmse"]),
                _fmt(pub["rmse"]) if pub else "-",
                _fmt(pub["cliff_rmse"]) if pub else "-",
            ]
        )
    rmse_rows, cliff_rows = [], []
    for name in sets:
        e = summary[name]
        r0 = next(r for r in runs if r["dataset"] == name)
        sizes = f"{r0['sizes']['train']}/{r0['sizes']['val']}/{r0['sizes']['test']}"
        rp = set_info[name]["moleculeace_params"]
        rmse_rows.append(
            [name, sizes]
            + [_fmt(e[m]["rmse"]) for m in shown]
            + [_fmt(e["published"]["rf"]["rmse"]), _fmt(e["published"]["svm"]["rmse"])]
            + [f"{rp['RF_ECFP'].get('n_estimators')} / {rp['SVM_ECFP'].get('C')}"]
            + ([" / ".join(f"{w:.1f}" for w in e["blend_weights"])] if ran["blend"] else [])
        )
        cliff_rows.append(
            [name, e["test_cliffs"]]
            + [_fmt(e[m]["cliff_rmse"]) for m in shown]
            + [_fmt(e["published"]["rf"]["cliff_rmse"]), _fmt(e["published"]["svm"]["cliff_rmse"])]
        )
    tables = [
        {
            "title": f"Mean over the {len(sets)} sets (seeds {seeds_text})",
            "columns": ["method", "test RMSE", "cliff RMSE", "published RMSE", "published cliff RMSE"],
            "rows": mean_rows,
            "note": "Every method ran in this script on each set's shipped split. Published: MoleculeACE's "
            "own RF-ECFP and SVM-ECFP results over the same sets (MoleculeACE_results.csv). Targets: chemtl's "
            "mean test RMSE at or below RF-ECFP's, then SVM-ECFP's, of this run.",
        },
        {
            "title": "Test RMSE per set",
            "columns": ["set", "train/val/test", *cols, "RF-ECFP published", "SVM-ECFP published"]
            + ["RF trees / SVM C"]
            + (["blend weight on chemtl"] if ran["blend"] else []),
            "rows": rmse_rows,
            "note": "train/val/test: chemtl's rows (the peers fit on train and val together). RF trees / "
            "SVM C: MoleculeACE's tuned values for the set."
            + (
                " Blend weight: the w of w * chemtl + (1 - w) * SVM chosen on chemtl's validation rows "
                "(per seed)."
                if ran["blend"]
                else ""
            ),
        },
        {
            "title": "RMSE on the test activity-cliff compounds per set",
            "columns": ["set", "test cliffs", *cols, "RF-ECFP published", "SVM-ECFP published"],
            "rows": cliff_rows,
            "note": "Cliff compounds: MoleculeACE's cliff_mol column (a molecule with a partner in the set "
            "that is similar, ECFP4 / generic-graph / SMILES Levenshtein similarity >= 0.9, and more than "
            "10 times apart in potency).",
        },
    ]

    if not full_protocol:
        notes.append(
            "Not the full protocol (a subset of the 30 sets, --size-cap or --rf-trees): a smoke test only."
        )
    checked = {s: set_info[s]["cliff_labels_differing"] for s in sets}
    if all(v is not None for v in checked.values()):
        differ = {s: v for s, v in checked.items() if v}
        total = sum(set_info[s]["rows"] for s in sets)
        notes.append(
            f"Cliff labels recomputed with chemtl.evaluate.cliffs on every set: {total - sum(differ.values())} "
            f"of {total} molecules agree with the shipped cliff_mol column"
            + (" (differing: " + ", ".join(f"{s} {v}" for s, v in differ.items()) + ")." if differ else ".")
        )
    if no_cliffs:
        notes.append(f"No test cliff compounds (left out of the cliff means): {', '.join(no_cliffs)}.")
    if ran["rf"] and ran["svm"]:
        notes.append(
            f"Faithfulness of the peers: RF-ECFP mean test RMSE {_fmt(means['rf']['rmse'])} here vs "
            f"{_fmt(published_means['rf']['rmse'])} published, cliff {_fmt(means['rf']['cliff_rmse'])} vs "
            f"{_fmt(published_means['rf']['cliff_rmse'])}; SVM-ECFP {_fmt(means['svm']['rmse'])} vs "
            f"{_fmt(published_means['svm']['rmse'])}, cliff {_fmt(means['svm']['cliff_rmse'])} vs "
            f"{_fmt(published_means['svm']['cliff_rmse'])} (same sets)."
        )
    notes += [
        "Split: each set's shipped train/test split (MoleculeACE 3.0.0's 'split' column: spectral clustering "
        "on ECFP Tanimoto, 80/20 within each cluster, stratified on cliffs). chemtl's validation rows are "
        f"{VAL_FRAC:.0%} of the training rows drawn with the seed; no test row is seen before scoring.",
        "Target: the files' y = -log10(Ki or EC50 / nM), i.e. pKi / pEC50 - 9; RMSE is the same on both.",
        f"chemtl: {labels['chemtl']}, strategy full, early stopping on the validation rows (patience "
        f"{train_cfg.patience or 'off'}), best weights restored; targets standardised on the training rows."
        + (
            ""
            if args.recipe is None
            else f" Every chemtl run with the fine-tuning {common.recipe_text(args, args.recipe)}, instead "
            "of the training flags."
        )
        if ran["chemtl"]
        else "chemtl: not run.",
        f"RF-ECFP: sklearn RandomForestRegressor(n_estimators=MoleculeACE's per set, random_state=seed, "
        f"n_jobs={args.rf_jobs}), SVM-ECFP: sklearn SVR(kernel, C, gamma, epsilon = MoleculeACE's per set: rbf, "
        "C 10 on 27 sets, gamma 0.01, epsilon 0.1), both on RDKit Morgan bits (radius 2, 1024 bits) of every "
        "training row. MoleculeACE's SVM is an RBF-kernel SVR on the bits, not a Tanimoto-kernel one.",
    ]
    if ran["blend"]:
        notes.append(
            f"{BLEND_LABEL}: w * chemtl + (1 - w) * SVR, the SVR with SVM-ECFP's settings but fitted on "
            "chemtl's training rows only (90% of the shipped training rows; SVM-ECFP itself fits on all of "
            "them), w in 0, 0.1, ..., 1 with the lowest RMSE on chemtl's validation rows (ties: the larger w; "
            "chemtl.evaluate.blend). Its control is SVM-ECFP alone; the targets above on chemtl are chemtl's "
            "alone, not the blend's."
        )
    if train_cfg is not None:
        notes.append(
            "chemtl training: "
            + ", ".join(
                f"{k}={v}" for k, v in train_cfg.to_dict().items() if k not in ("progress_bar", "seed")
            )
            + ", seed=the run's seed"
        )
    taken_note = summary_note([o for r in runs for o in r["methods"].values()], kept)
    if taken_note:
        notes.append(taken_note)
    from chemtl.training.manifest import versions as package_versions

    peer_versions = package_versions(("MoleculeACE", "rdkit", "scikit-learn", "torch"))
    wall_by_method = {
        m: round(sum(r["methods"][m]["wall_seconds"] for r in runs if m in r["methods"]), 2)
        for m in METHODS
        if ran[m]
    }
    if not all(math.isfinite(v) for v in wall_by_method.values()):
        raise RuntimeError("non-finite wall time")
    payload = {
        "title": "moleculeace (30 ChEMBL activity sets: chemtl vs RF-ECFP vs SVM-ECFP, cliff RMSE)",
        "measured": (
            f"Test RMSE and RMSE on activity-cliff compounds on {len(sets)} MoleculeACE set(s), each on its "
            "shipped train/test split: "
            + (f"chemtl fine-tuned from {model} (full), " if model else "no chemtl model, ")
            + "and MoleculeACE's RF-ECFP and SVM-ECFP with its tuned hyperparameters"
            + (
                ", and chemtl blended with an SVM-ECFP (the weight chosen on validation rows)"
                if ran["blend"]
                else ""
            )
            + ", all in this run on the same rows; MoleculeACE's published per-set and mean numbers beside."
        ),
        "split": f"MoleculeACE's shipped train/test split; chemtl validation {VAL_FRAC:.0%} of train (seeded)"
        + (f"; sets capped at {args.size_cap} rows" if args.size_cap else ""),
        "seed": seeds,
        "targets": targets_out,
        "tables": tables,
        "references": [
            {
                "name": f"{n}: mean test RMSE / cliff RMSE over the 30 sets",
                "value": f"{r:.3f} / {c:.3f}",
                "source": "van Tilborg et al., J. Chem. Inf. Model. 62, 5938 (2022), MoleculeACE_results.csv; "
                "quoted, not rerun",
            }
            for n, r, c in PUBLISHED_MEANS
        ],
        "notes": notes,
        "peer_versions": peer_versions,
        "data": {
            "sets": set_info,
            "seeds": seeds,
            "val_frac": VAL_FRAC,
            "full_protocol": full_protocol,
            "model": model,
            "model_dir": str(resolve_model_dir(model)) if model else None,
            "model_sha256": model_sha256,
            "methods": {m: {"label": labels[m], "run": ran[m]} for m in METHODS},
            "ecfp": {"radius": ECFP_RADIUS, "n_bits": ECFP_BITS},
            "rf_jobs": args.rf_jobs,
            "recipe": common.recipe_record(args, args.recipe),
            "rf_trees": args.rf_trees,
            "train_config": None if train_cfg is None else train_cfg.to_dict(),
            "summary": summary,
            "means": means,
            "published_means_same_sets": published_means,
            "runs": runs,
            "wall_seconds_by_method": wall_by_method,
            "size_cap": args.size_cap,
            "work_dir": str(work),
            "ledger": None if kept.root is None else str(kept.root),
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
