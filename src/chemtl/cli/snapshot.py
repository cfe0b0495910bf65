"""`chemtl snapshot`: a model directory from an unfinished (or finished) pretraining run's checkpoint."""

from __future__ import annotations

import argparse

from chemtl.cli._common import add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "snapshot",
        "a model directory from a pretraining run's checkpoint, to fine-tune before the run ends",
        """
        Write the model directory that `chemtl pretrain --out RUN` writes when it finishes
        (config.json, model.safetensors, tokenizer, chemtl.json, descriptor_targets.json for the
        descriptors objective, manifest.json), from the run's checkpoint, so `chemtl finetune
        --model DIR` can judge a run that is still going. RUN is only read, never written: the
        run may be training in another process, and --resume continues it as before. chemtl.json
        records the step (global_step) and the run it was taken from; manifest.json the run's
        train_config.json. --checkpoint last (default: RUN/checkpoints/last.ckpt) or a copy of
        one of the run's checkpoints. --weights last (default): the model at that step; best: the
        best epoch's so far (what a finished run writes once validation has run at an epoch end).
        The directory is written whole or not at all; a non-empty --out is refused unless
        --overwrite (which replaces only a model directory, never a run).
        """,
        """
        chemtl pretrain --data moses --kind smiles --objective mlm,descriptors --mask span \\
            --max-steps 20000 --out runs/mtr                        # in another terminal
        chemtl snapshot runs/mtr --out models/mtr-now
        chemtl finetune --model models/mtr-now --data esol --epochs 5 --out runs/esol-mtr-now
        chemtl snapshot runs/mtr --checkpoint saved/step4000.ckpt --out models/mtr-4000 --overwrite
        """,
    )
    parser.add_argument("run_dir", metavar="RUN", help="the --out of a `chemtl pretrain` run")
    parser.add_argument("--out", required=True, metavar="DIR", help="the model directory to write")
    parser.add_argument(
        "--checkpoint",
        default="last",
        metavar="last|PATH",
        help="last (RUN/checkpoints/last.ckpt, the default) or the path of one of the run's checkpoints",
    )
    parser.add_argument(
        "--weights",
        choices=("last", "best"),
        default="last",
        help="last: the model at the checkpoint's step (default); best: its best epoch so far",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a model directory at --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from chemtl.pipelines.snapshot import snapshot

    result = snapshot(
        args.run_dir, args.out, checkpoint=args.checkpoint, weights=args.weights, overwrite=args.overwrite
    )
    sys.stdout.write(
        f"snapshot of {args.run_dir} at step {result.global_step} (epoch {result.epoch + 1}, {result.weights} "
        f"weights, {result.checkpoint}) -> {args.out}\n"
    )
    return 0
