"""`chemtl predict`: predictions of a fine-tuned model directory (or an ensemble) on new inputs."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "predict",
        "predict a property for new formulas or SMILES with a fine-tuned model",
        """
        Predict with the fine-tuned model directory --model (the --out of `chemtl finetune`)
        for every row of --data, in the units of the training target (class labels and
        probabilities for classification), and write a csv. Give --model several times for
        an ensemble (e.g. runs with different --seed) and/or --mc-dropout N for N stochastic
        passes: the table then carries an `uncertainty` column (standard deviation for
        regression, entropy of the mean probabilities for classification). If --data has the
        model's target column, it is copied next to the predictions.
        """,
        """
        chemtl predict --model runs/gap --data new.csv --out preds.csv
        chemtl predict --model runs/gap-s0 --model runs/gap-s1 --model runs/gap-s2 --data new.csv --out preds.csv
        chemtl predict --model runs/gap --data new.csv --mc-dropout 20 --out preds.csv
        """,
    )
    parser.add_argument(
        "--model",
        required=True,
        action="append",
        metavar="DIR",
        help="a fine-tuned model directory (repeat for an ensemble)",
    )
    parser.add_argument(
        "--data", required=True, metavar="NAME|FILE", help="a registered dataset or a csv file"
    )
    parser.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES")
    parser.add_argument("--out", required=True, metavar="FILE", help="csv to write")
    parser.add_argument(
        "--mc-dropout", type=int, default=0, metavar="N", help="N passes with dropout on (uncertainty)"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="seed of the MC-dropout passes")
    parser.set_defaults(func=run)


def load_inputs(data: str, input_col: str | None, kind: str, target_col: str | None = None):
    """The strings to score (and their targets when the table has ``target_col``)."""
    from pathlib import Path

    from chemtl.data import load_dataset
    from chemtl.data.dataset import Dataset
    from chemtl.errors import DataError

    if Path(data).is_file():
        import csv

        with open(data, encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
        if target_col is not None and target_col in header:
            ds = load_dataset(data, input_col=input_col, kind=kind, target_col=target_col)
        else:  # no target column to compare with: read the inputs only
            ds = load_dataset(data, input_col=input_col, kind=kind, task="unlabelled")
    else:
        ds = load_dataset(data, input_col=input_col, kind=kind)
    if not isinstance(ds, Dataset):
        raise DataError(f"{data!r} is a streamed corpus, not a table to predict")
    return ds


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.atomic import atomic_open
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pipelines.predict import predict

    first = load_model_dir(args.model[0])
    ds = load_inputs(args.data, args.input_col, first.kind, first.meta.get("target"))
    table = predict(
        args.model, ds.inputs, mc_dropout=args.mc_dropout, batch_size=args.batch_size, seed=args.seed
    )
    if ds.targets is not None and ds.task in ("regression", "classification"):
        classes = ds.classes
        table.insert(
            1,
            "target",
            [classes[int(t)] for t in ds.targets] if ds.task == "classification" and classes else ds.targets,
        )
    with atomic_open(args.out, "w", encoding="utf-8", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.10g")
    sys.stdout.write(f"{len(table)} predictions -> {args.out}\n")
    return 0
