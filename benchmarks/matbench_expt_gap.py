"""Benchmark ``matbench_expt_gap``: chemtl against its peers on the Matbench 5-fold protocol.

Protocol (reproduces the public leaderboard): ``expt_gap.csv`` in file order,
``KFold(5, shuffle=True, random_state=18012019)`` (``chemtl.data.splits.matbench_folds``), the
mean test MAE over the five folds. Per fold, in this one script and on identical rows:

- a RandomForest on Magpie statistics (``chemtl.evaluate.baselines.MagpieRandomForest``:
  500 trees as in Matbench's baseline, ``n_jobs=2``, ``random_state=seed``), trained on the
  fold's whole training side;
- predict-the-mean (the mean training target);
- chemtl fine-tuning (``chemtl.pipelines.finetune.finetune``) from each model of ``--models`` with
  each strategy of ``--strategies``, plus ``scratch`` (the same architecture, re-initialised:
  what the pretraining buys); 10% of the training side (seeded) is carved off for early
  stopping, as ``chemtl finetune --split matbench`` does.

Writes ``results/matbench_expt_gap.json`` and regenerates ``docs/BENCHMARKS.md``. Each chemtl run
directory lives under ``--work-dir``; a finished run whose configuration is unchanged is reused
when the script runs again (``--fresh`` retrains), an interrupted one resumes from its checkpoint.

    python benchmarks/matbench_expt_gap.py                      # the full protocol
    python benchmarks/matbench_expt_gap.py --models none        # the peers only (RF, dummy)
    python benchmarks/matbench_expt_gap.py --quick --models DIR # smoke: fold 0, 200 rows, 1 epoch
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "matbench_expt_gap"
DATASET = "matbench_expt_gap"
N_FOLDS = 5
DEFAULT_MODELS = ("composition-small", "composition-small-mp")
TARGET_MAE = 0.33
TARGET_SECONDS = 3600.0
# The public Matbench leaderboard (composition-only task), eV; see /work/shared DESIGN.md section 3.
LEADERBOARD = (
    ("Darwin", 0.287, "Matbench leaderboard, matbench_expt_gap"),
    ("MODNet", 0.333, "Matbench leaderboard, matbench_expt_gap"),
    ("CrabNet", 0.346, "Matbench leaderboard (reruns 0.366)"),
    ("RF-Magpie (Matbench's)", 0.446, "Matbench leaderboard baseline"),
    ("Dummy (Matbench's)", 1.144, "Matbench leaderboard baseline"),
)
QUICK = {"folds": "0", "size_cap": 200, "epochs": 1, "rf_trees": 20}
# The peers reproduce the leaderboard when each of their mean test MAEs over the five folds lies
# within this many eV of the published one (the RF's n_jobs and feature table, and the published
# numbers' three decimals, leave a few meV between them; 0.01 eV is 2% of the RF's 0.446).
LEADERBOARD_TOLERANCE_EV = 0.01
PEERS = {"RF-Magpie (ours)": 0.446, "predict-the-mean (ours)": 1.144}


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog="chemtl benchmark matbench_expt_gap",
        description="chemtl vs RandomForest-on-Magpie vs predict-the-mean on the Matbench 5-fold protocol.",
    )
    common.add_common_args(p)
    p.add_argument("--folds", default=None, metavar="K[,K...]", help="folds to run (default 0,1,2,3,4)")
    p.add_argument(
        "--models",
        default=None,
        metavar="LIST",
        help="shipped model names or model directories, comma-separated; 'none' runs the peers only "
        f"(default: those of {', '.join(DEFAULT_MODELS)} that are shipped)",
    )
    p.add_argument(
        "--strategies", default="full", metavar="LIST", help="transfer strategies per model (default full)"
    )
    p.add_argument(
        "--no-scratch", action="store_true", help="skip the scratch control (same architecture, random init)"
    )
    p.add_argument(
        "--size-cap",
        type=int,
        default=None,
        metavar="N",
        help="train every method on N rows per fold (smoke)",
    )
    p.add_argument("--epochs", type=int, default=None, help="most epochs per chemtl run (default 15)")
    p.add_argument("--patience", type=int, default=4, help="early stopping patience (0: off; default 4)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4, help="encoder learning rate (default 1e-4)")
    p.add_argument("--head-lr", type=float, default=1e-3, help="head learning rate (default 1e-3)")
    p.add_argument("--lr-decay", type=float, default=1.0, help="layer-wise lr decay (default 1.0: none)")
    p.add_argument("--scheduler", choices=("constant", "linear", "cosine"), default="constant")
    p.add_argument("--trainable-layers", type=int, default=None, help="partial: top layers that train")
    p.add_argument(
        "--recipe",
        default=None,
        metavar="NAME",
        help="a named fine-tuning recipe (chemtl.training.recipes, e.g. converge) instead of the "
        "training flags above",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every method (default 0)")
    p.add_argument("--rf-trees", type=int, default=None, help="RandomForest trees (default 500, Matbench's)")
    p.add_argument("--rf-jobs", type=int, default=2, help="RandomForest n_jobs (default 2)")
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="DIR",
        help="chemtl run directories (default build/benchmarks/matbench_expt_gap[-quick])",
    )
    p.add_argument("--fresh", action="store_true", help="retrain chemtl runs even where finished ones exist")
    return p


# ----------------------------------------------------------------------------------------------
# rows


def _int_list(text: str) -> list[int]:
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.compare import parse_int_list

    folds = list(parse_int_list(text, "--folds"))
    if any(f >= N_FOLDS for f in folds):
        raise ChemtlError(f"--folds {text!r}: folds are 0 to {N_FOLDS - 1}, each at most once")
    return folds


def capped_train(train: np.ndarray, cap: int | None, seed: int, fold: int) -> np.ndarray:
    """The fold's training rows, or ``cap`` of them drawn with (seed, fold) (sorted)."""
    from chemtl.evaluate.compare import seeded_subset

    return seeded_subset(train, cap, seed, "bench-train-cap", fold)


def leaderboard_note(
    rf_mae: float | None, dummy_mae: float | None, full_protocol: bool
) -> tuple[str, bool | None]:
    """The note on the peers against the leaderboard, computed from the measured means: (text,
    reproduced). Reproduced: both within ``LEADERBOARD_TOLERANCE_EV`` of the published 0.446 and
    1.144 eV; None (no claim) off the full protocol."""
    if not full_protocol or rf_mae is None or dummy_mae is None:
        return "Not the full protocol (fold subset or --size-cap): the numbers are a smoke test only.", None
    measured = {"RF-Magpie (ours)": rf_mae, "predict-the-mean (ours)": dummy_mae}
    off = {name: abs(measured[name] - published) for name, published in PEERS.items()}
    ok = all(d <= LEADERBOARD_TOLERANCE_EV for d in off.values())
    detail = (
        f"RF-Magpie {rf_mae:.3f} eV here vs 0.446 published (off by {off['RF-Magpie (ours)']:.3f}), "
        f"predict-the-mean {dummy_mae:.3f} eV vs 1.144 (off by {off['predict-the-mean (ours)']:.3f})"
    )
    if ok:
        return f"Peers reproduce the leaderboard within {LEADERBOARD_TOLERANCE_EV} eV: {detail}.", True
    return (
        f"Peers do NOT reproduce the leaderboard within {LEADERBOARD_TOLERANCE_EV} eV: {detail}; "
        "check the protocol before trusting the comparison.",
        False,
    )


# ----------------------------------------------------------------------------------------------
# chemtl runs


def run_chemtl(
    model: str,
    model_sha256: str,
    strategy_name: str,
    fold: int,
    sub_ds,
    rows_sha256: str,
    split_path: Path,
    train_cfg,
    trainable_layers: int | None,
    run_dir: Path,
    fresh: bool,
    log,
    augment: str = "none",
) -> dict[str, Any]:
    """One fine-tuning run, or the finished one in ``run_dir`` when its key matches: the weights
    hash of the model (not its name), the rows, the data, training and strategy configs
    (``chemtl.evaluate.compare.reuse_or_train``). Its test metrics and cost."""
    from chemtl.evaluate.compare import strategy_config
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.training.config import DataConfig

    layers = None
    if strategy_name == "partial":
        layers = load_model_dir(model).config.num_hidden_layers
    strategy = strategy_config(strategy_name, layers, trainable_layers=trainable_layers)
    data = DataConfig(dataset=DATASET, split_file=str(split_path), split="matbench", augment=augment)
    done = common.finetune_pinned(
        model, model_sha256, DATASET, sub_ds, data, rows_sha256, train_cfg, strategy, run_dir, fresh, NAME
    )
    if done.reused:
        log(f"  {Path(model).name}/{strategy_name} fold {fold}: reused finished run in {run_dir}")
    return _run_summary(done.metrics, done.stamp["wall_seconds"], reused=done.reused)


def _run_summary(metrics: dict[str, Any], wall: float, reused: bool) -> dict[str, Any]:
    return {
        "mae": metrics["test"]["mae"],
        "rmse": metrics["test"]["rmse"],
        "r2": metrics["test"]["r2"],
        "val_mae": (metrics.get("val") or {}).get("mae"),
        "wall_seconds": round(wall, 2),
        "train_seconds": metrics.get("train_seconds"),
        "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics.get("best_epoch"),
        "stopped_early": metrics.get("stopped_early"),
        "peak_rss_mb": metrics.get("peak_rss_mb"),
        "trainable_params": metrics.get("trainable_params"),
        "total_params": metrics.get("total_params"),
        "n_train": metrics.get("n_train"),
        "n_val": metrics.get("n_val"),
        "n_test": metrics.get("n_test"),
        "reused": reused,
    }


# ----------------------------------------------------------------------------------------------
# the benchmark


def supervised_stage_notes(models: list[str]) -> list[str]:
    """One note per model that came out of a supervised stage (its ``metrics.json`` says
    ``supervised_pretrain``): its sources, rows, the rows it excluded and its validation MAE per
    source, read from the model's own files."""
    import json

    from chemtl.pretrained import resolve_model_dir

    out = []
    for m in models:
        path = Path(resolve_model_dir(m)) / "metrics.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("run") != "supervised_pretrain":
            continue
        excluded = (info.get("excluded") or {}).get("rows") or {}
        val = info.get("val") or {}
        out.append(
            f"{Path(m).name}: supervised stage on {', '.join(info.get('targets', []))} "
            f"({info.get('n_train')} training rows, {info.get('epochs_run')} epoch(s)); rows excluded as "
            "compounds of matbench_expt_gap: "
            + (", ".join(f"{k} {v}" for k, v in excluded.items()) or "none")
            + "; validation MAE "
            + ", ".join(f"{k} {v['mae']:.4f}" for k, v in val.items() if isinstance(v, dict) and "mae" in v)
            + "."
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)
    folds = _int_list(args.folds or ",".join(map(str, range(N_FOLDS))))
    # 15 epochs with patience 4 keep the 15 runs of the full protocol near the hour on 2 cores; on fold 0
    # the best validation epoch came at 6 (pretrained) and 9 (scratch) of a 50-epoch, patience-10 run.
    epochs = args.epochs if args.epochs is not None else 15
    rf_trees = args.rf_trees if args.rf_trees is not None else 500
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    from chemtl.data import load_dataset
    from chemtl.data.splits import matbench_folds, save_split
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.baselines import MAGPIE_STATS, MagpieRandomForest, MeanRegressor, magpie_features
    from chemtl.evaluate.compare import model_fingerprint
    from chemtl.evaluate.metrics import regression_metrics
    from chemtl.pretrained import resolve_model_dir, shipped_models
    from chemtl.training.manifest import indices_sha256

    notes: list[str] = []
    if args.models is None:
        models = [m for m in DEFAULT_MODELS if m in shipped_models()]
        absent = [m for m in DEFAULT_MODELS if m not in models]
        if absent:
            notes.append(f"Not shipped in this checkout, so not run: {', '.join(absent)}.")
            log(f"note: {', '.join(absent)} not shipped; not run")
    elif args.models.strip().lower() == "none":
        models = []
        notes.append("chemtl runs skipped on request (--models none): peers only.")
    else:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    # every reused run is keyed by the weights hash of the model it came from
    model_sha256 = {m: model_fingerprint(resolve_model_dir(m)) for m in models}
    from chemtl.transfer import STRATEGIES

    for s in strategies:
        if s not in STRATEGIES:
            raise ChemtlError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    if args.size_cap is not None and args.size_cap < 10:
        raise ChemtlError(f"--size-cap {args.size_cap}: use at least 10 rows")

    ds = load_dataset(DATASET)
    targets = np.asarray(ds.targets, dtype=np.float64)
    all_folds = matbench_folds(ds.inputs)

    train_cfg = None
    augment = "none"
    if models:
        from chemtl.training.config import TrainConfig

        settings: dict[str, Any] = {
            "lr": args.lr,
            "head_lr": args.head_lr or None,
            "lr_decay": args.lr_decay,
            "batch_size": args.batch_size,
            "max_epochs": epochs,
            "patience": args.patience or None,
            "scheduler": args.scheduler,
            # the per-parameter AdamW loop the published runs used (they stay reusable, and every
            # row of a table trains alike); the fused kernel is the same update up to rounding
            "optimizer": "adamw",
        }
        if args.recipe is not None:
            from chemtl.training.recipes import recipe_settings

            recipe, augment = recipe_settings(args.recipe)
            if args.epochs is not None:
                recipe["max_epochs"] = args.epochs
            settings.update(recipe)
        train_cfg = TrainConfig(**settings, seed=args.seed, progress_bar=False, checkpoint_every_n_steps=1000)

    chemtl_methods: list[tuple[str, str, str]] = []  # (label, model, strategy)
    for m in models:
        for s in strategies:
            if s != "scratch":
                chemtl_methods.append((f"chemtl {Path(m).name} / {s}", m, s))
    if models and (not args.no_scratch or "scratch" in strategies):
        chemtl_methods.append(("chemtl scratch (same architecture, random init)", models[0], "scratch"))

    method_names = ["RF-Magpie (ours)", "predict-the-mean (ours)"] + [c[0] for c in chemtl_methods]
    per_fold: dict[str, list[dict[str, Any]]] = {name: [] for name in method_names}
    fold_info = []
    feature_seconds = 0.0
    for fold in folds:
        split = all_folds[fold]
        train = capped_train(split.train, args.size_cap, args.seed, fold)
        test = split.test
        fold_info.append(
            {
                "fold": fold,
                "n_train": int(len(train)),
                "n_test": int(len(test)),
                "matbench_train": int(len(split.train)),
                "indices_sha256": indices_sha256(train, test),
                "leakage": None if split.leakage is None else split.leakage.to_dict(),
            }
        )
        log(f"fold {fold}: train {len(train)} rows, test {len(test)} rows")
        y_train, y_test = targets[train], targets[test]

        t0 = time.perf_counter()
        x_train = magpie_features([ds.inputs[i] for i in train])
        x_test = magpie_features([ds.inputs[i] for i in test])
        feat = time.perf_counter() - t0
        feature_seconds += feat
        t0 = time.perf_counter()
        rf = MagpieRandomForest(n_estimators=rf_trees, n_jobs=args.rf_jobs, random_state=args.seed)
        pred = rf.fit_features(x_train, y_train).predict_features(x_test)
        rf_wall = time.perf_counter() - t0 + feat
        per_fold["RF-Magpie (ours)"].append(
            {**regression_metrics(y_test, pred), "wall_seconds": round(rf_wall, 2)}
        )
        log(f"  RF-Magpie: MAE {per_fold['RF-Magpie (ours)'][-1]['mae']:.4f} eV ({rf_wall:.1f} s)")

        t0 = time.perf_counter()
        pred = MeanRegressor().fit(train, y_train).predict(test)
        per_fold["predict-the-mean (ours)"].append(
            {**regression_metrics(y_test, pred), "wall_seconds": round(time.perf_counter() - t0, 4)}
        )
        log(f"  predict-the-mean: MAE {per_fold['predict-the-mean (ours)'][-1]['mae']:.4f} eV")

        if chemtl_methods:
            sub_ds, sub_split = common.fold_subset(
                ds, split, train, test, fold, {"size_cap": args.size_cap, "cap_seed": args.seed}
            )
            tag = f"fold{fold}" + (f"_cap{args.size_cap}_seed{args.seed}" if args.size_cap else "")
            split_path = save_split(sub_split, work / "splits" / f"{tag}.json", inputs=sub_ds.inputs)
            rows_sha256 = indices_sha256(train, test)
            for label, model, strategy in chemtl_methods:
                run_dir = (
                    work
                    / "runs"
                    / Path(model).name
                    / strategy
                    / (tag + (f"_{args.recipe}" if args.recipe else ""))
                )
                out = run_chemtl(
                    model,
                    model_sha256[model],
                    strategy,
                    fold,
                    sub_ds,
                    rows_sha256,
                    split_path,
                    train_cfg,
                    args.trainable_layers,
                    run_dir,
                    args.fresh,
                    log,
                    augment,
                )
                out["run_dir"] = str(run_dir)
                per_fold[label].append(out)
                log(
                    f"  {label}: MAE {out['mae']:.4f} eV ({out['wall_seconds']:.0f} s, {out['epochs_run']} epochs)"
                )

    # ---- summary
    full_protocol = folds == list(range(N_FOLDS)) and args.size_cap is None
    methods: dict[str, Any] = {}
    for name in method_names:
        runs = per_fold[name]
        maes = [r["mae"] for r in runs]
        mean, std = common.mean_std(maes)
        methods[name] = {
            "fold_mae": maes,
            "mean_mae": mean,
            "std_mae": std,
            "fold_rmse": [r["rmse"] for r in runs],
            "fold_r2": [r["r2"] for r in runs],
            "fold_wall_seconds": [r["wall_seconds"] for r in runs],
            "wall_seconds": round(sum(r["wall_seconds"] for r in runs), 2),
            "runs": runs,
        }
    for label, model, strategy in chemtl_methods:
        methods[label].update(model=model, strategy=strategy, model_sha256=model_sha256[model])

    for label, _, _ in chemtl_methods:
        vals = [r.get("val_mae") for r in methods[label]["runs"]]
        methods[label]["mean_val_mae"] = None if None in vals or not vals else float(np.mean(vals))
    pretrained = [c[0] for c in chemtl_methods if c[2] != "scratch"]
    # the headline is chosen on validation rows (the mean validation MAE over the folds), never on
    # the test MAE it reports
    best = (
        min(pretrained, key=lambda n: (methods[n]["mean_val_mae"] is None, methods[n]["mean_val_mae"] or 0.0))
        if pretrained
        else None
    )
    best_mae = methods[best]["mean_mae"] if best else None
    protocol_seconds = sum(m["wall_seconds"] for m in methods.values())
    targets_out = [
        common.target(
            f"headline chemtl mean MAE over the 5 folds ({best or 'no pretrained model run'}; chosen on validation MAE)",
            common.rounded(best_mae),
            TARGET_MAE,
            "<=",
            "eV",
        ),
        common.target(
            "whole 5-fold run (every method, 2 cores)",
            round(protocol_seconds, 1) if pretrained else None,
            TARGET_SECONDS,
            "<=",
            "s",
            "sum of the per-fold wall times of every method",
        ),
    ]
    if not full_protocol:
        for t in targets_out:
            t["pass"] = None
            t["note"] = (t["note"] + "; " if t["note"] else "") + "not the full protocol (folds or size cap)"
    elif not pretrained:
        targets_out[0]["note"] = "no chemtl model was run"

    columns = ["method", *[f"fold {f}" for f in folds], "mean ± std", "wall s", "leaderboard"]
    board = PEERS
    rows = []
    for name in method_names:
        m = methods[name]
        if m["mean_mae"] is None:
            continue
        rows.append(
            [
                name,
                *[round(x, 4) for x in m["fold_mae"]],
                f"{m['mean_mae']:.4f}" + ("" if m["std_mae"] is None else f" ± {m['std_mae']:.4f}"),
                round(m["wall_seconds"], 1),
                board.get(name, "-"),
            ]
        )
    for ref, value, _ in LEADERBOARD[:3]:
        rows.append([f"{ref} (published)", *["-"] * len(folds), f"{value:.3f}", "-", "-"])
    rows.append(["target", *["-"] * len(folds), f"<= {TARGET_MAE}", f"<= {TARGET_SECONDS:.0f}", "-"])
    tables = [
        {
            "title": f"Test MAE (eV) per fold, mean ± std over folds ({common.std_label()})",
            "columns": columns,
            "rows": rows,
            "note": "Ours: every row above the published ones ran in this script on the same rows. "
            "Published rows are the Matbench leaderboard's numbers, quoted, not rerun.",
        }
    ]
    if chemtl_methods:
        detail = []
        for label, _, _ in chemtl_methods:
            for f, r in zip(folds, methods[label]["runs"]):
                detail.append(
                    [
                        label,
                        f,
                        r["n_train"],
                        r["n_val"],
                        round(r["mae"], 4),
                        r["epochs_run"],
                        r["best_epoch"],
                        r["wall_seconds"],
                        r["peak_rss_mb"],
                        r["trainable_params"],
                        "yes" if r["reused"] else "no",
                    ]
                )
        tables.append(
            {
                "title": "chemtl runs",
                "columns": [
                    "method",
                    "fold",
                    "train rows",
                    "val rows",
                    "test MAE",
                    "epochs",
                    "best epoch",
                    "wall s",
                    "peak RSS MB",
                    "trainable params",
                    "reused",
                ],
                "rows": detail,
            }
        )
    rf_mean = methods["RF-Magpie (ours)"]["mean_mae"]
    dummy_mean = methods["predict-the-mean (ours)"]["mean_mae"]
    peer_note, reproduced = leaderboard_note(rf_mean, dummy_mean, full_protocol)
    notes.append(peer_note)
    notes += [
        f"RandomForest: sklearn RandomForestRegressor(n_estimators={rf_trees}, n_jobs={args.rf_jobs}, "
        f"random_state={args.seed}), other parameters sklearn defaults; features: {len(MAGPIE_STATS)} statistics "
        f"({', '.join(MAGPIE_STATS)}) of the 22 Magpie element properties weighted by atomic fraction "
        "(132 features, matminer's magpie preset), element table from crabnet 2.0.8.",
        "chemtl runs: 10% of each fold's training side (seeded) is held out for early stopping on validation "
        "loss; the peers train on the whole training side. Targets standardised on the training rows.",
        "scratch re-initialises every weight of the first model's architecture: it measures what the "
        "pretraining buys.",
    ]
    notes += supervised_stage_notes(models)
    if train_cfg is not None:
        notes.append(
            "chemtl training: "
            + ", ".join(f"{k}={v}" for k, v in train_cfg.to_dict().items() if k not in ("progress_bar",))
        )
    payload = {
        "title": "matbench_expt_gap (Matbench 5-fold protocol)",
        "measured": (
            "Experimental band gap (eV) of 4,604 compositions. Matbench protocol: expt_gap.csv in file order, "
            "KFold(5, shuffle=True, random_state=18012019), mean test MAE over the folds. "
            + (
                f"chemtl fine-tuned from {', '.join(models)} with {', '.join(strategies)}"
                + (" plus scratch" if any(c[2] == "scratch" for c in chemtl_methods) else "")
                + ", "
                if chemtl_methods
                else "No chemtl model in this run; "
            )
            + "a RandomForest on Magpie statistics and predict-the-mean, all in this run on the same folds."
        ),
        "split": "matbench: KFold(n_splits=5, shuffle=True, random_state=18012019), file order; folds "
        + ",".join(map(str, folds))
        + (f"; training rows capped at {args.size_cap}" if args.size_cap else ""),
        "seed": args.seed,
        "targets": targets_out,
        "tables": tables,
        "references": [{"name": n, "value": v, "source": s} for n, v, s in LEADERBOARD],
        "notes": notes,
        "data": {
            "dataset": ds.info.get("name"),
            "dataset_sha256": ds.info.get("sha256"),
            "folds": fold_info,
            "full_protocol": full_protocol,
            "peers_reproduce_leaderboard": reproduced,
            "leaderboard_tolerance_ev": LEADERBOARD_TOLERANCE_EV,
            "methods": methods,
            "best_chemtl": best,
            "headline": None
            if best is None
            else {
                "label": best,
                "mean_mae": best_mae,
                "mean_val_mae": methods[best]["mean_val_mae"],
                "chosen_by": "lowest mean validation MAE over the folds among the pretrained rows",
            },
            "protocol_seconds": round(protocol_seconds, 2),
            "feature_seconds": round(feature_seconds, 2),
            "rf": {
                "n_estimators": rf_trees,
                "n_jobs": args.rf_jobs,
                "random_state": args.seed,
                "stats": MAGPIE_STATS,
            },
            "train_config": None if train_cfg is None else train_cfg.to_dict(),
            "recipe": args.recipe,
            "augment": augment,
            "models": models,
            "strategies": strategies,
            "size_cap": args.size_cap,
            "work_dir": str(work),
        },
    }
    if not math.isfinite(protocol_seconds):
        raise RuntimeError("non-finite wall time")
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
