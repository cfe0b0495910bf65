"""Pieces every verb shares: a subparser with examples, and the data-source flags."""

from __future__ import annotations

import argparse
import sys
import textwrap

KIND_CHOICES = ("composition", "smiles", "selfies")


def add_verb(subparsers, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A verb's parser: one-line summary in `chemtl --help`, description and examples in its own."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=textwrap.dedent(description).strip(),
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def shipped_model_names(model_type: str | None = "chemtl") -> list[str]:
    """Names of the shipped models of ``model_type`` (default the encoders; None: all); see
    ``chemtl.shipped.shipped_models``."""
    from chemtl.shipped import shipped_models

    return shipped_models(model_type)


def add_model_arg(
    parser: argparse.ArgumentParser, what: str, *, repeat: bool = False, finetuned: bool = False
) -> None:
    """--model NAME|DIR, its help listing the shipped model names. ``finetuned``: the verb needs a
    fine-tuned directory (``predict``); the shipped models are pretrained encoders, so the help
    says so and the metavar is DIR."""
    names = ", ".join(shipped_model_names()) or "none installed"
    if finetuned:
        text = f"{what} (the --out of `chemtl finetune`; the shipped models, {names}, are pretrained encoders to fine-tune first)"
    else:
        text = f"{what}: a shipped model name ({names}) or a model directory"
    parser.add_argument(
        "--model",
        required=True,
        action="append" if repeat else "store",
        metavar="DIR" if finetuned else "NAME|DIR",
        help=text + (" (repeat for an ensemble)" if repeat else ""),
    )


def add_target_arg(parser, help: str = "column with the target (files)") -> None:
    """--target COL, with --target-col as an alias (one dest, ``target``)."""
    parser.add_argument("--target", "--target-col", dest="target", metavar="COL", help=help)


def add_data_args(
    parser: argparse.ArgumentParser,
    *,
    target: bool = True,
    required: bool = True,
    target_help: str = "column with the target (files)",
) -> None:
    """--data NAME|FILE and the flags that say how to read a user's csv."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data", required=required, metavar="NAME|FILE", help="a registered dataset or a csv file"
    )
    group.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES (files)")
    if target:
        add_target_arg(group, target_help)
    group.add_argument(
        "--kind", choices=KIND_CHOICES, help="representation; detected from the values if omitted"
    )
    group.add_argument("--canonical", action="store_true", help="use canonical SMILES/SELFIES as inputs")
    group.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip bad rows instead of refusing the file; they go to a side file with the reason",
    )
    group.add_argument("--skipped-out", metavar="FILE", help="where --skip-invalid writes skipped rows")
    group.add_argument("--limit", type=int, metavar="N", help="only the first N rows")


def add_training_data_args(parser: argparse.ArgumentParser) -> None:
    """The data flags of the training verbs (finetune, compare): a target and a task."""
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, metavar="NAME|FILE", help="a registered dataset or a csv file")
    add_target_arg(data, "the target column")
    data.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES (files)")
    data.add_argument("--kind", choices=KIND_CHOICES, help="representation (default: the model's)")
    data.add_argument("--task", choices=("regression", "classification"), help="default: from the data")
    data.add_argument(
        "--skip-invalid", action="store_true", help="skip invalid rows instead of refusing the file"
    )
    data.add_argument(
        "--max-length", type=int, default=256, help="tokens per input, with [CLS]/[SEP] (default 256)"
    )
    data.add_argument(
        "--allow-leakage",
        action="store_true",
        help="keep a split that puts the same compound on two sides (refused by default)",
    )
    data.add_argument(
        "--augment",
        choices=("none", "auto", "jitter", "random-smiles"),
        default="none",
        help="vary the training batches (never validation, test or predictions): jitter multiplies "
        "each element's fraction by 1 + N(0, --jitter) and renormalises (compositions, CrabNet's); "
        "random-smiles writes each molecule as a randomised SMILES (SMILES, SELFIES); auto picks by "
        "kind; the noise follows --seed (default none)",
    )
    data.add_argument(
        "--jitter",
        type=float,
        default=0.02,
        metavar="SIGMA",
        help="--augment jitter/auto: standard deviation of the relative fraction noise (default 0.02)",
    )


def batch_size_arg(value: str):
    """--batch-size N or auto (``TrainConfig.batch_size``): an integer >= 1, or "auto"."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer >= 1 or 'auto'")
    return number


AUTO_BATCH_HELP = (
    "auto: grows with the data, CrabNet's rule 2**round(log2(training rows) - 4) clamped to 128..4096, "
    "recorded in train_config.json and metrics.json"
)


def add_progress_arg(parser, default: bool = True) -> None:
    """--progress/--no-progress, the training verbs' progress bar (curves go to logs/ either way)."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=default,
        help=f"show the progress bar (curves go to logs/ either way; default {'on' if default else 'off'})",
    )


def add_fold_arg(parser) -> None:
    """--fold K: which fold of a k-fold split (matbench: 0-4), as `chemtl compare --fold` counts them."""
    parser.add_argument("--fold", type=int, metavar="K", help="which fold of a k-fold split (matbench: 0-4)")


def default_split(dataset: str) -> str:
    """The split used when --split is not given (``chemtl.data.splits.default_split_method``):
    the published matbench folds or a dataset's shipped split, else ``grouped`` (random by
    compound)."""
    from chemtl.data.splits import default_split_method

    return default_split_method(dataset)[0]


def default_split_note(dataset: str) -> str:
    """The line a training verb prints (with its results, so that a refusal stays one line) when
    it chose the split itself: which split, and why."""
    from chemtl.data.splits import default_split_method

    method, why = default_split_method(dataset)
    hint = " (--split random for a row-wise split)" if method == "grouped" else ""
    return f"split: {method} (default), {why}{hint}"


def split_params_with_leakage(params: dict, args: argparse.Namespace) -> dict:
    """``params`` plus ``allow_leakage=True`` when --allow-leakage was given."""
    return {**params, "allow_leakage": True} if args.allow_leakage else params


def load_data(args: argparse.Namespace):
    """Load the dataset the data flags describe (see ``add_data_args``)."""
    from chemtl.data import load_dataset

    ds = load_dataset(
        args.data,
        input_col=args.input_col,
        target_col=getattr(args, "target", None),
        kind=args.kind,
        canonical=args.canonical,
        skip_invalid=args.skip_invalid,
        skipped_path=args.skipped_out,
        limit=args.limit,
    )
    report_rows(ds.info)
    return ds


def report_rows(info: dict, notes=()) -> None:
    """On stderr: how many invalid rows --skip-invalid left out (and where they are listed), and
    the pipeline's notes about the table."""
    if info.get("skipped"):
        sys.stderr.write(f"skipped {info['skipped']} invalid row(s); listed in {info['skipped_path']}\n")
    for note in notes:
        sys.stderr.write(f"note: {note}\n")


def write_table(table, out: str) -> None:
    """A result table as csv at ``out``, atomically (nothing half-written), floats to 10 digits."""
    from chemtl.atomic import atomic_open

    with atomic_open(out, "w", encoding="utf-8", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.10g")


def add_strategy_options(group, *, freeze_prompt: bool = False) -> None:
    """The transfer-strategy options (``StrategyConfig`` fields) of ``finetune`` and ``compare``;
    each applies to the strategies it belongs to. Read them back with ``strategy_options``.
    ``freeze_prompt``: add --freeze-prompt (``finetune`` only)."""
    group.add_argument(
        "--trainable-layers",
        type=int,
        metavar="K",
        help="partial: train the top K encoder layers (default: half)",
    )
    group.add_argument("--lora-r", type=int, help="lora: rank (default 8)")
    group.add_argument("--lora-alpha", type=float, help="lora: scaling numerator (default 16)")
    group.add_argument("--lora-dropout", type=float, help="lora: dropout (default 0.1)")
    group.add_argument(
        "--lora-targets", metavar="NAMES", help="lora: comma-separated module names (default query,value)"
    )
    group.add_argument("--num-virtual-tokens", type=int, help="prompt/prefix: virtual tokens (default 10)")
    group.add_argument(
        "--prompt-init",
        choices=("random", "vocab"),
        help="prompt: initialisation (vocab: embeddings of random regular tokens, elements for compositions)",
    )
    if freeze_prompt:
        group.add_argument(
            "--freeze-prompt",
            action="store_true",
            help="prompt: keep the virtual tokens fixed at their initialisation (only the head trains)",
        )
    group.add_argument(
        "--prefix-projection", action="store_true", help="prefix: reparameterise through an MLP"
    )
    group.add_argument("--prefix-hidden-size", type=int, help="prefix: MLP width")
    group.add_argument("--init-seed", type=int, help="scratch: seed of the re-initialisation")
    group.add_argument(
        "--element-init",
        metavar="TABLE",
        help="scratch (compositions): initialise the element embeddings from this element table "
        "(e.g. mat2vec) instead of at random",
    )


def strategy_options(args: argparse.Namespace) -> dict:
    """The strategy options given on the command line (``add_strategy_options``), as
    ``StrategyConfig`` field values; options not given are left out."""
    options = {
        "trainable_layers": args.trainable_layers,
        "lora_r": args.lora_r,
        "lora_alpha": args.lora_alpha,
        "lora_dropout": args.lora_dropout,
        "lora_target_modules": tuple(t.strip() for t in args.lora_targets.split(","))
        if args.lora_targets
        else None,
        "num_virtual_tokens": args.num_virtual_tokens,
        "prompt_init": args.prompt_init,
        "freeze_prompt": getattr(args, "freeze_prompt", False) or None,
        "prefix_projection": args.prefix_projection or None,
        "prefix_hidden_size": args.prefix_hidden_size,
        "init_seed": args.init_seed,
        "element_init": getattr(args, "element_init", None),
    }
    given = {k: v for k, v in options.items() if v is not None}
    if "lora_alpha" in given and float(given["lora_alpha"]).is_integer():
        given["lora_alpha"] = int(given["lora_alpha"])
    return given
