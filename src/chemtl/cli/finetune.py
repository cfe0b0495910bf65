"""`chemtl finetune`: fine-tune a pretrained model directory on a labelled table.

Also home of the training flags that `chemtl pretrain` shares (``add_train_args``,
``train_config_from_args``).
"""

from __future__ import annotations

import argparse

from chemtl.cli._common import (
    AUTO_BATCH_HELP,
    add_fold_arg,
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

STRATEGY_NAMES = ("full", "feature", "partial", "scratch", "prompt", "prefix", "lora")


def _key_values(items: list[str] | None, flag: str) -> dict:
    """``["frac=0.8,0.1,0.1", "seed=3"]`` -> ``{"frac": [0.8, 0.1, 0.1], "seed": 3}``."""
    import json

    from chemtl.errors import ChemtlError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ChemtlError(f"{flag} {item!r}: write KEY=VALUE")
        parts = [v.strip() for v in value.split(",")]
        parsed = []
        for p in parts:
            try:
                parsed.append(json.loads(p))
            except ValueError:
                parsed.append(p)
        out[key.strip().replace("-", "_")] = parsed if len(parsed) > 1 else parsed[0]
    return out


SCHEDULER_HELP = (
    "learning-rate schedule (default %(default)s): constant, linear or cosine after --warmup-steps; "
    "onecycle (torch's OneCycleLR: up from lr/25 to lr over the first 30%% of steps, then down to "
    "lr/25/1e4); cyclic (triangular between lr * --cycle-min-ratio and lr, one cycle every "
    "--cycle-epochs epochs, as CrabNet); each scales every parameter group's own lr"
)


def add_schedule_args(g, **defaults) -> None:
    """--scheduler, --warmup-steps, --cycle-epochs, --cycle-min-ratio, --swa, --swa-start."""
    from chemtl.training.config import CYCLE_MIN_RATIO, SCHEDULERS

    g.add_argument(
        "--scheduler", choices=SCHEDULERS, default=defaults.get("scheduler", "constant"), help=SCHEDULER_HELP
    )
    g.add_argument(
        "--warmup-steps",
        type=int,
        default=defaults.get("warmup_steps", 0),
        help="linear warm-up steps before constant, linear or cosine (default %(default)s)",
    )
    g.add_argument(
        "--cycle-epochs",
        type=int,
        default=2,
        metavar="N",
        help="--scheduler cyclic: epochs per cycle, half up, half down (default %(default)s)",
    )
    g.add_argument(
        "--cycle-min-ratio",
        type=float,
        default=CYCLE_MIN_RATIO,
        metavar="R",
        help="--scheduler cyclic: the lowest lr as a fraction of --lr (default 1/60: CrabNet's 1e-4 to 6e-3)",
    )
    g.add_argument(
        "--swa",
        action="store_true",
        help="average the weights at epoch ends from --swa-start on (with cyclic: at the cycle minima); "
        "the average is the trained model, its validation loss swa_val_loss in metrics.json",
    )
    g.add_argument(
        "--swa-start",
        type=float,
        default=0.5,
        metavar="F",
        help="--swa: fraction of the training steps after which snapshots are averaged (default %(default)s)",
    )
    g.add_argument(
        "--optimizer",
        choices=("adamw-fused", "adamw"),
        default="adamw-fused",
        help="AdamW as torch's fused kernel, or its per-parameter loop (what runs before 2026-12-01 used: "
        "give it to resume one of those) (default %(default)s)",
    )


def add_train_args(parser: argparse.ArgumentParser, *, auto_batch: bool = False, **defaults) -> None:
    """Optimiser, schedule, stopping, seed, devices, checkpoint and resume flags; ``auto_batch``:
    --batch-size also takes ``auto`` (finetune, which resolves it from its training rows)."""
    g = parser.add_argument_group("training")
    g.add_argument(
        "--lr",
        type=float,
        default=defaults.get("lr", 1e-4),
        help="encoder learning rate (default %(default)s)",
    )
    g.add_argument(
        "--head-lr",
        type=float,
        default=defaults.get("head_lr", 1e-3),
        help="learning rate of the head, prompts and prefixes (default %(default)s; 0: same as --lr)",
    )
    g.add_argument(
        "--lr-decay",
        type=float,
        default=1.0,
        help="layer-wise decay: each layer below the top gets this factor more (default 1: none)",
    )
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument(
        "--batch-size",
        type=batch_size_arg if auto_batch else int,
        default=defaults.get("batch_size", 32),
        metavar="N|auto" if auto_batch else "N",
        help="per process" + (f"; {AUTO_BATCH_HELP}" if auto_batch else "") + " (default %(default)s)",
    )
    g.add_argument(
        "--epochs", type=int, default=defaults.get("epochs", 50), help="most epochs (default %(default)s)"
    )
    g.add_argument("--max-steps", type=int, help="most optimiser steps (stops at whichever comes first)")
    g.add_argument(
        "--patience",
        type=int,
        default=defaults.get("patience", 10),
        help="early stopping: epochs without a better validation loss (0: off; default %(default)s)",
    )
    add_schedule_args(g, **defaults)
    g.add_argument("--grad-clip", type=float, default=1.0, help="gradient norm clip (0: off)")
    g.add_argument(
        "--seed", type=int, default=0, help="seeds everything; same seed, same numbers (default 0)"
    )
    g.add_argument("--precision", choices=("32", "bf16-mixed"), default="32")
    g.add_argument("--num-workers", type=int, default=0, help="dataloader worker processes (default 0)")
    add_progress_arg(g)
    d = parser.add_argument_group("devices and distribution")
    d.add_argument(
        "--devices",
        type=int,
        default=1,
        help="processes (CPU) or GPUs per node; >1 runs DDP (gloo on the CPU) (default 1)",
    )
    d.add_argument(
        "--num-nodes", type=int, default=1, help="nodes of a multi-node run (see docs/DISTRIBUTED.md)"
    )
    d.add_argument("--accelerator", choices=("cpu", "gpu", "auto"), default="cpu")
    r = parser.add_argument_group("checkpoints")
    r.add_argument(
        "--checkpoint-every",
        type=int,
        default=defaults.get("checkpoint_every", 50),
        metavar="N",
        help="write checkpoints/last.ckpt every N steps, besides every epoch (default %(default)s)",
    )
    r.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    r.add_argument("--overwrite", action="store_true", help="replace a finished or interrupted run in --out")


def train_config_from_args(args: argparse.Namespace):
    from chemtl.training.config import TrainConfig

    return TrainConfig(
        lr=args.lr,
        head_lr=args.head_lr if args.head_lr else None,
        lr_decay=args.lr_decay,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        max_steps=args.max_steps,
        patience=args.patience if args.patience else None,
        seed=args.seed,
        devices=args.devices,
        num_nodes=args.num_nodes,
        accelerator=args.accelerator,
        precision=args.precision,
        num_workers=args.num_workers,
        scheduler=args.scheduler,
        warmup_steps=args.warmup_steps,
        grad_clip=args.grad_clip if args.grad_clip else None,
        checkpoint_every_n_steps=args.checkpoint_every,
        progress_bar=args.progress,
        loss=getattr(args, "loss", "mse"),
        output_gate=getattr(args, "output_gate", False),
        head=getattr(args, "head", "pooled"),
        features=getattr(args, "features", "none"),
        **schedule_options(args),
    )


def add_regression_head_args(parser: argparse.ArgumentParser) -> None:
    """``--loss`` and ``--output-gate`` (regression heads: finetune, adapt) and ``--head``."""
    g = parser.add_argument_group("regression head")
    g.add_argument(
        "--loss",
        choices=("mse", "l1", "robust-l1"),
        default="mse",
        help="regression loss, also the validation loss that picks the best epoch; robust-l1 "
        "predicts each row's standard deviation too (predictions.csv and `chemtl predict` report "
        "it as predicted_std) (default %(default)s)",
    )
    g.add_argument(
        "--output-gate",
        action="store_true",
        help="a sigmoid gate that lets the head predict exactly 0 (targets with many zeros, such as "
        "metals' band gaps)",
    )
    parser.add_argument(
        "--head",
        choices=("pooled", "elementwise"),
        default="pooled",
        help="property head: an MLP on the pooled embedding, or (compositions) CrabNet's residual MLP "
        "on every element, averaged over the elements (default %(default)s)",
    )


def add_features_arg(parser: argparse.ArgumentParser) -> None:
    """``--features`` (finetune, compare): molecule features beside the pooled embedding."""
    from chemtl.training.config import FEATURES

    parser.add_argument(
        "--features",
        choices=FEATURES,
        default="none",
        help="SMILES/SELFIES models: concatenate classic features to the pooled embedding before the "
        "head, as Chemprop's feature generators: morgan (2048 Morgan bits, radius 2, unscaled) or rdkit "
        "(RDKit's 2D descriptors, standardised on the training rows; the scaling is saved in the "
        "model's config.json, so `chemtl predict` applies the same) (default %(default)s)",
    )


def add_recipe_arg(parser: argparse.ArgumentParser) -> None:
    """``--recipe NAME``: start from a named set of flag defaults (``chemtl.training.recipes``)."""
    from chemtl.training.recipes import RECIPES

    parser.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        help="start from a named recipe's flag defaults; flags you give still win. "
        + "; ".join(
            f"{name}: "
            + ", ".join(
                f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in RECIPES[name].items()
            )
            + f" (chosen on {where} validation rows by `chemtl benchmark {bench}`)"
            for name, where, bench in (
                ("converge", "matbench_expt_gap", "recipe"),
                ("molecule", "Lipophilicity scaffold-split", "molecule_recipe"),
            )
        ),
    )


def schedule_options(args: argparse.Namespace) -> dict:
    """The TrainConfig fields of ``add_schedule_args``'s flags beyond --scheduler/--warmup-steps."""
    return {
        "cycle_epochs": args.cycle_epochs,
        "cycle_min_ratio": args.cycle_min_ratio,
        "swa": args.swa,
        "swa_start": args.swa_start,
        "optimizer": args.optimizer,
    }


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "finetune",
        "fine-tune a pretrained model on a labelled table (full, feature, partial, scratch, prompt, prefix, lora)",
        """
        Fine-tune the encoder in --model on the --target column of --data with a transfer
        strategy. Regression targets are standardised internally and reported in your units.
        Training stops early on the validation loss and keeps the best weights; the same
        command and --seed give the same numbers on the CPU.

        With --bank DIR --task-name NAME (strategies prompt, prefix, lora) the task goes into a
        prompt bank: the base weights once, per task only its prompt/adapter, head, metrics and
        run record; a name already in the bank is refused unless --overwrite; every task must
        use the same base model. `chemtl predict --model DIR --task A,B` predicts several.

        --out DIR becomes a model directory (use it with `chemtl predict`) and holds
        metrics.json, predictions.csv, manifest.json, train_config.json, logs/metrics.csv
        (curves) and checkpoints/last.ckpt. After an interruption, run the same command with
        --resume to finish with the numbers an uninterrupted run gives. --devices 2 runs two
        DDP processes on the CPU; torchrun and multi-node: docs/DISTRIBUTED.md.
        """,
        """
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --strategy partial --trainable-layers 2 --split matbench --fold 0 --out runs/gap
        chemtl finetune --model smiles-small --data esol --target target --strategy lora \\
            --lora-r 8 --split scaffold --out runs/esol-lora
        chemtl finetune --model smiles-small --data esol --target target --features rdkit \\
            --split scaffold --out runs/esol-rdkit   # RDKit descriptors beside the embedding
        chemtl datasets export matbench_expt_gap --out gaps.csv
        chemtl finetune --model composition-small --data gaps.csv --target target --strategy full \\
            --lr 5e-5 --head-lr 1e-3 --lr-decay 0.8 --out runs/mine
        chemtl finetune --model composition-small --data gaps.csv --target target --strategy full \\
            --lr 5e-5 --head-lr 1e-3 --lr-decay 0.8 --out runs/mine --resume    # after a kill
        chemtl finetune --model composition-small --data gaps.csv --target target --devices 2 \\
            --out runs/ddp                                # two DDP processes on the CPU
        chemtl finetune --model composition-small-mp --data gaps.csv --target target --select kmeans \\
            --n 16 --out runs/gap16                       # 16 diverse training rows
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --strategy prompt --prompt-init vocab --task-name band_gap --bank runs/bank
        chemtl finetune --model composition-small-mp --data gaps.csv --target target --strategy prompt \\
            --prompt-init vocab --freeze-prompt --out runs/gap-fixed   # a fixed prompt: only the head trains
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --augment jitter --jitter 0.02 --batch-size auto --out runs/gap-aug   # CrabNet's jitter and batch rule
        """,
    )
    add_model_arg(parser, "the pretrained (or a fine-tuned) model")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="the run directory to write (required unless --bank; with --bank it is kept as well)",
    )
    add_training_data_args(parser)
    split = parser.add_argument_group("split")
    split.add_argument(
        "--split",
        metavar="METHOD",
        help="random, grouped, matbench, kfold, scaffold, shipped, ... (default: the matbench folds "
        "for matbench_* datasets, a registered dataset's shipped split, else grouped: random by "
        "compound; see `chemtl split --help`)",
    )
    split.add_argument(
        "--split-param",
        action="append",
        metavar="KEY=VALUE",
        help="a parameter of the split method, e.g. frac=0.8,0.1,0.1 (repeatable)",
    )
    add_fold_arg(split)
    split.add_argument(
        "--val-frac",
        type=float,
        default=0.1,
        help="validation share carved from train when the split has none (default 0.1)",
    )
    split.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
    split.add_argument(
        "--split-file", metavar="FILE", help="a split saved by `chemtl split` instead of --split"
    )
    split.add_argument(
        "--select",
        choices=("kmeans", "random"),
        help="train on only --n rows of the training side, chosen by k-means on the model's "
        "embeddings (as `chemtl select`) or at random (seed --split-seed); val/test untouched",
    )
    split.add_argument("--n", type=int, metavar="K", help="how many training rows --select keeps")
    strat = parser.add_argument_group("transfer strategy")
    strat.add_argument(
        "--strategy",
        default="full",
        metavar="NAME",
        help=f"one of {', '.join(STRATEGY_NAMES)} (default full)",
    )
    add_strategy_options(strat, freeze_prompt=True)
    bank = parser.add_argument_group("prompt bank (one frozen encoder, many properties)")
    bank.add_argument(
        "--bank",
        metavar="DIR",
        help="add the trained task (prompt, prefix or lora) to this bank: the base weights once, per "
        "task its prompt/adapter and head; the first task creates it (see chemtl.pipelines.bank)",
    )
    bank.add_argument(
        "--task-name",
        metavar="NAME",
        help="the task's name in the bank (its predict column: prediction_NAME)",
    )
    add_train_args(parser, auto_batch=True)
    add_regression_head_args(parser)
    add_features_arg(parser)
    add_recipe_arg(parser)
    parser.set_defaults(func=run, recipe_parser=parser)


def strategy_config_from_args(args: argparse.Namespace):
    from chemtl.transfer import StrategyConfig

    return StrategyConfig(name=args.strategy, **strategy_options(args))


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.errors import ChemtlError
    from chemtl.pipelines.finetune import finetune
    from chemtl.training.config import DataConfig

    strategy = strategy_config_from_args(args)
    data = DataConfig(
        dataset=args.data,
        input_col=args.input_col,
        target_col=args.target,
        kind=args.kind,
        task=args.task,
        split=args.split or ("random" if args.split_file else default_split(args.data)),
        split_params=split_params_with_leakage(_key_values(args.split_param, "--split-param"), args),
        fold=args.fold,
        val_frac=args.val_frac,
        split_seed=args.split_seed,
        split_file=args.split_file,
        max_length=args.max_length,
        skip_invalid=args.skip_invalid,
        select=args.select,
        select_n=args.n,
        augment=args.augment,
        jitter=args.jitter,
    )
    train = train_config_from_args(args)
    if args.bank is None and args.task_name is not None:
        raise ChemtlError(f"--task-name {args.task_name!r} needs --bank DIR (the bank to add the task to)")
    if args.bank is not None:
        if args.task_name is None:
            raise ChemtlError(f"--bank {args.bank!r} needs --task-name NAME (the task's name in the bank)")
        from chemtl.pipelines.bank import finetune_to_bank

        done = finetune_to_bank(
            args.model,
            data,
            train,
            strategy,
            args.bank,
            args.task_name,
            out_dir=args.out,
            resume=args.resume,
            overwrite=args.overwrite,
        )
        if done.metrics is not None:
            m = done.metrics
            scores = ", ".join(f"{k} {v:.4g}" for k, v in (m["test"] or {}).items() if v is not None)
            sys.stdout.write(
                f"{m['strategy']} on {m['dataset']} ({m['task']}): test {scores}; "
                f"{m['trainable_params']} trainable parameters -> task {args.task_name!r} of bank "
                f"{args.bank} ({len(done.info['tasks'])} task(s))\n"
            )
        return 0
    if args.out is None:
        raise ChemtlError("finetune needs --out DIR (or --bank DIR --task-name NAME)")
    result = finetune(
        args.model, data, train, strategy, args.out, resume=args.resume, overwrite=args.overwrite
    )
    if result.is_global_zero and result.metrics is not None:
        m = result.metrics
        scores = ", ".join(f"{k} {v:.4g}" for k, v in (m["test"] or {}).items() if v is not None)
        chosen = m.get("selection")
        picked = (
            f"; train = {chosen['n']} of {chosen['from_train_rows']} rows chosen by {chosen['method']}"
            if chosen
            else ""
        )
        sys.stdout.write(
            f"{m['strategy']} on {m['dataset']} ({m['task']}, {m['n_train']}/{m['n_val']}/{m['n_test']} rows{picked}): "
            f"test {scores}; best epoch {m['best_epoch']} of {m['epochs_run']}, {m['train_seconds']:.1f} s, "
            f"peak RSS {m['peak_rss_mb']:.0f} MB -> {args.out}\n"
        )
        if not args.split and not args.split_file:
            sys.stdout.write(default_split_note(args.data) + "\n")
    return 0
