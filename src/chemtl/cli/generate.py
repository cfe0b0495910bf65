"""`chemtl generate`: sample compositions, SMILES or SELFIES from a causal (GPT-2) model."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_verb, shipped_model_names


def register(subparsers) -> None:
    names = ", ".join(n for n in shipped_model_names("gpt2")) or "none installed"
    parser = add_verb(
        subparsers,
        "generate",
        "sample new compositions or molecules from a causal model",
        """
        Sample --n strings from a causal model (trained with `chemtl pretrain --objective
        causal`) and write them to --out as csv: sample, text, valid, canonical (the reduced
        formula or canonical SMILES; empty if invalid) and condition when one was given.
        Compositions are decoded under a grammar (element, amount, ...; no element twice), so every
        one parses; SMILES are checked with RDKit and invalid ones are kept and counted.

        --condition NAME=VALUE steers sampling with the property-bin token the model learned
        (--condition NAME:DATASET:COL --bins N at pretraining); --metrics also writes
        OUT.metrics.json (validity, uniqueness, novelty, ...). The same --seed gives the same samples.
        Shipped generators: composition-gpt-small, smiles-gpt-small, selfies-gpt-small (`make pretrained`).
        """,
        """
        chemtl pretrain --data inorganic_corpus --objective causal --size tiny --max-steps 300 \\
            --condition band_gap:matbench_expt_gap --bins 4 --out models/comp-gpt
        chemtl generate --model models/comp-gpt --n 1000 --out generated.csv
        chemtl generate --model models/comp-gpt --n 200 --prefix Li --temperature 0.8 --out li.csv
        chemtl generate --model models/comp-gpt --n 500 --condition band_gap=2.0 --metrics --out gap2.csv
        chemtl pretrain --data moses --kind smiles --objective causal --size tiny --max-steps 300 \\
            --out models/smiles-gpt
        chemtl generate --model models/smiles-gpt --n 1000 --top-p 0.95 --out mols.csv
        """,
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="NAME|DIR",
        help=f"a causal model: a shipped name ({names}) or a directory",
    )
    parser.add_argument("--n", type=int, default=1000, help="samples to draw (default 1000)")
    parser.add_argument("--temperature", type=float, default=1.0, help="> 0 (default 1.0)")
    parser.add_argument("--top-k", type=int, metavar="K", help="sample from the K most likely tokens")
    parser.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling, P in (0, 1]")
    parser.add_argument("--prefix", metavar="TEXT", help='start every sample with this ("Li", "c1cc")')
    parser.add_argument("--condition", metavar="NAME=VALUE", help="property bin to condition on")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--batch-size", type=int, default=256, help="rows sampled at once (default 256)")
    parser.add_argument(
        "--max-elements", type=int, default=8, help="compositions: at most this many elements (default 8)"
    )
    parser.add_argument("--metrics", action="store_true", help="also write OUT.metrics.json")
    parser.add_argument("--out", required=True, metavar="FILE", help="the csv to write")
    parser.set_defaults(func=run)


def parse_condition(text: str | None) -> dict[str, float] | None:
    from chemtl.errors import ChemtlError

    if text is None:
        return None
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name or number is None:
        raise ChemtlError(f"--condition {text!r} is not NAME=VALUE (e.g. band_gap=2.0)")
    return {name: number}


def metrics_path(out: str):
    from pathlib import Path

    path = Path(out)
    return path.with_name(path.name.removesuffix(".csv") + ".metrics.json")


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.atomic import atomic_open, write_json
    from chemtl.pipelines.generate import generate, sample_metrics

    frame = generate(
        args.model,
        args.n,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        prefix=args.prefix,
        condition=parse_condition(args.condition),
        seed=args.seed,
        batch_size=args.batch_size,
        max_elements=args.max_elements,
    )
    metrics = sample_metrics(args.model, frame) if args.metrics else None
    with atomic_open(args.out, "w", newline="") as handle:
        frame.to_csv(handle, index=False)
    if metrics is not None:
        write_json(metrics_path(args.out), metrics)
    valid = int(frame["valid"].sum())
    unique = frame.loc[frame["valid"], "canonical"].nunique()
    sys.stdout.write(f"generated {len(frame)} samples ({valid} valid, {unique} unique valid) -> {args.out}\n")
    return 0
