"""`chemtl select`: choose K compounds of a pool to label (k-means diversity or random)."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_data_args, add_model_arg, add_verb, report_rows, write_table


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "select",
        "choose K diverse compounds of a pool to label (k-means on a model's embeddings)",
        """
        Choose --n compounds of --data to label. kmeans (the default): k-means with --n centres
        on the pooled embeddings of --model, then the compound nearest each centre (a later
        centre whose nearest compound is taken gets its nearest free one), so the K compounds
        are distinct and spread over the pool; random: K compounds uniformly at random. Rows
        that repeat a compound (same reduced formula or canonical SMILES) count once.

        The csv written keeps every column of --data (ids, names, ...), one row per chosen
        compound, and adds selection_rank (1..K) and, for kmeans, cluster. The same selection
        is `chemtl finetune --select kmeans --n K` and `--support kmeans` in few-shot episodes.
        """,
        """
        chemtl datasets export esol --out esol.csv
        chemtl select --model smiles-small --data esol.csv --n 16 --method kmeans --out chosen.csv
        chemtl select --model smiles-small --data esol.csv --n 16 --method random --seed 1 --out random16.csv
        chemtl select --model composition-small --data matbench_expt_gap --n 10 --out gaps10.csv
        """,
    )
    add_model_arg(parser, "the encoder whose embeddings k-means clusters")
    add_data_args(parser, target=False)
    parser.add_argument("--n", type=int, required=True, metavar="K", help="how many compounds to choose")
    parser.add_argument(
        "--method", choices=("kmeans", "random"), default="kmeans", help="kmeans (default) or random"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of k-means / the random draw (default 0)")
    parser.add_argument("--out", required=True, metavar="FILE", help="csv to write")
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens per input, with [CLS]/[SEP] (default: the model's)",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.pipelines.select import select_table

    result = select_table(
        args.model,
        args.data,
        args.n,
        method=args.method,
        seed=args.seed,
        input_col=args.input_col,
        kind=args.kind,
        canonical=args.canonical,
        skip_invalid=args.skip_invalid,
        skipped_path=args.skipped_out,
        limit=args.limit,
        batch_size=args.batch_size,
        max_length=args.max_length,
    )
    report_rows(result.dataset.info, result.notes)
    write_table(result.table, args.out)
    sys.stdout.write(
        f"selected {len(result.table)} of {result.candidates} compounds ({args.method}, seed {args.seed}) "
        f"-> {args.out}\n"
    )
    return 0
