"""`chemtl describe`: a composition -> a short description (a T5 describer), or train one (--train)."""

from __future__ import annotations

import argparse
import json
import sys

from chemtl.cli._common import add_verb, shipped_model_names


def register(subparsers) -> None:
    from chemtl.cli.finetune import add_train_args

    parser = add_verb(
        subparsers,
        "describe",
        "describe compositions in words (band gap, metal or not, formation energy) with a T5 describer",
        """
        Turn each FORMULA into a short description with a describer (a T5 sequence-to-sequence
        model: the formula's element and whole-amount tokens in, words out), e.g.
        "non-metal semiconductor, band gap 2.1 eV (experimental), formation energy -1.7 eV/atom
        (DFT)." Prints one line per formula, in the order given: the formula, a tab, its
        description (--json: records with the band gap and metal/non-metal read back from the
        text). Greedy decoding by default; --beams N for beam search, --sample to sample
        (seeded by --seed). A formula must reduce to whole amounts up to 99.

        --train trains a describer into --out on the training engine (resumable with --resume)
        from descriptions built from matbench_expt_gap, matbench_expt_is_metal, matbench_mp_gap,
        matbench_mp_is_metal and matbench_mp_e_form, joined by compound; compounds are split
        train/val/test by a seeded hash of their reduced formula (--split-seed), and the test
        compounds are never trained on (`chemtl benchmark describe` scores them).
        """,
        """
        chemtl describe --train --out describer --size tiny --limit 2000 --epochs 6
        chemtl describe --model describer Fe2O3 NaCl Cu
        chemtl describe --model describer --beams 4 --json GaAs
        chemtl describe --model describer --sample --seed 3 TiO2
        chemtl describe --train --out describer-small --size small --max-steps 1500   # composition-t5-small
        """,
    )
    parser.add_argument("formulas", nargs="*", metavar="FORMULA", help="compositions to describe")
    names = ", ".join(n for n in shipped_model_names("t5")) or "none installed yet"
    parser.add_argument(
        "--model",
        metavar="NAME|DIR",
        help=f"a describer: a shipped name ({names}) or the --out of `chemtl describe --train`",
    )
    parser.add_argument(
        "--beams", type=int, default=1, metavar="N", help="beam search width (default 1: greedy)"
    )
    parser.add_argument("--sample", action="store_true", help="sample the words instead (seeded by --seed)")
    parser.add_argument("--json", action="store_true", help="print JSON records instead of lines")
    t = parser.add_argument_group("training a describer (--train)")
    t.add_argument("--train", action="store_true", help="train a describer into --out instead of describing")
    t.add_argument("--out", metavar="DIR", help="the describer directory --train writes")
    t.add_argument("--size", choices=("tiny", "small"), default="small", help="model size (default small)")
    t.add_argument("--limit", type=int, metavar="N", help="train on N training compounds (a seeded subset)")
    t.add_argument(
        "--val-rows", type=int, default=1000, metavar="N", help="validation compounds (default %(default)s)"
    )
    t.add_argument(
        "--split-seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the train/val/test split of compounds (default 0)",
    )
    add_train_args(
        parser,
        lr=1e-3,
        head_lr=0,
        batch_size=64,
        epochs=1,
        patience=0,
        scheduler="cosine",
        warmup_steps=100,
        checkpoint_every=200,
    )
    parser.set_defaults(func=run)


def check_arguments(formulas: list[str]) -> None:
    """Refuse the first formula the describer cannot read, named as the command line counts it."""
    from chemtl.errors import ChemtlError
    from chemtl.models.seq2seq import formula_tokens

    for i, formula in enumerate(formulas, start=1):
        try:
            formula_tokens(formula)
        except ChemtlError as exc:
            raise ChemtlError(f"argument {i}: {exc}") from None


def _train(args: argparse.Namespace) -> int:
    from chemtl.cli.finetune import train_config_from_args
    from chemtl.errors import ChemtlError
    from chemtl.pipelines.describe import train_describer

    if not args.out:
        raise ChemtlError("--train needs --out DIR (the describer directory to write)")
    if args.formulas or args.model:
        raise ChemtlError("--train takes no FORMULA and no --model (it trains a new describer into --out)")
    result = train_describer(
        args.out,
        train_config_from_args(args),
        size=args.size,
        split_seed=args.split_seed,
        limit=args.limit,
        val_rows=args.val_rows,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    if result.is_global_zero and result.metrics is not None:
        m = result.metrics
        val = m.get("best_val_loss")
        sys.stdout.write(
            f"trained a describer for {m['global_step']} steps on {m['n_train']} compounds in "
            f"{m['train_seconds']:.1f} s, validation loss {'n/a' if val is None else format(val, '.4g')} "
            f"-> {args.out}\n"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    from chemtl.errors import ChemtlError

    if args.train:
        return _train(args)
    if not args.model:
        raise ChemtlError("name a describer with --model NAME|DIR (or train one with --train --out DIR)")
    if not args.formulas:
        raise ChemtlError("give at least one FORMULA to describe")
    if args.beams < 1:
        raise ChemtlError(f"--beams must be >= 1, got {args.beams}")
    check_arguments(args.formulas)
    from chemtl.data.descriptions import read_description
    from chemtl.pipelines.describe import describe

    texts = describe(args.model, args.formulas, beams=args.beams, sample=args.sample, seed=args.seed)
    if args.json:
        records = [
            {"formula": f, "description": t, **read_description(t)} for f, t in zip(args.formulas, texts)
        ]
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        for formula, text in zip(args.formulas, texts):
            print(f"{formula}\t{text}")
    return 0
