"""`chemtl vocab build`: a word-level SMILES or SELFIES vocabulary from a corpus."""

from __future__ import annotations

import sys

from chemtl.cli._common import add_data_args, add_verb


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "vocab",
        "build a SMILES or SELFIES tokenizer vocabulary from a corpus",
        """
        Count the tokens of a corpus (streamed, so MOSES's 1.58M SMILES fit in memory) with the
        tokenizer's own pattern and save a tokenizer with that vocabulary, most frequent tokens
        first. --extend-default adds the tokens to the shipped default vocabulary instead, so
        ids of existing tokens stay the same. The composition vocabulary is fixed (118 elements).
        """,
        """
        chemtl vocab build --data esol --out esol_tokenizer
        chemtl datasets export esol --out esol.csv
        chemtl vocab build --data esol.csv --input-col smiles --min-freq 2 --out my_tokenizer
        chemtl vocab build --data esol.csv --input-col smiles --extend-default --out extended_tokenizer
        chemtl vocab build --data moses --min-freq 5 --out moses_tokenizer
        """,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    build = actions.add_parser("build", help="build a vocabulary and save a tokenizer")
    add_data_args(build, target=False)
    build.add_argument("--out", required=True, metavar="DIR", help="tokenizer directory to write")
    build.add_argument("--min-freq", type=int, default=1, help="drop tokens seen fewer times")
    build.add_argument("--max-size", type=int, help="keep at most this many tokens (specials not counted)")
    build.add_argument(
        "--extend-default", action="store_true", help="append new tokens to the shipped vocabulary"
    )
    build.set_defaults(func=run_build)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_build(args) -> int:
    from tqdm import tqdm

    from chemtl.cli._common import load_data
    from chemtl.errors import ChemtlError
    from chemtl.tokenizers import get_tokenizer
    from chemtl.tokenizers.vocab import count_tokens, merge_vocab, vocab_from_counts

    ds = load_data(args)
    kind = ds.kind
    if kind == "composition":
        raise ChemtlError("the composition vocabulary is fixed (the 118 elements); nothing to build")
    strings = tqdm(
        ds if not hasattr(ds, "inputs") else ds.inputs,
        total=len(ds),
        unit=" strings",
        desc="counting tokens",
        mininterval=1.0,
        file=sys.stderr,
    )
    counts = count_tokens(strings, kind)
    tokens = vocab_from_counts(counts.tokens, min_freq=args.min_freq, max_size=args.max_size)
    if args.extend_default:
        tokens = merge_vocab(get_tokenizer(kind).vocab, tokens)
    tok = get_tokenizer(kind, vocab=tokens)
    tok.save_pretrained(args.out)
    print(
        f"{kind} vocabulary: {tok.vocab_size} tokens (5 special) from {counts.n_strings} strings; saved to {args.out}"
    )
    if counts.invalid:
        listed = ", ".join(f"{t!r} x{n}" for t, n in counts.invalid.most_common(5))
        sys.stderr.write(
            f"warning: {sum(counts.invalid.values())} piece(s) are not {kind} tokens and were left out: {listed}\n"
        )
    return 0
