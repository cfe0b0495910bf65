"""`chemtl compare`: every transfer strategy on identical splits and seeds, one table and one report.

The flags only build a ``CompareConfig`` (``chemtl.evaluate.compare``) and call ``compare``.
"""

from __future__ import annotations

import argparse

from chemtl.cli._common import (
    AUTO_BATCH_HELP,
    add_model_arg,
    add_progress_arg,
    add_strategy_options,
    add_training_data_args,
    add_verb,
    batch_size_arg,
    default_split,
    default_split_note,
    split_params_with_leakage,
    strategy_options,
)

DEFAULT_STRATEGIES = "full,feature,partial,prompt,lora,scratch"
# CLI defaults: a quick but real comparison (see docs: a demo-sized run takes minutes on 2 cores).
# Epochs and patience are lower than finetune's (50, 10) on purpose: a comparison trains every
# strategy x size x seed, so each run gets a shorter budget (raise them for a final answer).
DEFAULTS = {
    "epochs": 20,
    "patience": 5,
    "batch_size": 32,
    "lr": 1e-4,
    "head_lr": 1e-3,
}


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "compare",
        "run full / feature / partial / prompt / LoRA / scratch on identical splits: table + HTML report",
        """
        Fine-tune --model on the --target column of --data with every strategy in --strategies,
        at every training-set size in --train-sizes and with every seed, all on identical rows:
        the split comes from --split/--fold (default: the published matbench fold 0 for matbench
        datasets, a registered dataset's shipped split, otherwise a seeded 80/10/10 split of
        compounds, so no compound is on two sides); a size n takes the first n rows of
        a seeded permutation of the training side (smaller sizes are subsets of larger ones, the
        same rows for every strategy); validation and test rows never change.

        Writes into --out: summary.csv (strategy, size, metric mean and std over seeds,
        trainable and total parameters, training seconds, peak RSS, inference items/s),
        runs.csv, compare.json, report.html with figures/ (metric vs parameters and vs training
        time with the Pareto points, learning curves pretrained vs scratch, loss curves with
        overfitting marked), and one fine-tuning run directory per run under runs/.
        Prints the table, a recommendation and the report path.

        Run the same command again after an interruption or a failed run: finished runs whose
        settings are unchanged are reused, an interrupted one resumes from its checkpoint.
        """,
        """
        chemtl compare --model composition-small --data matbench_expt_gap --target target \\
            --strategies full,feature,partial,lora,prompt,scratch --size-cap 500 --epochs 8 \\
            --out runs/gap-compare
        chemtl datasets export matbench_expt_gap --out my_gaps.csv
        chemtl compare --model composition-small-mp --data my_gaps.csv --target target \\
            --train-sizes 50,100,200,500,all --seeds 0,1,2 --out runs/gap-curves
        chemtl compare --model composition-small --data matbench_expt_gap --fold 0,1,2,3,4 \\
            --strategies full,lora,scratch --out runs/gap-5fold
        chemtl compare --model smiles-small --data esol --split scaffold --strategies full,lora,prompt \\
            --lora-r 4 --lora-alpha 8 --num-virtual-tokens 5 --n-seeds 2 --out runs/esol-compare
        """,
    )
    add_model_arg(parser, "the pretrained model every strategy starts from")
    parser.add_argument("--out", required=True, metavar="DIR", help="the comparison directory to write")
    add_training_data_args(parser)
    split = parser.add_argument_group("split")
    split.add_argument(
        "--split",
        metavar="METHOD",
        help="random, grouped, matbench, kfold, scaffold, ... (default: matbench for matbench_* datasets, "
        "a registered dataset's shipped split, else grouped: random by compound)",
    )
    split.add_argument(
        "--split-param", action="append", metavar="KEY=VALUE", help="a split parameter, e.g. frac=0.8,0.1,0.1"
    )
    split.add_argument(
        "--fold",
        metavar="K[,K...]",
        help="which fold of a k-fold split, as on finetune (matbench: 0-4; default 0); several, "
        "comma-separated, are replicates like seeds",
    )
    split.add_argument(
        "--val-frac",
        type=float,
        default=0.1,
        help="validation share carved from train when the split has none",
    )
    split.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
    split.add_argument(
        "--split-file", metavar="FILE", help="a split saved by `chemtl split` instead of --split"
    )
    cmp = parser.add_argument_group("comparison")
    cmp.add_argument(
        "--strategies",
        default=DEFAULT_STRATEGIES,
        metavar="LIST",
        help=f"comma-separated (default {DEFAULT_STRATEGIES})",
    )
    cmp.add_argument(
        "--train-sizes",
        default="all",
        metavar="LIST",
        help="training-set sizes, e.g. 50,100,200,500,all (default all)",
    )
    seeds = cmp.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        metavar="LIST",
        help="seed values, comma-separated, e.g. 0,1,2 (`--seeds 3` is the single seed 3); each seed "
        "draws the training subset and seeds training (default 0)",
    )
    seeds.add_argument("--n-seeds", type=int, metavar="N", help="seeds 0..N-1 (same as --seeds 0,...,N-1)")
    seeds.add_argument("--seed", type=int, metavar="S", help="one seed, as on finetune (same as --seeds S)")
    cmp.add_argument(
        "--size-cap", type=int, metavar="N", help="clip every training-set size to N rows (quick runs)"
    )
    cmp.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        help="recommendation: 'within x of the best' (default 0.02 = 2%%)",
    )
    cmp.add_argument("--keep-checkpoints", action="store_true", help="keep each finished run's checkpoints/")
    cmp.add_argument(
        "--overwrite",
        action="store_true",
        help="accept other settings in an existing --out (runs with unchanged settings are still reused)",
    )
    strat = parser.add_argument_group(
        "strategy options (each goes to the strategies it belongs to, in every run)"
    )
    add_strategy_options(strat)
    train = parser.add_argument_group("training (every run)")
    train.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS["epochs"],
        help="most epochs (default %(default)s; finetune's is 50: a comparison trains every strategy, "
        "size and seed, so each run gets a shorter budget)",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=DEFAULTS["patience"],
        help="early stopping on validation loss (0: off; default %(default)s, finetune's is 10, for the "
        "same reason)",
    )
    train.add_argument(
        "--batch-size",
        type=batch_size_arg,
        default=DEFAULTS["batch_size"],
        metavar="N|auto",
        help=f"per run; {AUTO_BATCH_HELP} (default %(default)s)",
    )
    train.add_argument(
        "--lr", type=float, default=DEFAULTS["lr"], help="encoder learning rate (default %(default)s)"
    )
    train.add_argument(
        "--head-lr",
        type=float,
        default=DEFAULTS["head_lr"],
        help="head, prompt and prefix learning rate (default %(default)s; 0: same as --lr)",
    )
    train.add_argument(
        "--lr-decay",
        type=float,
        default=1.0,
        help="layer-wise decay: each layer below the top gets this factor more (default 1: none)",
    )
    train.add_argument("--weight-decay", type=float, default=0.01)
    from chemtl.cli.finetune import add_schedule_args

    add_schedule_args(train)
    train.add_argument("--precision", choices=("32", "bf16-mixed"), default="32")
    train.add_argument(
        "--devices",
        type=int,
        default=1,
        help="processes (CPU) or GPUs per run; >1 runs DDP, as on finetune (default 1)",
    )
    add_progress_arg(train, default=False)  # many runs: their one-line summaries go to stderr
    from chemtl.cli.finetune import add_features_arg, add_recipe_arg, add_regression_head_args

    add_regression_head_args(parser)
    add_features_arg(parser)
    add_recipe_arg(parser)
    parser.set_defaults(func=run, recipe_parser=parser)


def _split_params(items: list[str] | None) -> dict:
    import json

    from chemtl.errors import ChemtlError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ChemtlError(f"--split-param {item!r}: write KEY=VALUE")
        parsed = []
        for part in value.split(","):
            try:
                parsed.append(json.loads(part.strip()))
            except ValueError:
                parsed.append(part.strip())
        out[key.strip().replace("-", "_")] = parsed if len(parsed) > 1 else parsed[0]
    return out


def config_from_args(args: argparse.Namespace):
    from chemtl.cli.finetune import schedule_options
    from chemtl.evaluate.compare import CompareConfig, CompareError, parse_int_list, parse_seeds
    from chemtl.training.config import DataConfig, TrainConfig

    split = args.split or (None if args.split_file else default_split(args.data)) or "random"
    folds = parse_int_list(args.fold, "--fold") if args.fold else None
    if folds is None and split == "matbench" and not args.split_file:
        folds = (0,)
    if args.n_seeds is not None:
        if args.n_seeds < 1:
            raise CompareError(f"--n-seeds {args.n_seeds}: give a count >= 1")
        seeds: tuple[int, ...] = tuple(range(args.n_seeds))
    elif args.seed is not None:
        seeds = parse_seeds(str(args.seed), "--seed")
    else:
        seeds = parse_seeds(args.seeds if args.seeds is not None else "0")
    data = DataConfig(
        dataset=args.data,
        input_col=args.input_col,
        target_col=args.target,
        kind=args.kind,
        task=args.task,
        split=split,
        split_params=split_params_with_leakage(_split_params(args.split_param), args),
        fold=folds[0] if folds and len(folds) == 1 else None,
        val_frac=args.val_frac,
        split_seed=args.split_seed,
        split_file=args.split_file,
        max_length=args.max_length,
        skip_invalid=args.skip_invalid,
        augment=args.augment,
        jitter=args.jitter,
    )
    train = TrainConfig(
        lr=args.lr,
        head_lr=args.head_lr if args.head_lr else None,
        lr_decay=args.lr_decay,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.patience if args.patience else None,
        scheduler=args.scheduler,
        warmup_steps=args.warmup_steps,
        precision=args.precision,
        devices=args.devices,
        progress_bar=args.progress,
        loss=args.loss,
        output_gate=args.output_gate,
        head=args.head,
        features=args.features,
        **schedule_options(args),
    )
    return CompareConfig(
        model=args.model,
        data=data,
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        train_sizes=args.train_sizes,
        seeds=seeds,
        folds=folds if folds and len(folds) > 1 else None,
        train=train,
        **strategy_options(args),
        size_cap=args.size_cap,
        tolerance=args.tolerance,
        keep_checkpoints=args.keep_checkpoints,
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from chemtl.evaluate.compare import compare, format_table

    config = config_from_args(args)

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    result = compare(config, args.out, overwrite=args.overwrite, log=log, command=["chemtl", *sys.argv[1:]])
    sys.stdout.write(format_table(result.rows) + "\n\n")
    sys.stdout.write(result.recommendation + "\n\n")
    if not args.split and not args.split_file:
        sys.stdout.write(default_split_note(args.data) + "\n")
    report = result.paths.get("report_html", Path(args.out) / "summary.csv")
    sys.stdout.write(
        f"{len(result.records)} runs ({result.executed} trained, "
        f"{len(result.records) - result.executed - len(result.failed)} reused) in {result.wall_seconds:.0f} s\n"
        f"report: {report}\n"
    )
    if result.failed:
        sys.stderr.write(
            f"{len(result.failed)} run(s) failed (see runs.csv); run the same command again to retry them\n"
        )
        return 1
    return 0
