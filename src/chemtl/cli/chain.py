"""`chemtl chain`: run a declarative chain of stages (pretrain, supervised, finetune, adapt)."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "chain",
        "run a chain of stages from a TOML config (pretrain -> supervised -> finetune, ...)",
        """
        Run the [[stage]] tables of --config in order, each into --out/stages/NN-NAME (a run
        directory with its metrics, written by the stage's verb). A stage has a name, a kind
        (pretrain, supervised, finetune, adapt), an init (a shipped model, a directory, or
        "stage:NAME" of an earlier stage) and its verb's flags without the dashes, with that
        verb's defaults (max-steps = 4000; the representation is input-kind). The whole config
        is checked before anything runs.

        Run the same command again to continue: finished stages are skipped, an interrupted one
        resumes from its checkpoint to the numbers of an uninterrupted run; a stage whose config
        changed is refused unless --overwrite (which runs the chain afresh). --out/chain.json
        records the config and each stage's status, hash and metrics. The final model is the
        last stage's directory, a plain chemtl model for `chemtl predict`. --out/report.json (and
        the printed table) gives every stage's model on the last finetune stage's validation
        rows: its own head where it has one for that target, and a linear probe on its frozen
        embeddings. Examples: examples/chains/*.toml.
        """,
        """
        chemtl chain --config examples/chains/composition-small-mp.toml --out runs/chain-mp --check
        chemtl chain --config examples/chains/composition-small-mp.toml --out runs/chain-mp
        chemtl chain --config examples/chains/molecules.toml --out runs/chain-mol
        chemtl chain --config examples/chains/molecules.toml --out runs/chain-mol --overwrite
        """,
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="the chain config (TOML)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the chain's directory")
    parser.add_argument(
        "--overwrite", action="store_true", help="remove the chain in --out and run every stage afresh"
    )
    parser.add_argument(
        "--check", action="store_true", help="check the config and list its stages; run nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.pipelines.chain_config import load_chain_config

    config = load_chain_config(args.config)
    if args.check:
        for stage in config.stages:
            init = f" from {stage.init}" if stage.init else ""
            sys.stdout.write(f"stage {stage.index} {stage.name!r}: {stage.kind}{init}\n")
        sys.stdout.write(f"{args.config}: {len(config.stages)} stage(s), config OK\n")
        return 0
    from chemtl.pipelines.chain import report_table, run_chain

    result = run_chain(
        config, args.out, overwrite=args.overwrite, echo=lambda line: sys.stdout.write(line + "\n")
    )
    for line in report_table(result.report):
        sys.stdout.write(line + "\n")
    sys.stdout.write(f"final model: {result.final_model} (report: {result.out_dir / 'report.json'})\n")
    return 0
