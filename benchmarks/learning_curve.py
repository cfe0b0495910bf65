"""Benchmark ``learning_curve``: what pretraining buys at small training sizes on matbench_expt_gap.

Protocol: the published Matbench fold 0 of ``matbench_expt_gap`` (``KFold(5, shuffle=True,
random_state=18012019)``); 10% of its training side (split seed 0) is held out for early stopping,
the same rows for every run; the test side (921 rows) is the fold's. At every training size of
``--sizes`` and every seed of ``--seeds``, the model of ``--model`` is fine-tuned (strategy
``full``) and, on the same rows with the same seed, the same architecture from random weights
(``scratch``). Both go through the compare pipeline (``chemtl.evaluate.compare.compare``): a size
``n`` takes the first ``n`` rows of a permutation of the training side drawn from the seed, so the
sizes are nested subsets and every strategy of a (size, seed) trains on identical rows.

Target: the pretrained model's mean test MAE is at least 20% below scratch's at every size up to
500 (one verdict per size). Writes ``results/learning_curve.json`` and regenerates
``docs/BENCHMARKS.md``. The compare directory (runs, splits, summary.csv, report.html with the
learning-curve figure) lives under ``--work-dir``; running the script again reuses every finished
run whose settings are unchanged and resumes an interrupted one.

    python benchmarks/learning_curve.py                          # 5 sizes x 3 seeds x 2 strategies
    python benchmarks/learning_curve.py --sizes 50,200 --seeds 2
    python benchmarks/learning_curve.py --quick --model DIR      # smoke: 2 sizes, 2 seeds, 1 epoch
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

NAME = "learning_curve"
DATASET = "matbench_expt_gap"
FOLD = 0
DEFAULT_MODEL = "composition-small"
DEFAULT_SIZES = "50,100,200,500,1000"
TARGET_REDUCTION = 20.0  # percent lower MAE than scratch
TARGET_MAX_SIZE = 500  # the target applies at every size up to this one
STRATEGIES = ("full", "scratch")
QUICK = {"sizes": "30,60", "seeds": "2", "epochs": 1, "patience": 0}


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Fine-tuned pretrained model vs the same architecture from scratch on matbench_expt_gap "
        "fold 0 at growing training sizes (nested subsets, same rows and seeds for both).",
    )
    common.add_common_args(p)
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME|DIR",
        help=f"the pretrained model: a shipped name or a model directory (default {DEFAULT_MODEL})",
    )
    p.add_argument(
        "--sizes",
        default=None,
        metavar="LIST",
        help=f"training-set sizes, comma-separated (default {DEFAULT_SIZES}; quick {QUICK['sizes']})",
    )
    p.add_argument(
        "--seeds",
        default=None,
        metavar="N|LIST",
        help="a count (seeds 0..N-1) or seeds like 0,7,42 (default 3; quick 2)",
    )
    p.add_argument("--epochs", type=int, default=None, help="most epochs per run (default 30; quick 1)")
    p.add_argument("--patience", type=int, default=None, help="early stopping patience (0: off; default 6)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="default 16 (50 training rows still make 4 optimiser steps per epoch)",
    )
    p.add_argument("--lr", type=float, default=1e-4, help="encoder learning rate (default 1e-4)")
    p.add_argument(
        "--head-lr", type=float, default=1e-3, help="head learning rate (default 1e-3; 0: same as --lr)"
    )
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="DIR",
        help=f"the compare directory (default build/benchmarks/{NAME}[-quick])",
    )
    return p


# ----------------------------------------------------------------------------------------------
# flags


def _sizes(text: str) -> tuple[int, ...]:
    from chemtl.errors import ChemtlError

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or not all(t.isdigit() and int(t) >= 2 for t in items):
        raise ChemtlError(f"--sizes {text!r}: write training-set sizes >= 2 separated by commas")
    sizes = [int(t) for t in items]
    if len(set(sizes)) != len(sizes):
        raise ChemtlError(f"--sizes {text!r}: a size is given twice")
    return tuple(sorted(sizes))


def _seeds(text: str) -> tuple[int, ...]:
    from chemtl.errors import ChemtlError

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or not all(t.isdigit() for t in items):
        raise ChemtlError(f"--seeds {text!r}: write a count such as 3 or seeds such as 0,7,42")
    if len(items) == 1 and "," not in text:
        n = int(items[0])
        if n < 1:
            raise ChemtlError(f"--seeds {text!r}: the count must be at least 1")
        return tuple(range(n))
    seeds = tuple(int(t) for t in items)
    if len(set(seeds)) != len(seeds):
        raise ChemtlError(f"--seeds {text!r}: a seed is given twice")
    return seeds


# ----------------------------------------------------------------------------------------------
# the benchmark


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1; None for fewer than two values)."""
    if not values:
        return None, None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.4f}" + ("" if std is None else f" ± {std:.4f}")


def _split_info(data) -> dict[str, Any]:
    """The fold's sides as every run sees them (training pool, validation, test) with their hash."""
    from chemtl.data import load_dataset
    from chemtl.pipelines.finetune import resolve_split
    from chemtl.training.manifest import indices_sha256

    split = resolve_split(load_dataset(data.dataset), data)
    return {
        "describe": split.describe(),
        "train": int(len(split.train)),
        "val": int(len(split.val)),
        "test": int(len(split.test)),
        "indices_sha256": indices_sha256(split.train, split.val, split.test),
    }


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    started_iso, started = common.now_iso(), time.perf_counter()
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
    sizes = _sizes(args.sizes or DEFAULT_SIZES)
    seeds = _seeds(args.seeds or "3")
    epochs = args.epochs if args.epochs is not None else 30
    patience = args.patience if args.patience is not None else 6
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    from chemtl.evaluate.compare import CompareConfig, compare
    from chemtl.training.config import DataConfig, TrainConfig

    train_cfg = TrainConfig(
        lr=args.lr,
        head_lr=args.head_lr or None,
        batch_size=args.batch_size,
        max_epochs=epochs,
        patience=patience or None,
        seed=0,  # replaced by each run's seed
        progress_bar=False,
        checkpoint_every_n_steps=1000,
    )
    config = CompareConfig(
        model=args.model,
        data=DataConfig(dataset=DATASET, split="matbench", fold=FOLD),
        strategies=STRATEGIES,
        train_sizes=sizes,
        seeds=seeds,
        train=train_cfg,
        throughput_rows=64 if args.quick else 512,
        throughput_repeats=1 if args.quick else 3,
    )
    log(
        f"{NAME}: {args.model} full vs scratch, sizes {','.join(map(str, sizes))}, seeds "
        f"{','.join(map(str, seeds))}, into {work}"
    )
    result = compare(
        config,
        work,
        overwrite=True,  # changed flags: unchanged runs are reused, the others retrained
        report=not args.quick,
        log=lambda line: log("  " + line),
        command=["chemtl", "benchmark", NAME, *argv],
    )
    prov = result.provenance
    split_info = _split_info(config.data)

    # ---- per run, per size
    runs = []
    for r in result.records:
        m = r.metrics or {}
        test = m.get("test") or {}
        runs.append(
            {
                "strategy": r.strategy,
                "train_size": r.train_size,
                "seed": r.seed,
                "status": r.status,
                "mae": test.get("mae"),
                "rmse": test.get("rmse"),
                "r2": test.get("r2"),
                "val_mae": (m.get("val") or {}).get("mae"),
                "n_train": m.get("n_train"),
                "n_val": m.get("n_val"),
                "n_test": m.get("n_test"),
                "epochs_run": m.get("epochs_run"),
                "best_epoch": m.get("best_epoch"),
                "stopped_early": m.get("stopped_early"),
                "train_seconds": m.get("train_seconds"),
                "trainable_params": m.get("trainable_params"),
                "overfit_epoch": r.overfit_epoch,
                "run_dir": str(work / r.run_dir),
                "error": r.error,
            }
        )

    def score(strategy: str, n: int, seed: int) -> float | None:
        for run in runs:
            if run["strategy"] == strategy and run["train_size"] == n and run["seed"] == seed:
                mae = run["mae"]
                return float(mae) if isinstance(mae, int | float) and math.isfinite(mae) else None
        return None

    per_size = []
    for n in sizes:
        entry: dict[str, Any] = {"train_size": n}
        for strategy in STRATEGIES:
            maes = [x for x in (score(strategy, n, s) for s in seeds) if x is not None]
            mean, std = _stats(maes)
            seconds = [
                float(run["train_seconds"])
                for run in runs
                if run["strategy"] == strategy and run["train_size"] == n and run["train_seconds"] is not None
            ]
            epochs_run = [
                float(run["epochs_run"])
                for run in runs
                if run["strategy"] == strategy and run["train_size"] == n and run["epochs_run"] is not None
            ]
            entry[strategy] = {
                "mae": maes,
                "mean_mae": mean,
                "std_mae": std,
                "n_runs": len(maes),
                "train_seconds_mean": float(np.mean(seconds)) if seconds else None,
                "epochs_mean": float(np.mean(epochs_run)) if epochs_run else None,
                # runs that used every epoch without stopping early: maybe not converged
                "hit_epoch_cap": sum(
                    1
                    for run in runs
                    if run["strategy"] == strategy
                    and run["train_size"] == n
                    and run["epochs_run"] is not None
                    and run["epochs_run"] >= epochs
                    and not run["stopped_early"]
                ),
            }
        pre, scr = entry["full"]["mean_mae"], entry["scratch"]["mean_mae"]
        entry["improvement"] = (1.0 - pre / scr) if pre is not None and scr else None
        paired = [
            (score("full", n, s), score("scratch", n, s))
            for s in seeds
            if score("full", n, s) is not None and score("scratch", n, s)
        ]
        per_seed = [1.0 - a / b for a, b in paired]
        entry["improvement_per_seed"] = per_seed
        entry["pretrained_wins"] = sum(a < b for a, b in paired)
        entry["paired_seeds"] = len(paired)
        per_size.append(entry)
        log(
            f"n={n}: pretrained {_pm(pre, entry['full']['std_mae'])} eV, scratch "
            f"{_pm(scr, entry['scratch']['std_mae'])} eV, improvement "
            + ("-" if entry["improvement"] is None else f"{100 * entry['improvement']:.1f}%")
        )

    # ---- targets: one per size up to TARGET_MAX_SIZE
    targets_out = []
    for entry in per_size:
        n = entry["train_size"]
        if n > TARGET_MAX_SIZE:
            continue
        imp = entry["improvement"]
        t = common.target(
            f"MAE reduction vs scratch at {n} training rows",
            None if imp is None else round(100.0 * imp, 1),
            TARGET_REDUCTION,
            ">=",
            "%",
            f"1 - pretrained/scratch of the mean test MAE over {len(seeds)} seed(s)",
        )
        if args.quick:
            t["pass"] = None
            t["note"] += "; quick smoke run, not the benchmark"
        targets_out.append(t)

    # ---- tables
    rows = []
    for entry in per_size:
        imp = entry["improvement"]
        rows.append(
            [
                entry["train_size"],
                _pm(entry["full"]["mean_mae"], entry["full"]["std_mae"]),
                _pm(entry["scratch"]["mean_mae"], entry["scratch"]["std_mae"]),
                "-" if imp is None else f"{100 * imp:.1f}%",
                f"{entry['pretrained_wins']}/{entry['paired_seeds']}",
                "-" if entry["train_size"] > TARGET_MAX_SIZE else f">= {TARGET_REDUCTION:.0f}%",
                None if entry["full"]["epochs_mean"] is None else round(entry["full"]["epochs_mean"], 1),
                None
                if entry["scratch"]["epochs_mean"] is None
                else round(entry["scratch"]["epochs_mean"], 1),
            ]
        )
    tables = [
        {
            "title": "Test MAE (eV) per training size, mean ± std over seeds (std with ddof=1)",
            "columns": [
                "train rows",
                f"pretrained ({Path(args.model).name}, full)",
                "scratch (same architecture)",
                "improvement (1 - pre/scratch)",
                "seeds pretrained better",
                "target",
                "epochs pre",
                "epochs scratch",
            ],
            "rows": rows,
            "note": f"Both columns ran in this script on identical rows: for each (size, seed) the same "
            f"training subset, the same {split_info['val']} validation rows and "
            f"the same {split_info['test']} test rows of Matbench fold {FOLD}.",
        },
        {
            "title": "Runs",
            "columns": [
                "strategy",
                "train rows",
                "seed",
                "test MAE",
                "test RMSE",
                "epochs",
                "best epoch",
                "train s",
                "status",
            ],
            "rows": [
                [
                    run["strategy"],
                    run["train_size"],
                    run["seed"],
                    None if run["mae"] is None else round(run["mae"], 4),
                    None if run["rmse"] is None else round(run["rmse"], 4),
                    run["epochs_run"],
                    run["best_epoch"],
                    None if run["train_seconds"] is None else round(float(run["train_seconds"]), 1),
                    run["status"],
                ]
                for run in runs
            ],
        },
    ]

    notes = [
        f"Model {args.model} (sha256 of config + weights {prov['model_sha256'][:12]}); scratch re-initialises "
        "every weight of the same architecture: the difference is what the pretraining buys.",
        f"Rows: compare pipeline; size n takes the first n rows of a permutation of the fold's training side "
        f"({split_info['train']} rows after the validation rows are carved off) "
        "drawn from the seed, so smaller sizes are subsets of larger ones; the seed also seeds training.",
        "chemtl training: "
        + ", ".join(f"{k}={v}" for k, v in train_cfg.to_dict().items() if k not in ("progress_bar", "seed")),
        f"Runs trained now: {prov['runs_trained']}, reused from {work}: {prov['runs_reused']}, "
        f"failed: {prov['runs_failed']}; training seconds summed over the runs: {prov['train_seconds_total']}.",
    ]
    capped = {
        strategy: sum(entry[strategy]["hit_epoch_cap"] for entry in per_size) for strategy in STRATEGIES
    }
    if patience and any(capped.values()):
        notes.append(
            f"Runs that used all {epochs} epochs without stopping early (perhaps not converged): "
            + ", ".join(f"{s} {capped[s]} of {len(sizes) * len(seeds)}" for s in STRATEGIES)
            + ". A cap that stops scratch before it converges flatters the pretrained model; raise --epochs "
            "if scratch hits it often."
        )
    if args.model == DEFAULT_MODEL:
        notes.append(
            "composition-small was pretrained on inorganic_corpus, which holds the (unlabelled) formulas "
            "of the matbench test folds: the pretraining is transductive with respect to this test set."
        )
    if result.failed:
        notes.append(
            f"{len(result.failed)} run(s) failed: "
            + "; ".join(f"{r.strategy} n={r.train_size} seed {r.seed}: {r.error}" for r in result.failed)
        )
    if args.quick:
        notes.append("Quick smoke run (1 epoch, tiny sizes): the numbers say nothing about pretraining.")

    payload = {
        "title": "Learning curve: pretrained vs scratch on matbench_expt_gap",
        "measured": (
            f"Test MAE (eV) on Matbench fold {FOLD} of matbench_expt_gap after fine-tuning {args.model} "
            f"(strategy full) and the same architecture from random weights (scratch), at training sizes "
            f"{', '.join(map(str, sizes))} with seeds {', '.join(map(str, seeds))}; identical rows for both. "
            f"Target: at least {TARGET_REDUCTION:.0f}% lower MAE than scratch at every size up to "
            f"{TARGET_MAX_SIZE}."
        ),
        "split": f"matbench fold {FOLD}: KFold(n_splits=5, shuffle=True, random_state=18012019), file order; "
        f"validation {split_info['val']} rows carved from the training side "
        f"(split seed 0); test {split_info['test']} rows; nested training subsets "
        "per seed",
        "seed": list(seeds),
        "targets": targets_out,
        "tables": tables,
        "references": [],
        "notes": notes,
        "data": {
            "dataset": prov["dataset"],
            "dataset_sha256": prov["dataset_sha256"],
            "fold": FOLD,
            "split": split_info,
            "model": args.model,
            "model_dir": prov["model_dir"],
            "model_sha256": prov["model_sha256"],
            "strategies": list(STRATEGIES),
            "sizes": list(sizes),
            "seeds": list(seeds),
            "train_config": train_cfg.to_dict(),
            "per_size": per_size,
            "runs": runs,
            "runs_trained": prov["runs_trained"],
            "runs_reused": prov["runs_reused"],
            "runs_failed": prov["runs_failed"],
            "train_seconds_total": prov["train_seconds_total"],
            "compare_seconds": round(result.wall_seconds, 2),
            "work_dir": str(work),
            "report": str(result.paths["report_html"]) if "report_html" in result.paths else None,
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
