"""Benchmark ``recipe``: which fine-tuning ingredients help small-data regression, one at a time.

matbench_expt_gap, one Matbench fold (default fold 0; ``KFold(5, shuffle=True,
random_state=18012019)``), composition-small-mp fine-tuned with the ``full`` strategy. 10% of the
fold's training side (seeded by ``--seed``) is held out as validation rows, as the matbench
benchmark does; every choice below is made on those rows, never on the fold's test side.

Rows:

1. ``baseline``: today's defaults of the matbench benchmark (MSE, batch 32, constant lr 1e-4 / head
   1e-3, at most 15 epochs, patience 4).
2. ``+ X`` for each ingredient X of ``INGREDIENTS``: the baseline with that one change.
3. ``recipe``: the baseline plus, per slot (a slot holds alternatives: the loss, the schedule), the
   ingredient with the lowest validation MAE among those that beat the baseline's validation MAE
   (none when none does). The rule is fixed here, before any run; the result records what it chose.
4. ``baseline (scratch)`` and ``recipe (scratch)``: the same two configurations from random weights
   (what pretraining buys, and whether the recipe is what closes the gap to CrabNet).
5. Encoder options on top of the recipe (``ENCODER_OPTIONS``): CrabNet's per-element residual head
   (``head elementwise``), pretrained and from scratch, and element embeddings initialised from
   mat2vec (scratch only: a pretrained model's embeddings are already trained). Each is judged
   against its recipe row on validation MAE (``better on val`` when lower: a candidate for the
   5-fold run, which decides), its test MAE reported beside.

Writes ``results/recipe.json`` and regenerates ``docs/BENCHMARKS.md``. Every run is reused when its
key (weights hash, rows, configs) is unchanged and resumed when it was killed.

    python benchmarks/recipe.py             # fold 0, every ingredient
    python benchmarks/recipe.py --quick     # smoke: 200 rows, 1 epoch, no verdicts
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "recipe"
DATASET = "matbench_expt_gap"
MODEL = "composition-small-mp"
# Published matbench_expt_gap 5-fold means (eV), for scale only: one fold here is not the protocol.
REFERENCES = (
    ("CrabNet", 0.346, "Matbench leaderboard, 5-fold mean"),
    ("MODNet", 0.333, "Matbench leaderboard, 5-fold mean"),
)
BASELINE = {
    "lr": 1e-4,
    "head_lr": 1e-3,
    "batch_size": 32,
    "max_epochs": 15,
    "patience": 4,
    "scheduler": "constant",
    "loss": "mse",
    # the per-parameter AdamW loop, as when this ablation was first measured (its runs stay
    # reusable); the fused kernel makes the same update up to rounding (speed benchmark (g))
    "optimizer": "adamw",
}
LONG = {"max_epochs": 20, "patience": None}
# name -> (slot, what it changes, TrainConfig overrides). Ingredients of one slot are alternatives.
INGREDIENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "l1": ("loss", "L1 loss (the metric is MAE)", {"loss": "l1"}),
    "robust-l1": ("loss", "CrabNet's robust L1 with a predicted log std", {"loss": "robust-l1"}),
    "gate": ("gate", "a sigmoid output gate to exactly 0 eV", {"output_gate": True}),
    "onecycle-20": (
        "schedule",
        "one-cycle lr (peak 5e-4 / head 5e-3) over 20 epochs, no early stopping",
        {**LONG, "scheduler": "onecycle", "lr": 5e-4, "head_lr": 5e-3},
    ),
    "cyclic-swa-20": (
        "schedule",
        "cyclic lr (peak 5e-4 / head 5e-3, floor 1/60 of it, a cycle every 2 epochs) over 20 epochs, "
        "weights averaged at the cycle minima of the second half",
        {**LONG, "scheduler": "cyclic", "lr": 5e-4, "head_lr": 5e-3, "swa": True},
    ),
    "jitter": ("augment", "2% fraction jitter on training batches", {"augment": "jitter"}),
    "batch-auto": ("batch", "CrabNet's batch-size rule (256 for this fold's rows)", {"batch_size": "auto"}),
}
# label -> (what it changes, TrainConfig overrides, strategy options, from scratch)
ENCODER_OPTIONS: dict[str, tuple[str, dict[str, Any], dict[str, Any], bool]] = {
    "recipe + elementwise head": (
        "CrabNet's residual head (1024-512-256-128) on every element, averaged",
        {"head": "elementwise"},
        {},
        False,
    ),
    "recipe (scratch) + elementwise head": (
        "CrabNet's residual head on every element, from random weights",
        {"head": "elementwise"},
        {},
        True,
    ),
    "recipe + elementwise head, head lr 5e-4": (
        "the same head trained at the encoder's lr (5e-4 peak) instead of the recipe's 5e-3",
        {"head": "elementwise", "head_lr": 5e-4},
        {},
        False,
    ),
    "recipe (scratch) + elementwise head, head lr 5e-4": (
        "the same head at the encoder's lr, from random weights",
        {"head": "elementwise", "head_lr": 5e-4},
        {},
        True,
    ),
    "recipe (scratch) + mat2vec": (
        "element embeddings start from mat2vec's principal components",
        {},
        {"element_init": "mat2vec"},
        True,
    ),
}
QUICK = {"size_cap": 200, "max_epochs": 1}
# overrides that belong to the DataConfig (the rest are TrainConfig fields)
DATA_FIELDS = ("augment", "jitter")


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Fine-tuning recipe ablation on one matbench_expt_gap fold: each ingredient alone, "
        "then the combination chosen on validation rows, pretrained and from scratch.",
    )
    common.add_common_args(p)
    p.add_argument("--fold", type=int, default=0, help="Matbench fold (default 0)")
    p.add_argument("--model", default=MODEL, help=f"the pretrained model (default {MODEL})")
    p.add_argument(
        "--ingredients",
        default=",".join(INGREDIENTS),
        metavar="LIST",
        help=f"ingredients to try (default {','.join(INGREDIENTS)})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every run and of the validation rows")
    p.add_argument("--size-cap", type=int, default=None, metavar="N", help="train on N rows (smoke)")
    p.add_argument("--max-epochs", type=int, default=None, help="override every row's epochs (smoke)")
    p.add_argument(
        "--only", default=None, metavar="ROWS", help="run only these rows (to split a run over processes)"
    )
    p.add_argument("--work-dir", default=None, metavar="DIR", help=f"default build/benchmarks/{NAME}[-quick]")
    p.add_argument("--fresh", action="store_true", help="retrain every run")
    return p


# ----------------------------------------------------------------------------------------------
# the choice rule (pure; unit-tested)


def choose_recipe(baseline_val: float, ingredient_val: dict[str, float]) -> dict[str, str]:
    """Per slot, the ingredient with the lowest validation MAE among those below the baseline's
    (ties: the first in ``INGREDIENTS`` order); slots where none beats the baseline are left out."""
    return common.choose_per_slot(baseline_val, ingredient_val, {n: v[0] for n, v in INGREDIENTS.items()})


def combined_overrides(names: list[str]) -> dict[str, Any]:
    return common.combined_overrides(INGREDIENTS, names)


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)

    from chemtl.data import load_dataset
    from chemtl.data.splits import matbench_folds, save_split
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.compare import model_fingerprint, strategy_config
    from chemtl.pretrained import resolve_model_dir
    from chemtl.training.config import DataConfig, TrainConfig
    from chemtl.training.manifest import indices_sha256

    names = [n.strip() for n in args.ingredients.split(",") if n.strip()]
    for n in names:
        if n not in INGREDIENTS:
            raise ChemtlError(f"--ingredients {n!r}: choose among {', '.join(INGREDIENTS)}")
    if not 0 <= args.fold < 5:
        raise ChemtlError(f"--fold {args.fold}: Matbench has folds 0 to 4")
    if args.size_cap is not None and args.size_cap < 20:
        raise ChemtlError(f"--size-cap {args.size_cap}: use at least 20 rows")
    only = None if args.only is None else {r.strip() for r in args.only.split(",") if r.strip()}
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    ds = load_dataset(DATASET)
    split = matbench_folds(ds.inputs)[args.fold]
    train = np.sort(split.train)
    if args.size_cap is not None:
        train = np.sort(np.random.default_rng(args.seed).choice(train, size=args.size_cap, replace=False))
    test = np.sort(split.test)
    sub_ds, sub_split = common.fold_subset(
        ds, split, train, test, args.fold, {"size_cap": args.size_cap, "cap_seed": args.seed}
    )
    tag = f"fold{args.fold}" + (f"_cap{args.size_cap}" if args.size_cap else "")
    split_path = save_split(sub_split, work / "splits" / f"{tag}.json", inputs=sub_ds.inputs)
    rows_sha = indices_sha256(train, test)
    data = DataConfig(dataset=DATASET, split_file=str(split_path), split="matbench", split_seed=args.seed)
    model_sha = model_fingerprint(resolve_model_dir(args.model))

    def train_config(overrides: dict[str, Any]) -> TrainConfig:
        cfg = {
            **BASELINE,
            **overrides,
            "seed": args.seed,
            "progress_bar": False,
            "checkpoint_every_n_steps": 500,
        }
        if args.max_epochs is not None:
            cfg["max_epochs"] = args.max_epochs
        return TrainConfig(**{k: v for k, v in cfg.items() if k not in DATA_FIELDS})

    def data_config(overrides: dict[str, Any]) -> DataConfig:
        return dataclasses.replace(data, **{k: v for k, v in overrides.items() if k in DATA_FIELDS})

    runs: dict[str, dict[str, Any]] = {}

    def run(
        label: str, overrides: dict[str, Any], scratch: bool = False, options: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        if only is not None and label not in only:
            return None
        strategy = strategy_config("scratch" if scratch else "full", None, **(options or {}))
        cfg, dcfg = train_config(overrides), data_config(overrides)
        run_dir = work / "runs" / tag / label.replace(" ", "_").replace("+", "plus")
        done = common.finetune_pinned(
            args.model, model_sha, DATASET, sub_ds, dcfg, rows_sha, cfg, strategy, run_dir, args.fresh, NAME
        )
        m = done.metrics
        out = {
            "label": label,
            "scratch": scratch,
            "overrides": overrides,
            "val_mae": m["val"]["mae"],
            "test_mae": m["test"]["mae"],
            "test_rmse": m["test"]["rmse"],
            "epochs_run": m.get("epochs_run"),
            "best_epoch": m.get("best_epoch"),
            "n_train": m.get("n_train"),
            "n_val": m.get("n_val"),
            "n_test": m.get("n_test"),
            "train_seconds": m.get("train_seconds"),
            "wall_seconds": round(float(done.stamp.get("wall_seconds") or 0.0), 2),
            "reused": done.reused,
            "predicted_std": m.get("test_predicted_std"),
            "train_config": cfg.to_dict(),
            "augment": dcfg.augment,
            "strategy": strategy.to_dict(),
        }
        runs[label] = out
        log(f"{label}: val MAE {out['val_mae']:.4f}, test MAE {out['test_mae']:.4f} eV "
            f"({out['wall_seconds']:.0f} s, best epoch {out['best_epoch']} of {out['epochs_run']})")  # fmt: skip
        return out

    base = run("baseline", {})
    for n in names:
        run(f"+ {n}", INGREDIENTS[n][2])
    complete = base is not None and all(f"+ {n}" in runs for n in names)
    chosen: dict[str, str] = {}
    if complete:
        chosen = choose_recipe(base["val_mae"], {n: runs[f"+ {n}"]["val_mae"] for n in names})
        recipe = combined_overrides(list(chosen.values()))
        log(f"recipe (chosen on validation MAE): {', '.join(chosen.values()) or 'the baseline itself'}")
        run("recipe", recipe)
        run("baseline (scratch)", {}, scratch=True)
        run("recipe (scratch)", recipe, scratch=True)
        for label, (_, extra, options, scratch) in ENCODER_OPTIONS.items():
            run(label, {**recipe, **extra}, scratch=scratch, options=options)
    if only is not None:
        log("--only: partial run, nothing published")
        return {}
    if not complete:
        raise ChemtlError("the baseline or an ingredient row did not run")
    missing = [label for label in ENCODER_OPTIONS if label not in runs]
    if missing:
        raise ChemtlError(f"encoder-option rows did not run: {', '.join(missing)}")

    # ---- numbers, verdicts, tables
    b, r = runs["baseline"], runs["recipe"]
    bs, rs = runs["baseline (scratch)"], runs["recipe (scratch)"]
    smoke = args.quick or args.size_cap is not None or args.max_epochs is not None
    targets = [
        common.target("recipe minus baseline, test MAE (pretrained)", common.rounded(r["test_mae"] - b["test_mae"]), 0.0, "<", "eV"),
        common.target("recipe minus baseline, test MAE (scratch)", common.rounded(rs["test_mae"] - bs["test_mae"]), 0.0, "<", "eV"),
        common.target(
            "recipe from scratch, test MAE on this fold (issue 14's 5-fold target for scratch: 0.38)",
            common.rounded(rs["test_mae"]), 0.38, "<=", "eV", "one fold, not the 5-fold mean: indicative",
        ),
    ]  # fmt: skip
    if smoke:
        targets = [common.withhold(t, "smoke run (size cap or epochs override)") for t in targets]
    table_rows = []
    for label, out in runs.items():
        if label in ENCODER_OPTIONS:
            continue
        what = "today's defaults" if label.startswith("baseline") else (
            INGREDIENTS[label[2:]][1] if label.startswith("+ ") else ", ".join(chosen.values()) or "= baseline"
        )  # fmt: skip
        table_rows.append([
            label, what, round(out["val_mae"], 4), round(out["test_mae"], 4),
            common.rounded(out["test_mae"] - (bs if out["scratch"] else b)["test_mae"]),
            f"{out['best_epoch']}/{out['epochs_run']}", round(out["wall_seconds"]),
        ])  # fmt: skip
    notes = [
        f"Chosen on validation MAE (rule fixed before the run): {', '.join(f'{k}: {v}' for k, v in chosen.items()) or 'nothing beat the baseline'}.",
        "Ingredients that did not beat the baseline's validation MAE: "
        + (", ".join(n for n in names if not runs[f"+ {n}"]["val_mae"] < b["val_mae"]) or "none")
        + ".",
        f"One fold ({args.fold}) and one seed ({args.seed}): differences of a few meV are within run-to-run noise; "
        "the 5-fold benchmark (matbench_expt_gap) is the judge.",
    ]
    encoder_rows, kept = [], []
    for label, (what, _, _, scratch) in ENCODER_OPTIONS.items():
        out, ref = runs[label], (rs if scratch else r)
        better = out["val_mae"] < ref["val_mae"]
        if better:
            kept.append(label)
        encoder_rows.append([
            label, what, round(out["val_mae"], 4), common.rounded(out["val_mae"] - ref["val_mae"]),
            round(out["test_mae"], 4), common.rounded(out["test_mae"] - ref["test_mae"]),
            "better on val" if better else "not better on val", f"{out['best_epoch']}/{out['epochs_run']}", round(out["wall_seconds"]),
        ])  # fmt: skip
    notes.append(
        "Encoder options (judged on validation MAE against their recipe row): "
        + (", ".join(kept) + " beat it" if kept else "none beat it")
        + "; the rest did not."
    )
    robust = runs.get("+ robust-l1")
    if robust and robust.get("predicted_std"):
        ps = robust["predicted_std"]
        notes.append(
            f"robust-l1's predicted std on the test rows: mean {ps['mean_std']:.3f} eV, implied RMSE "
            f"{ps['implied_rmse']:.3f} vs measured {ps['rmse']:.3f}, Spearman(std, |error|) {ps['spearman_std_abs_error']:.3f}."
        )
    payload = {
        "title": "Fine-tuning recipe ablation (matbench_expt_gap, one fold)",
        "measured": f"Test MAE (eV) of {args.model} fine-tuned (full) on Matbench fold {args.fold} of matbench_expt_gap, "
        "each ingredient alone, then the combination chosen on validation rows; the same from scratch.",
        "split": f"matbench fold {args.fold} (KFold(5, shuffle=True, random_state=18012019)); 10% of its training "
        f"side (seed {args.seed}) as validation rows" + (f"; training rows capped at {args.size_cap}" if args.size_cap else ""),
        "seed": args.seed,
        "targets": targets,
        "tables": [{
            "title": "Each ingredient alone, then the chosen recipe",
            "columns": ["row", "what changes", "val MAE", "test MAE", "test vs baseline", "best/epochs", "wall s"],
            "rows": table_rows,
            "note": "test vs baseline: minus the pretrained baseline (scratch rows: minus the scratch baseline).",
        }, {
            "title": "Encoder options on top of the recipe",
            "columns": ["row", "what changes", "val MAE", "val vs recipe", "test MAE", "test vs recipe", "verdict (val)", "best/epochs", "wall s"],
            "rows": encoder_rows,
            "note": "vs recipe: minus the recipe row (pretrained) or the recipe (scratch) row; 'better on val' marks a candidate for the 5-fold run (matbench_expt_gap), which decides.",
        }],  # fmt: skip
        "references": [{"name": n, "value": v, "source": s} for n, v, s in REFERENCES],
        "notes": notes,
        "data": {
            "dataset": DATASET,
            "fold": args.fold,
            "model": args.model,
            "model_sha256": model_sha,
            "baseline": BASELINE,
            "ingredients": {n: {"slot": INGREDIENTS[n][0], "what": INGREDIENTS[n][1], "overrides": INGREDIENTS[n][2]} for n in names},
            "chosen": chosen,
            "encoder_options": {k: {"what": v[0], "train": v[1], "strategy": v[2], "scratch": v[3]} for k, v in ENCODER_OPTIONS.items()},
            "encoder_options_better_on_val": kept,
            "runs": runs,
            "work_dir": str(work),
        },
    }  # fmt: skip
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
