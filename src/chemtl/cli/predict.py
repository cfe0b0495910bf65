"""`chemtl predict`: predictions of a fine-tuned model directory (or an ensemble) on new inputs.

The output keeps every column of --data that is not the input (ids, names, ...), then
``input``, ``target`` (when the file has the model's target column and its values fit the
model's task) and the prediction columns, named as in ``predictions.csv`` of `chemtl finetune`.
``prediction`` is the eval-mode (dropout off) prediction, the mean of the members' for an
ensemble; ``uncertainty`` is the spread over the ensemble and/or the --mc-dropout passes
(``chemtl.pipelines.predict``).
"""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_data_args, add_model_arg, add_verb, report_rows, write_table


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "predict",
        "predict a property for new formulas or SMILES with a fine-tuned model",
        """
        Predict with the fine-tuned model directory --model (the --out of `chemtl finetune`)
        for every row of --data, in the units of the training target (class labels and
        probabilities for classification), and write a csv: every column of --data that is
        not the input (ids, names, ...), then input, target (the model's target column, or
        --target COL, when its values fit the model's task; otherwise it stays a plain
        column), prediction [, prob_<class> ...] [, uncertainty], as in finetune's
        predictions.csv.

        `prediction` is always the eval-mode prediction (dropout off); with --model given
        several times (an ensemble, e.g. runs with different --seed) it is the mean of the
        members' eval-mode predictions (of their class probabilities for classification).
        `uncertainty` is the spread: with --mc-dropout N (N >= 2 stochastic passes with
        dropout on, per member) the standard deviation of all passes (regression, ddof=0, in
        the target's units) or the entropy in nats of their mean class probabilities
        (classification); for an ensemble without --mc-dropout the same over the members.
        With --skip-invalid, bad rows are left out of the output and listed in --skipped-out.

        A prompt bank as --model (`chemtl finetune --bank DIR --task-name NAME`) predicts
        several tasks in one call: --task A,B (default: all of its tasks) gives columns
        prediction_A, prediction_B (and prob_<task>_<class> for classification tasks); the
        base weights are loaded once and every task runs on them.
        """,
        """
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --split matbench --fold 0 --epochs 5 --out runs/gap
        chemtl datasets export matbench_expt_gap --out gaps.csv
        chemtl predict --model runs/gap --data gaps.csv --out preds.csv
        chemtl predict --model runs/gap --data gaps.csv --mc-dropout 20 --out preds.csv
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --split matbench --fold 0 --epochs 5 --seed 1 --out runs/gap-s1
        chemtl predict --model runs/gap --model runs/gap-s1 --data gaps.csv --out preds.csv
        chemtl predict --model runs/gap --data gaps.csv --skip-invalid --skipped-out bad.csv --out preds.csv
        chemtl finetune --model composition-small-mp --data matbench_expt_gap --target target \\
            --strategy prompt --task-name band_gap --bank runs/bank
        chemtl finetune --model composition-small-mp --data matbench_mp_e_form --target target \\
            --strategy lora --task-name e_form --bank runs/bank
        chemtl predict --model runs/bank --task band_gap,e_form --data gaps.csv --out preds.csv
        """,
    )
    add_model_arg(parser, "a fine-tuned model directory", repeat=True, finetuned=True)
    add_data_args(
        parser,
        target_help="column with known targets to set beside the predictions "
        "(default: the model's target column, when the file has it)",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="csv to write")
    parser.add_argument(
        "--mc-dropout",
        type=int,
        default=0,
        metavar="N",
        help="N >= 2 passes with dropout on: their spread is the uncertainty (prediction stays eval-mode)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens per input, with [CLS]/[SEP] (default: the model's)",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="seed of the MC-dropout passes")
    parser.add_argument(
        "--task",
        metavar="NAMES",
        help="with a prompt bank as --model: the tasks to predict, comma-separated (default: all); "
        "columns prediction_<task> [, prob_<task>_<class>]",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.pipelines.bank import parse_tasks
    from chemtl.pipelines.predict import predict_table

    result = predict_table(
        args.model,
        args.data,
        input_col=args.input_col,
        target_col=args.target,
        kind=args.kind,
        canonical=args.canonical,
        skip_invalid=args.skip_invalid,
        skipped_path=args.skipped_out,
        limit=args.limit,
        mc_dropout=args.mc_dropout,
        batch_size=args.batch_size,
        seed=args.seed,
        max_length=args.max_length,
        tasks=parse_tasks(args.task) if args.task is not None else None,
    )
    report_rows(result.dataset.info, result.notes)
    write_table(result.table, args.out)
    sys.stdout.write(f"{len(result.table)} predictions -> {args.out}\n")
    return 0
