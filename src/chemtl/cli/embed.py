"""`chemtl embed`: pooled encoder embeddings of formulas or SMILES, and a PCA picture of them."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "embed",
        "embed formulas or SMILES with a model's encoder (a .npy matrix, a PCA picture)",
        """
        Write the pooled embedding of every row of --data, as the encoder of --model (a
        pretrained or a fine-tuned directory) computes it, to --out as a float32 .npy matrix
        (rows in data order). --plot FILE.png draws the first two principal components,
        coloured by the target column when the data has one (--target COL picks it).
        """,
        """
        chemtl embed --model models/comp-mlm --data matbench_expt_gap --out emb.npy --plot emb.png
        chemtl embed --model runs/gap --data new.csv --input-col formula --out emb.npy
        """,
    )
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="a pretrained or fine-tuned model directory"
    )
    parser.add_argument(
        "--data", required=True, metavar="NAME|FILE", help="a registered dataset or a csv file"
    )
    parser.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES")
    parser.add_argument(
        "--target", "--target-col", dest="target", metavar="COL", help="column to colour the picture by"
    )
    parser.add_argument("--out", required=True, metavar="FILE.npy", help="where to write the embeddings")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw a PCA picture")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import numpy as np

    from chemtl.atomic import atomic_open
    from chemtl.cli.predict import load_inputs
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pipelines.predict import embed, plot_embedding

    loaded = load_model_dir(args.model)
    ds = load_inputs(args.data, args.input_col, loaded.kind, args.target)
    emb = embed(args.model, ds.inputs, batch_size=args.batch_size)
    with atomic_open(args.out, "wb") as handle:
        np.save(handle, emb)
    sys.stdout.write(f"{emb.shape[0]} x {emb.shape[1]} embeddings -> {args.out}\n")
    if args.plot:
        colour = None
        if ds.targets is not None and ds.task in ("regression", "classification"):
            classes = ds.classes
            colour = (
                np.asarray([classes[int(t)] for t in ds.targets])
                if ds.task == "classification" and classes
                else np.asarray(ds.targets, dtype=float)
            )
        label = args.target or ds.info.get("target_col") or "target"
        plot_embedding(emb, args.plot, colour, colour_label=label, title=f"{ds.name}: PCA of {args.model}")
        sys.stdout.write(f"PCA picture -> {args.plot}\n")
    return 0
