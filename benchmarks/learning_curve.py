"""Benchmark ``learning_curve``: what pretraining buys at small training sizes on matbench_expt_gap.

Protocol: the published Matbench fold 0 of ``matbench_expt_gap`` (``KFold(5, shuffle=True,
random_state=18012019)``); 10% of its training side (split seed 0) is held out for early stopping,
the same rows for every run; the test side (921 rows) is the fold's. At every training size of
``--sizes`` and every seed of ``--seeds``, each model of ``--model`` (default: the shipped
``composition-small`` and ``composition-small-mp``) is fine-tuned (strategy ``full``) and, on the
same rows with the same seed, the same architecture from random weights (``scratch``, once: every
model must share the first one's encoder shape). Each model goes through the compare pipeline
(``chemtl.evaluate.compare.compare``) with the same data, sizes and seeds: a size ``n`` takes the
first ``n`` rows of a permutation of the training side drawn from the seed, so the sizes are nested
subsets and every model of a (size, seed) trains on identical rows.

``--recipe NAME`` trains every run with a named fine-tuning recipe (``chemtl.training.recipes``,
e.g. ``converge``) in place of ``--epochs/--patience/--lr/--head-lr``; ``--batch-size`` still holds.

Target: a pretrained model's mean test MAE is at least 30% below scratch's at every size up to 500
(one verdict per model and size). Writes ``results/learning_curve.json`` and regenerates
``docs/BENCHMARKS.md``. The compare directories (runs, splits, summary.csv, report.html with the
learning-curve figure), one per model, live under ``--work-dir``; running the script again reuses
every finished run whose settings are unchanged and resumes an interrupted one.

    python benchmarks/learning_curve.py                          # 5 sizes x 3 seeds x 3 models
    python benchmarks/learning_curve.py --sizes 50,200 --seeds 0,1
    python benchmarks/learning_curve.py --quick --model DIR      # smoke: 2 sizes, 2 seeds, 1 epoch
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "learning_curve"
DATASET = "matbench_expt_gap"
FOLD = 0
DEFAULT_MODELS = "composition-small,composition-small-mp"
DEFAULT_SIZES = "50,100,200,500,1000"
TARGET_REDUCTION = 30.0  # percent lower MAE than scratch (issue 14; 20 before 2026-12-01)
TARGET_MAX_SIZE = 500  # the target applies at every size up to this one
STRATEGIES = ("full", "scratch")
# The encoder's shape: the scratch baseline stands for every model only where these agree.
SHAPE_KEYS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
)
DEFAULT_SEEDS = "0,1,2"
QUICK = {"sizes": "30,60", "seeds": "0,1", "epochs": 1, "patience": 0}


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Fine-tuned pretrained models vs the same architecture from scratch on matbench_expt_gap "
        "fold 0 at growing training sizes (nested subsets, same rows and seeds for all).",
    )
    common.add_common_args(p)
    p.add_argument(
        "--model",
        default=DEFAULT_MODELS,
        metavar="NAME|DIR[,...]",
        help=f"the pretrained models, comma-separated: shipped names or model directories "
        f"(default {DEFAULT_MODELS})",
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
        metavar="LIST",
        help=f"seeds, comma-separated, e.g. 0,7,42 (default {DEFAULT_SEEDS}; quick {QUICK['seeds']})",
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
        "--recipe",
        default=None,
        metavar="NAME",
        help="a named fine-tuning recipe (e.g. converge) for every run, instead of --epochs, --patience, "
        "--lr and --head-lr (--epochs still caps a quick run)",
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


def _models(text: str) -> tuple[str, ...]:
    """The pretrained models, each resolved now (a missing one fails before any training), sharing one
    encoder shape (the single scratch baseline stands for all of them)."""
    import json

    from chemtl.errors import ChemtlError
    from chemtl.pretrained import resolve_model_dir

    models = tuple(t.strip() for t in text.split(",") if t.strip())
    if not models:
        raise ChemtlError(f"--model {text!r}: name at least one model")
    labels = [_label(m) for m in models]
    if len(set(labels)) != len(labels):
        raise ChemtlError(f"--model {text!r}: a model is given twice (or two share a directory name)")
    shapes = {}
    for model in models:
        config = json.loads((resolve_model_dir(model) / "config.json").read_text())
        shapes[model] = {key: config.get(key) for key in SHAPE_KEYS}
    first = models[0]
    for model in models[1:]:
        if shapes[model] != shapes[first]:
            raise ChemtlError(
                f"--model {model!r}: its encoder shape {shapes[model]} differs from {first!r}'s "
                f"{shapes[first]}; one scratch baseline cannot stand for both"
            )
    return models


def _label(model: str) -> str:
    """A model's name in tables and its compare directory's name: the shipped name or the folder name."""
    return Path(model).name


# ----------------------------------------------------------------------------------------------
# the benchmark


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and standard deviation over seeds (``common.mean_std``: ddof 1, None for one value)."""
    return common.mean_std(values)


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


def constant_predictions(run_dir: Path) -> bool | None:
    """Whether a finished run predicted the same value for every test row (``None``: no file)."""
    import pandas as pd

    path = Path(run_dir) / "predictions.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path)
    test = table.loc[table["split"] == "test", "prediction"].to_numpy(dtype=np.float64)
    return bool(len(test) and np.ptp(test) < 1e-9)


def ds_test_targets():
    """The fold's test targets (matbench_expt_gap, fold ``FOLD``)."""
    from chemtl.data import load_dataset
    from chemtl.data.splits import matbench_folds

    ds = load_dataset(DATASET)
    split = matbench_folds(ds.inputs)[FOLD]
    return np.asarray(ds.targets, dtype=np.float64)[split.test]


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)
    sizes = _sizes(args.sizes or DEFAULT_SIZES)
    seeds = common.seeds_arg(args.seeds or DEFAULT_SEEDS)
    models = _models(args.model)
    labels = [_label(m) for m in models]
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

    settings: dict[str, Any] = {
        "lr": args.lr,
        "head_lr": args.head_lr or None,
        "max_epochs": epochs,
        "patience": patience or None,
    }
    augment = "none"
    if args.recipe is not None:
        from chemtl.training.recipes import recipe_settings

        recipe, augment = recipe_settings(args.recipe)
        if args.quick or args.epochs is not None:
            recipe["max_epochs"] = epochs
        settings.update(recipe)
    train_cfg = TrainConfig(
        **settings,
        batch_size=args.batch_size,
        seed=0,  # replaced by each run's seed
        progress_bar=False,
        checkpoint_every_n_steps=1000,
    )
    data_cfg = DataConfig(dataset=DATASET, split="matbench", fold=FOLD, augment=augment)
    log(
        f"{NAME}: {', '.join(labels)} full vs scratch, sizes {','.join(map(str, sizes))}, seeds "
        f"{','.join(map(str, seeds))}, into {work}"
    )

    # ---- one compare per model; the first one also trains scratch (the same architecture)
    runs: list[dict[str, Any]] = []
    compares: list[dict[str, Any]] = []
    compare_seconds = 0.0
    for k, (model, label) in enumerate(zip(models, labels, strict=True)):
        strategies = STRATEGIES if k == 0 else ("full",)
        config = CompareConfig(
            model=model,
            data=data_cfg,
            strategies=strategies,
            train_sizes=sizes,
            seeds=seeds,
            train=train_cfg,
            throughput_rows=64 if args.quick else 512,
            throughput_repeats=1 if args.quick else 3,
        )
        log(f"  {label}: {' and '.join(strategies)}")
        result = compare(
            config,
            work / label,
            overwrite=True,  # changed flags: unchanged runs are reused, the others retrained
            report=not args.quick,
            log=lambda line: log("    " + line),
            command=["chemtl", "benchmark", NAME, *argv],
        )
        compare_seconds += result.wall_seconds
        prov = result.provenance
        compares.append(
            {
                "model": model,
                "label": label,
                "model_dir": prov["model_dir"],
                "model_sha256": prov["model_sha256"],
                "strategies": list(strategies),
                "runs_trained": prov["runs_trained"],
                "runs_reused": prov["runs_reused"],
                "runs_failed": prov["runs_failed"],
                "train_seconds_total": prov["train_seconds_total"],
                "compare_seconds": round(result.wall_seconds, 2),
                "work_dir": str(work / label),
                "report": str(result.paths["report_html"]) if "report_html" in result.paths else None,
                "failed": [f"{r.strategy} n={r.train_size} seed {r.seed}: {r.error}" for r in result.failed],
            }
        )
        for r in result.records:
            m = r.metrics or {}
            test = m.get("test") or {}
            runs.append(
                {
                    "model": label if r.strategy != "scratch" else "scratch",
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
                    "run_dir": str(work / label / r.run_dir),
                    "constant_test_predictions": constant_predictions(work / label / r.run_dir),
                    "error": r.error,
                }
            )
    split_info = _split_info(data_cfg)
    arms = [*labels, "scratch"]  # a run's "model": a pretrained model's label, or scratch

    def arm_runs(arm: str, n: int) -> list[dict[str, Any]]:
        return [run for run in runs if run["model"] == arm and run["train_size"] == n]

    def score(arm: str, n: int, seed: int) -> float | None:
        for run in arm_runs(arm, n):
            if run["seed"] == seed:
                mae = run["mae"]
                return float(mae) if isinstance(mae, int | float) and math.isfinite(mae) else None
        return None

    def arm_stats(arm: str, n: int) -> dict[str, Any]:
        maes = [x for x in (score(arm, n, s) for s in seeds) if x is not None]
        mean, std = _stats(maes)
        chosen = arm_runs(arm, n)
        seconds = [float(r["train_seconds"]) for r in chosen if r["train_seconds"] is not None]
        epochs_run = [float(r["epochs_run"]) for r in chosen if r["epochs_run"] is not None]
        return {
            "mae": maes,
            "mean_mae": mean,
            "std_mae": std,
            "n_runs": len(maes),
            "train_seconds_mean": float(np.mean(seconds)) if seconds else None,
            "epochs_mean": float(np.mean(epochs_run)) if epochs_run else None,
            # runs that used every epoch without stopping early: maybe not converged
            "hit_epoch_cap": sum(
                1
                for r in chosen
                if r["epochs_run"] is not None and r["epochs_run"] >= epochs and not r["stopped_early"]
            ),
        }

    per_size = []
    for n in sizes:
        entry: dict[str, Any] = {"train_size": n, "scratch": arm_stats("scratch", n), "pretrained": {}}
        scr = entry["scratch"]["mean_mae"]
        for label in labels:
            stats = arm_stats(label, n)
            pre = stats["mean_mae"]
            stats["improvement"] = (1.0 - pre / scr) if pre is not None and scr else None
            paired = [
                (score(label, n, s), score("scratch", n, s))
                for s in seeds
                if score(label, n, s) is not None and score("scratch", n, s)
            ]
            stats["improvement_per_seed"] = [1.0 - a / b for a, b in paired]
            stats["pretrained_wins"] = sum(a < b for a, b in paired)
            stats["paired_seeds"] = len(paired)
            entry["pretrained"][label] = stats
        per_size.append(entry)
        log(
            f"n={n}: scratch {_pm(scr, entry['scratch']['std_mae'])} eV; "
            + "; ".join(
                f"{label} {_pm(st['mean_mae'], st['std_mae'])} eV ("
                + ("-" if st["improvement"] is None else f"{100 * st['improvement']:.1f}%")
                + ")"
                for label, st in entry["pretrained"].items()
            )
        )

    # ---- targets: one per model and size up to TARGET_MAX_SIZE
    targets_out = []
    for label in labels:
        for entry in per_size:
            n = entry["train_size"]
            if n > TARGET_MAX_SIZE:
                continue
            imp = entry["pretrained"][label]["improvement"]
            t = common.target(
                f"{label}: MAE reduction vs scratch at {n} training rows",
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
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    rows = []
    for entry in per_size:
        row: list[Any] = [entry["train_size"], _pm(entry["scratch"]["mean_mae"], entry["scratch"]["std_mae"])]
        for label in labels:
            st = entry["pretrained"][label]
            row += [
                _pm(st["mean_mae"], st["std_mae"]),
                pct(st["improvement"]),
                f"{st['pretrained_wins']}/{st['paired_seeds']}",
            ]
        row.append("-" if entry["train_size"] > TARGET_MAX_SIZE else f">= {TARGET_REDUCTION:.0f}%")
        rows.append(row)
    columns = ["train rows", "scratch (same architecture)"]
    for label in labels:
        columns += [f"{label} (full)", f"{label}: 1 - pre/scratch", f"{label}: seeds better"]
    columns.append("target")

    epoch_rows = []
    for entry in per_size:
        epoch_rows.append(
            [entry["train_size"]]
            + [
                None if st["epochs_mean"] is None else round(st["epochs_mean"], 1)
                for st in [entry["scratch"], *entry["pretrained"].values()]
            ]
        )
    tables = [
        {
            "title": f"Test MAE (eV) per training size, mean ± std over seeds ({common.std_label()})",
            "columns": columns,
            "rows": rows,
            "note": f"Every column ran in this script on identical rows: for each (size, seed) the same "
            f"training subset, the same {split_info['val']} validation rows and "
            f"the same {split_info['test']} test rows of Matbench fold {FOLD}.",
        },
        {
            "title": "Mean epochs run per training size (early stopping on validation loss)",
            "columns": ["train rows", "scratch", *labels],
            "rows": epoch_rows,
        },
        {
            "title": "Runs",
            "columns": [
                "model",
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
                    run["model"],
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

    trained = sum(c["runs_trained"] for c in compares)
    reused = sum(c["runs_reused"] for c in compares)
    failed = sum(c["runs_failed"] for c in compares)
    notes = [
        "Models: "
        + "; ".join(f"{c['label']} (sha256 of config + weights {c['model_sha256'][:12]})" for c in compares)
        + f". scratch re-initialises every weight of {labels[0]}'s architecture, which every model shares: "
        "the difference is what the pretraining buys.",
        f"Rows: compare pipeline; size n takes the first n rows of a permutation of the fold's training side "
        f"({split_info['train']} rows after the validation rows are carved off) "
        "drawn from the seed, so smaller sizes are subsets of larger ones; the seed also seeds training.",
        "chemtl training: "
        + ", ".join(f"{k}={v}" for k, v in train_cfg.to_dict().items() if k not in ("progress_bar", "seed")),
        f"Runs trained now: {trained}, reused from {work}: {reused}, failed: {failed}; training seconds summed "
        f"over the runs: {round(sum(c['train_seconds_total'] or 0 for c in compares), 2)}.",
    ]
    constant = [r for r in runs if r["constant_test_predictions"]]
    if constant:
        zero_mae = float(np.mean(np.abs(np.asarray(ds_test_targets(), dtype=np.float64))))
        notes.append(
            f"{len(constant)} of {len(runs)} runs predicted one value for every test row (their output gate "
            "closed, or the head learned nothing): "
            + ", ".join(
                f"{r['model']} n={r['train_size']} seed {r['seed']} (MAE {r['mae']:.4f})" for r in constant
            )
            + f". For scale, predicting 0 eV for every test row (the median: most rows are metals) scores MAE "
            f"{zero_mae:.4f}."
        )
    capped = {
        arm: sum(
            (entry["scratch"] if arm == "scratch" else entry["pretrained"][arm])["hit_epoch_cap"]
            for entry in per_size
        )
        for arm in arms
    }
    if patience and any(capped.values()):
        notes.append(
            f"Runs that used all {epochs} epochs without stopping early (perhaps not converged): "
            + ", ".join(f"{arm} {capped[arm]} of {len(sizes) * len(seeds)}" for arm in arms)
            + ". A cap that stops scratch before it converges flatters the pretrained model; raise --epochs "
            "if scratch hits it often."
        )
    if any(m in ("composition-small", "composition-small-mp", "composition-small-dft") for m in models):
        notes.append(
            "composition-small (and composition-small-mp, which starts from it) was pretrained on "
            "inorganic_corpus, which holds the (unlabelled) formulas of the matbench test folds: the masked "
            "pretraining is transductive with respect to this test set. The supervised stages of "
            "composition-small-mp (matbench_mp_gap, matbench_mp_e_form) and composition-small-dft (those and "
            "oqmd_bandgap) dropped every composition of matbench_expt_gap."
        )
    for c in compares:
        if c["failed"]:
            notes.append(f"{c['label']}: {len(c['failed'])} run(s) failed: " + "; ".join(c["failed"]))
    if args.quick:
        notes.append("Quick smoke run (1 epoch, tiny sizes): the numbers say nothing about pretraining.")

    payload = {
        "title": "Learning curve: pretrained vs scratch on matbench_expt_gap",
        "measured": (
            f"Test MAE (eV) on Matbench fold {FOLD} of matbench_expt_gap after fine-tuning "
            f"{', '.join(labels)} (strategy full) and the same architecture from random weights (scratch), "
            f"at training sizes {', '.join(map(str, sizes))} with seeds {', '.join(map(str, seeds))}; "
            f"identical rows for all"
            + (f", every run with the fine-tuning recipe {args.recipe!r}" if args.recipe else "")
            + f". Target: at least {TARGET_REDUCTION:.0f}% lower MAE than scratch at "
            f"every size up to {TARGET_MAX_SIZE}."
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
            "dataset": DATASET,
            "dataset_sha256": result.provenance["dataset_sha256"],
            "fold": FOLD,
            "split": split_info,
            "models": compares,
            "strategies": list(STRATEGIES),
            "sizes": list(sizes),
            "seeds": list(seeds),
            "train_config": train_cfg.to_dict(),
            "recipe": args.recipe,
            "augment": augment,
            "per_size": per_size,
            "runs": runs,
            "runs_trained": trained,
            "runs_reused": reused,
            "runs_failed": failed,
            "compare_seconds": round(compare_seconds, 2),
            "work_dir": str(work),
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
