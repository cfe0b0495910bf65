"""`chemtl adapt`: domain adaptation of a pretrained model from a labelled source to an
unlabelled target table (DANN, or the source-only control)."""

from __future__ import annotations

import argparse

from chemtl.cli._common import (
    KIND_CHOICES,
    add_fold_arg,
    add_model_arg,
    add_strategy_options,
    add_verb,
    strategy_options,
)


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "adapt",
        "adapt a pretrained model from a labelled source table to an unlabelled target (DANN)",
        """
        Fine-tune --model on the --source table's labels while a domain classifier on the
        pooled embedding, behind a gradient reversal layer (lambda on Ganin's schedule), makes
        the embeddings of --source and --target rows indistinguishable (--method dann); or the
        same pipeline without the domain loss reaching the encoder (--method source-only, the
        control). The target is used without its labels: they are read only by --evaluate
        (target metrics in the report) or --target-labels N (N labelled target rows train too).

        Model selection never looks at target labels: the source validation loss by default,
        or --selection dev, the importance-weighted validation loss (DEV, You et al. 2019:
        source validation losses weighted by the domain classifier's density ratios).
        Regression targets only. --out DIR becomes a model directory (use it with `chemtl
        predict`) with metrics.json (before/after domain-gap numbers where available),
        predictions.csv, manifest.json and checkpoints; --resume finishes a killed run with the
        uninterrupted numbers.
        """,
        """
        chemtl adapt --model composition-small-mp --source matbench_mp_gap --target matbench_expt_gap \\
            --target-col target --method dann --evaluate --max-steps 2000 --out runs/gap-dann
        """,
    )
    add_model_arg(parser, "the pretrained (or a fine-tuned) model")
    parser.add_argument("--out", required=True, metavar="DIR", help="the run directory to write")
    d = parser.add_argument_group("domains")
    d.add_argument("--source", required=True, metavar="NAME|FILE", help="the labelled source table")
    d.add_argument("--target", required=True, metavar="NAME|FILE", help="the target table (labels unused)")
    d.add_argument(
        "--target-col",
        metavar="COL",
        help="the property's column: the target's labels (read only by --evaluate, --target-labels) "
        "and the source's unless --source-col",
    )
    d.add_argument("--source-col", metavar="COL", help="the source's label column (default --target-col)")
    d.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES (files)")
    d.add_argument("--kind", choices=KIND_CHOICES, help="representation (default: detected)")
    d.add_argument(
        "--skip-invalid", action="store_true", help="skip invalid rows instead of refusing the file"
    )
    d.add_argument("--max-length", type=int, default=256, help="tokens per input (default 256)")
    a = parser.add_argument_group("adaptation")
    a.add_argument("--method", default="dann", metavar="NAME", help="dann or source-only (default dann)")
    a.add_argument(
        "--target-labels", type=int, metavar="N", help="N labelled target rows (drawn with --seed) train too"
    )
    a.add_argument(
        "--selection",
        default="source-val",
        metavar="HOW",
        help="model selection: source-val (source validation loss; default) or dev (importance-weighted)",
    )
    a.add_argument(
        "--domain-weight", type=float, default=1.0, help="the most lambda reaches (default %(default)s)"
    )
    a.add_argument("--evaluate", action="store_true", help="report metrics on the target's labelled rows")
    a.add_argument(
        "--diagnostics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="domain-gap numbers before and after in metrics.json (default on)",
    )
    s = parser.add_argument_group("source split")
    s.add_argument("--split", metavar="METHOD", help="the source's split (default: as finetune chooses it)")
    s.add_argument(
        "--split-param", action="append", metavar="KEY=VALUE", help="a split parameter (repeatable)"
    )
    add_fold_arg(s)
    s.add_argument(
        "--val-frac", type=float, default=0.1, help="validation share carved from train (default 0.1)"
    )
    s.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
    strat = parser.add_argument_group("transfer strategy")
    strat.add_argument("--strategy", default="full", metavar="NAME", help="as chemtl finetune (default full)")
    add_strategy_options(strat)
    from chemtl.cli.finetune import add_regression_head_args, add_train_args

    add_train_args(parser)
    add_regression_head_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.cli.finetune import _key_values, train_config_from_args
    from chemtl.pipelines.adapt import adapt
    from chemtl.transfer import StrategyConfig
    from chemtl.transfer.adapt import AdaptConfig

    config = AdaptConfig(
        source=args.source,
        target=args.target,
        target_col=args.target_col,
        source_col=args.source_col,
        input_col=args.input_col,
        kind=args.kind,
        method=args.method,
        target_labels=args.target_labels,
        selection=args.selection,
        domain_weight=args.domain_weight,
        evaluate=args.evaluate,
        seed=args.seed,
        split=args.split or "auto",
        split_params=_key_values(args.split_param, "--split-param"),
        fold=args.fold,
        val_frac=args.val_frac,
        split_seed=args.split_seed,
        max_length=args.max_length,
        skip_invalid=args.skip_invalid,
        diagnostics=args.diagnostics,
    )
    strategy = StrategyConfig(name=args.strategy, **strategy_options(args))
    train = train_config_from_args(args)
    result = adapt(
        args.model, config, train, args.out, strategy=strategy, resume=args.resume, overwrite=args.overwrite
    )
    if result.is_global_zero and result.metrics is not None:
        m = result.metrics
        parts = [f"{m['method']} {m['source_dataset']} -> {m['target_dataset']}"]
        val = (m["source"] or {}).get("val") or {}
        if "mae" in val:
            parts.append(f"source val MAE {val['mae']:.4g}")
        if m["target"]:
            parts.append(f"target MAE {m['target']['mae']:.4g} ({m['target']['n']} rows)")
        if m["best_epoch"] is not None:
            parts.append(f"best epoch {m['best_epoch']} of {m['epochs_run']} by {m['selection']}")
        else:  # stopped by --max-steps inside the first epoch: no validation pass picked weights
            parts.append(f"stopped at step {m.get('global_step')} before a full epoch: the last weights")
        sys.stdout.write("; ".join(parts) + f" -> {args.out}\n")
    return 0
