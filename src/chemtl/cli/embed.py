"""`chemtl embed`: pooled encoder embeddings of formulas or SMILES, and a PCA picture of them."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_data_args, add_model_arg, add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "embed",
        "embed formulas or SMILES with a model's encoder (a .npy matrix, a PCA picture)",
        """
        Write the pooled embedding of every row of --data, as the encoder of --model (a
        shipped or pretrained model, or a fine-tuned directory) computes it, to --out as a
        float32 .npy matrix (rows in data order; with --skip-invalid the bad rows are left out
        and listed in --skipped-out). --plot FILE.png draws the first two principal
        components, coloured by --target COL (default: a registered dataset's target, or the
        column named as a fine-tuned model's target).
        """,
        """
        chemtl embed --model composition-small --data matbench_expt_gap --out emb.npy --plot emb.png
        chemtl datasets export matbench_expt_gap --out gaps.csv
        chemtl embed --model composition-small-mp --data gaps.csv --input-col formula --target target \\
            --out emb.npy --plot emb.png
        chemtl embed --model smiles-small --data esol --max-length 128 --out esol.npy
        """,
    )
    add_model_arg(parser, "the encoder")
    add_data_args(parser, target_help="column to colour the picture by")
    parser.add_argument("--out", required=True, metavar="FILE.npy", help="where to write the embeddings")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw a PCA picture")
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens per input, with [CLS]/[SEP] (default: the model's)",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.set_defaults(func=run)


def _colour(values: list[str]):
    """Numbers (a colour bar) when every cell is one, else labels (a legend)."""
    import numpy as np

    try:
        return np.asarray([float(v) for v in values], dtype=float)
    except ValueError:
        return np.asarray(values)


def run(args: argparse.Namespace) -> int:
    import sys

    import numpy as np

    from chemtl.atomic import atomic_open
    from chemtl.errors import DataError
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pipelines.predict import embed, load_table, plot_embedding

    loaded = load_model_dir(args.model)
    ds, columns = load_table(
        args.data,
        model_kind=loaded.kind,
        input_col=args.input_col,
        target_col=args.target,
        kind=args.kind,
        canonical=args.canonical,
        skip_invalid=args.skip_invalid,
        skipped_path=args.skipped_out,
        limit=args.limit,
    )
    if ds.info.get("skipped"):
        sys.stderr.write(
            f"skipped {ds.info['skipped']} invalid row(s); listed in {ds.info['skipped_path']}\n"
        )
    emb = embed(args.model, ds.inputs, batch_size=args.batch_size, max_length=args.max_length)
    with atomic_open(args.out, "wb") as handle:
        np.save(handle, emb)
    sys.stdout.write(f"{emb.shape[0]} x {emb.shape[1]} embeddings -> {args.out}\n")
    if args.plot:
        named = ds.info.get("source") == "registry"
        label = args.target or ("target" if named else loaded.meta.get("target"))
        key = "target" if named else label
        if args.target and key not in columns:
            raise DataError(f"{args.data}: no column {args.target!r} to colour by")
        colour = _colour(columns[key]) if key in columns else None
        plot_embedding(
            emb, args.plot, colour, colour_label=label or "", title=f"{ds.name}: PCA of {args.model}"
        )
        sys.stdout.write(f"PCA picture -> {args.plot}\n")
    return 0
