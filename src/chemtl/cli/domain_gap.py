"""`chemtl domain-gap`: how far a target dataset lies from a source dataset in a model's
embedding space (MMD, proxy A-distance, nearest-neighbour shift, a PCA picture)."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_model_arg, add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "domain-gap",
        "measure the shift between a source and a target dataset in a model's embedding space",
        """
        Embed the distinct inputs of --source and --target (registered datasets or csv files,
        of one kind) with the encoder of --model and compare the two sets: the unbiased MMD^2
        (RBF kernel, median-heuristic bandwidth) with a permutation p-value, the proxy
        A-distance 2(1-2e) of a cross-validated linear domain classifier's balanced error e
        (about 0: indistinguishable, 2: separable), and the fraction of target compounds whose
        nearest source neighbour is farther than the source's own 95th percentile of
        nearest-neighbour distances. --out DIR gets domain_gap.json (the numbers, data
        hashes, versions) and domains.png (both sets in two principal components). --limit N
        draws N distinct inputs per side (seeded): the MMD holds a kernel matrix of both sides,
        so at most 10000 inputs in all.
        """,
        """
        chemtl domain-gap --model composition-small-mp --source matbench_mp_gap \\
            --target matbench_expt_gap --limit 2000 --out runs/gap
        """,
    )
    add_model_arg(parser, "the encoder")
    parser.add_argument("--source", required=True, metavar="NAME|FILE", help="the source data")
    parser.add_argument("--target", required=True, metavar="NAME|FILE", help="the target data")
    parser.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES (files)")
    parser.add_argument(
        "--source-col",
        metavar="COL",
        help="the source's label column (only checked: the diagnostics use no labels)",
    )
    parser.add_argument(
        "--target-col",
        metavar="COL",
        help="the target's label column (only checked: the diagnostics use no labels)",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="at most N distinct inputs per side, drawn with --seed"
    )
    parser.add_argument("--seed", type=int, default=0, help="subsample, permutation and CV seed (default 0)")
    parser.add_argument(
        "--permutations",
        type=int,
        default=200,
        metavar="N",
        help="MMD permutations for the p-value (default 200; 0: none)",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="where to write domain_gap.json and domains.png"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a report already in --out")
    parser.set_defaults(func=run)


def format_report(report: dict) -> str:
    """The few lines `chemtl domain-gap` prints."""
    mmd, a, nn = report["mmd"], report["a_distance"], report["nn_shift"]
    p = "n/a" if mmd["p_value"] is None else f"{mmd['p_value']:.4g}"
    src, tgt = report["source"], report["target"]
    return "\n".join(
        [
            f"source {src['name']}: {src['used']} inputs; target {tgt['name']}: {tgt['used']} inputs",
            f"MMD^2 (unbiased, RBF, bandwidth {mmd['bandwidth']:.4g}): {mmd['mmd2']:.4g}, "
            f"permutation p-value {p}",
            f"proxy A-distance: {a['a_distance']:.3f} (domain classifier error {a['error']:.3f})",
            f"target beyond the source's 95th-percentile neighbour distance ({nn['threshold']:.4g}): "
            f"{100 * nn['fraction']:.1f}%",
        ]
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from chemtl.errors import ChemtlError
    from chemtl.pipelines.domain_gap import FIGURE_FILE, REPORT_FILE, domain_gap_report

    if args.permutations < 0:
        raise ChemtlError(f"--permutations must be 0 or more, got {args.permutations}")
    report = domain_gap_report(
        args.model,
        args.source,
        args.target,
        args.out,
        input_col=args.input_col,
        source_col=args.source_col,
        target_col=args.target_col,
        limit=args.limit,
        seed=args.seed,
        n_permutations=args.permutations,
        overwrite=args.overwrite,
    )
    out = Path(args.out)
    sys.stdout.write(format_report(report) + f"\n-> {out / REPORT_FILE}, {out / FIGURE_FILE}\n")
    return 0
