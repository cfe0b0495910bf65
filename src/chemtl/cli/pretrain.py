"""`chemtl pretrain`: pretrain an encoder on an unlabelled corpus (or multi-task on labelled sources)."""

from __future__ import annotations

import argparse

from chemtl.cli._common import KIND_CHOICES, add_verb, shipped_model_names
from chemtl.cli.finetune import _key_values, add_train_args, train_config_from_args


def register(subparsers) -> None:
    shipped = ", ".join(shipped_model_names())
    parser = add_verb(
        subparsers,
        "pretrain",
        "pretrain an encoder on compositions or SMILES (masked tokens, contrastive, multi-task)",
        """
        Pretrain a BERT-style encoder of --size on --data (a registered corpus such as
        moses or inorganic_corpus, or a file: csv with a header, or txt/smi with one string
        per line). The corpus streams through a bounded shuffle buffer, so memory does not
        grow with its size. --objective mlm (masked tokens; for compositions also their
        amounts), contrastive (NT-Xent between two augmented views), descriptors (SMILES and
        SELFIES: multi-task regression on 178 RDKit descriptors computed for each batch, label
        free, standardised on the held-out --val-rows head and saved as descriptor_targets.json),
        or several summed (mlm,contrastive; mlm,descriptors, the descriptor loss weighted by
        --descriptor-weight); the descriptors cost about 4 ms of CPU a molecule (--num-workers N
        computes them beside the training step). --mask random | element-group (compositions) | span (SMILES).
        --objective causal trains a GPT-2 generator instead (sizes tiny, small) for
        `chemtl generate`; compositions are written as element and amount tokens ("Fe 2 O 3").
        --condition NAME:DATASET[:COL] --bins N adds property-bin tokens learned from a labelled
        set (quantile bins of COL; its rows join the corpus behind their bin's token).

        --supervised DATASET[:TARGET],... instead runs multi-task regression on labelled
        sources (e.g. band gap and formation energy) as an intermediate stage, starting from
        --init (a pretrained directory) or from random weights.

        --out DIR is a model directory (config.json, model.safetensors, tokenizer, chemtl.json)
        that `chemtl finetune --model DIR` and `AutoModel.from_pretrained(DIR)` read, plus
        metrics.json, manifest.json, logs/ and checkpoints/ (--resume continues a run). Before the
        run finishes, `chemtl snapshot DIR --out MODEL_DIR` writes that model directory from its
        last checkpoint (read only: the run goes on), to fine-tune and judge it.
        """,
        """
        chemtl pretrain --data inorganic_corpus --kind composition --size small --mask element-group \\
            --epochs 3 --out models/comp-mlm
        chemtl pretrain --data moses --kind smiles --size small --mask span --max-steps 20000 \\
            --out models/smiles-mlm
        chemtl pretrain --data moses --kind smiles --objective mlm,contrastive --limit 100000 --out models/smiles-mc
        chemtl pretrain --data moses --kind smiles --objective mlm,descriptors --mask span \
            --max-steps 20000 --out models/smiles-mtr
        chemtl pretrain --data inorganic_corpus --objective causal --size small --max-steps 3000 \\
            --condition band_gap:matbench_expt_gap --bins 4 --out models/comp-gpt
        chemtl datasets export matbench_expt_gap --out gaps.csv
        chemtl pretrain --data gaps.csv --kind composition --size tiny --max-steps 100 --out models/t
        chemtl pretrain --data gaps.csv --kind composition --size tiny --max-steps 100 --out models/t --resume
        chemtl pretrain --supervised matbench_mp_gap,matbench_mp_e_form --init composition-small \\
            --exclude matbench_expt_gap --out models/comp-mt
        """,
    )
    src = parser.add_argument_group("corpus")
    src.add_argument(
        "--data",
        "--corpus",
        dest="data",
        metavar="NAME|FILE",
        help="a registered corpus or a file (--corpus is the same flag)",
    )
    src.add_argument(
        "--input-col", metavar="COL", help="column of a csv corpus (default: formula/smiles/... or the first)"
    )
    src.add_argument("--limit", type=int, metavar="N", help="only the first N rows of the corpus")
    src.add_argument(
        "--buffer-size", type=int, default=10_000, help="shuffle buffer rows (default 10000; 0: corpus order)"
    )
    src.add_argument(
        "--supervised",
        metavar="DATASET[:TARGET],...",
        help="multi-task regression on these labelled datasets instead of a corpus",
    )
    src.add_argument(
        "--exclude",
        metavar="DATASET,...",
        help="with --supervised: drop rows whose compound appears in these datasets (e.g. the "
        "downstream benchmark, so its test compounds are never seen with a label)",
    )
    mdl = parser.add_argument_group("model")
    mdl.add_argument(
        "--kind", choices=KIND_CHOICES, default="composition", help="representation (default composition)"
    )
    mdl.add_argument("--size", default="small", help="tiny, small (default) or base")
    mdl.add_argument(
        "--model-option",
        action="append",
        metavar="KEY=VALUE",
        help="override a model config field, e.g. pooling=mean (repeatable)",
    )
    mdl.add_argument(
        "--init",
        metavar="NAME|DIR",
        help=f"start from this model instead of random weights: a shipped model ({shipped}) or a directory",
    )
    mdl.add_argument(
        "--tokenizer", metavar="DIR", help="a saved chemtl tokenizer instead of the shipped default"
    )
    obj = parser.add_argument_group("objective")
    obj.add_argument(
        "--objective",
        default="mlm",
        help="mlm, contrastive, descriptors, several joined by commas (summed), or causal (default mlm)",
    )
    obj.add_argument(
        "--condition",
        action="append",
        metavar="NAME:DATASET[:COL]",
        help="causal: condition on bins of this labelled column (repeatable; COL: the dataset's target)",
    )
    obj.add_argument("--bins", type=int, default=4, help="causal: quantile bins per condition (default 4)")
    obj.add_argument(
        "--condition-repeat",
        type=int,
        default=1,
        metavar="R",
        help="causal: each labelled row joins the corpus R times (default 1)",
    )
    obj.add_argument("--mask", choices=("random", "element-group", "span"), default="random")
    obj.add_argument("--mask-prob", type=float, default=0.15, help="share of tokens masked (default 0.15)")
    obj.add_argument("--contrastive-weight", type=float, default=1.0)
    obj.add_argument(
        "--descriptor-weight",
        type=float,
        default=1.0,
        help="weight of the descriptors objective's loss in the sum (default 1.0)",
    )
    obj.add_argument("--temperature", type=float, default=0.1, help="NT-Xent temperature (default 0.1)")
    obj.add_argument("--max-length", type=int, default=128, help="tokens per input (default 128)")
    obj.add_argument(
        "--val-rows", type=int, default=1000, help="corpus rows held out for validation (default 1000)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the model directory to write")
    add_train_args(
        parser,
        lr=5e-4,
        head_lr=0,
        batch_size=64,
        epochs=1,
        patience=0,
        scheduler="linear",
        warmup_steps=100,
        checkpoint_every=200,
    )
    parser.set_defaults(func=run)


def _supervised_sources(spec: str) -> list[tuple[str, str | None]]:
    from chemtl.errors import ChemtlError

    out = []
    for item in spec.split(","):
        name, _, target = item.strip().partition(":")
        if not name:
            raise ChemtlError(f"--supervised {spec!r}: empty dataset name")
        out.append((name, target or None))
    return out


def pretrain_call(args: argparse.Namespace) -> dict:
    """The library call `chemtl pretrain` makes for ``args``, without its output directory and
    resume flags: ``{"run": "pretrain" | "supervised_pretrain", **keyword arguments}`` (a chain's
    pretrain and supervised stages build the same, ``chemtl.pipelines.chain_config.build_call``)."""
    from chemtl.errors import ChemtlError
    from chemtl.training.config import ModelConfig, PretrainConfig

    train = train_config_from_args(args)
    model = ModelConfig(
        size=args.size, kind=args.kind, overrides=_key_values(args.model_option, "--model-option")
    )
    if args.supervised:
        if args.data:
            raise ChemtlError("give --data (a corpus) or --supervised, not both")
        if args.condition:
            raise ChemtlError(
                "--condition applies to --objective causal on a --data corpus, not to --supervised"
            )
        from chemtl.training.config import DataConfig

        sources = [
            DataConfig(dataset=name, target_col=target, max_length=args.max_length, split_seed=args.seed)
            for name, target in _supervised_sources(args.supervised)
        ]
        return {
            "run": "supervised_pretrain",
            "sources": sources,
            "model": model,
            "train": train,
            "init_from": args.init,
            "val_frac": 0.1,
            "exclude": [e.strip() for e in args.exclude.split(",") if e.strip()] if args.exclude else None,
        }
    if not args.data:
        raise ChemtlError("name a corpus with --data (or --supervised datasets)")
    if args.exclude:
        raise ChemtlError("--exclude applies to --supervised sources, not to a --data corpus")
    config = PretrainConfig(
        objectives=args.objective,
        mask=args.mask,
        mask_prob=args.mask_prob,
        contrastive_weight=args.contrastive_weight,
        descriptor_weight=args.descriptor_weight,
        temperature=args.temperature,
        max_length=args.max_length,
        val_rows=args.val_rows,
        conditions=tuple(args.condition or ()),
        bins=args.bins,
        condition_repeat=args.condition_repeat,
    )
    return {
        "run": "pretrain",
        "corpus": args.data,
        "model": model,
        "train": train,
        "config": config,
        "input_col": args.input_col,
        "limit": args.limit,
        "init_from": args.init,
        "tokenizer_dir": args.tokenizer,
        "buffer_size": args.buffer_size,
    }


def run(args: argparse.Namespace) -> int:
    import sys

    call = pretrain_call(args)
    if call.pop("run") == "supervised_pretrain":
        from chemtl.pipelines.pretrain import supervised_pretrain as fn
    else:
        from chemtl.pipelines.pretrain import pretrain as fn
    result = fn(**call, out_dir=args.out, resume=args.resume, overwrite=args.overwrite)
    if result.is_global_zero and result.metrics is not None:
        m = result.metrics
        val = m.get("val_loss", m.get("best_val_loss"))
        sys.stdout.write(
            f"pretrained {m['global_step']} steps ({m['epochs_run']} epochs) in {m['train_seconds']:.1f} s, "
            f"validation loss {'n/a' if val is None else format(val, '.4g')}, peak RSS {m['peak_rss_mb']:.0f} MB "
            f"-> {args.out}\n"
        )
    return 0
