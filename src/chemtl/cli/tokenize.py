"""`chemtl tokenize`: show how chemtl's tokenizers read strings."""

from __future__ import annotations

import json
import sys

from chemtl.cli._common import KIND_CHOICES, add_verb, shipped_model_names


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "tokenize",
        "show tokens, ids and (for compositions) fractions of strings",
        """
        Tokenize compositions, SMILES or SELFIES with chemtl's tokenizers (the shipped default
        vocabulary, or a saved tokenizer with --tokenizer). Compositions put each element once,
        in the order it first appears, with its atomic fraction beside it (--mode repeat gives
        the textbook's Fe Fe O O O encoding for integer formulas). Out-of-vocabulary tokens
        become [UNK] and are reported on stderr.
        """,
        """
        chemtl tokenize --kind composition Fe2O3 "Li3Fe2(PO4)3" "(Ba0.5Sr0.5)TiO3"
        chemtl tokenize --kind composition "CuSO4·5H2O" --json
        chemtl tokenize --kind composition Fe2O3 --mode repeat
        chemtl tokenize --kind smiles "C[C@@H](N)C(=O)O" "[NH4+].[Cl-]" "C%10CCCCC%10"
        chemtl tokenize --kind selfies "[C][C][O]"
        chemtl tokenize --tokenizer composition-small Fe2O3
        chemtl vocab build --data esol --out esol_tokenizer
        chemtl tokenize --tokenizer esol_tokenizer "CC(=O)Oc1ccccc1C(=O)O"
        """,
    )
    parser.add_argument("strings", nargs="+", metavar="STRING")
    parser.add_argument("--kind", choices=KIND_CHOICES, help="representation; detected if omitted")
    parser.add_argument(
        "--tokenizer",
        metavar="NAME|DIR",
        help=f"a shipped model ({', '.join(shipped_model_names())}) or a saved tokenizer (or model) directory",
    )
    parser.add_argument(
        "--mode", choices=("fraction", "repeat"), default="fraction", help="composition encoding"
    )
    parser.add_argument(
        "--max-length", type=int, metavar="N", help="longest encoding allowed, [CLS]/[SEP] included"
    )
    parser.add_argument("--truncation", action="store_true", help="cut strings longer than --max-length")
    parser.add_argument(
        "--json", action="store_true", help="print JSON: tokens, ids and fractions per string"
    )
    parser.set_defaults(func=run)


def _tokenizer(args):
    from chemtl.errors import ChemtlError
    from chemtl.tokenizers import get_tokenizer, load_tokenizer

    if args.tokenizer:
        from chemtl.pretrained import resolve_model_dir

        tok = load_tokenizer(resolve_model_dir(args.tokenizer))
        if args.kind and args.kind != tok.kind:
            raise ChemtlError(
                f"--kind {args.kind} does not match the {tok.kind} tokenizer in {args.tokenizer}"
            )
        return tok
    kind = args.kind
    if kind is None:
        from chemtl.chem.kinds import detect_kind

        kind = detect_kind(args.strings)
    return get_tokenizer(kind, mode=args.mode) if kind == "composition" else get_tokenizer(kind)


def tokenize_strings(tok, strings: list[str], max_length: int | None, truncation: bool) -> list[dict]:
    """One record per string: tokens, ids, and for compositions the fraction of each token."""
    batch = tok(strings, padding=False, truncation=truncation, max_length=max_length, return_tensors=None)
    records = []
    for i, text in enumerate(strings):
        ids = [int(x) for x in batch["input_ids"][i]]
        record = {"input": text, "tokens": tok.convert_ids_to_tokens(ids), "ids": ids}
        if "fractions" in batch:
            record["fractions"] = [round(float(x), 6) for x in batch["fractions"][i]]
            record["elements"] = {
                t: f for t, f in zip(record["tokens"], record["fractions"]) if not t.startswith("[")
            }
        records.append(record)
    return records, batch


def check_arguments(tok, strings: list[str], max_length: int | None, truncation: bool) -> None:
    """Tokenize each argument on its own first, so that an error names it as the command line
    counts it, from 1 (``argument 2: invalid formula ...``), as files count rows."""
    from chemtl.errors import ChemtlError

    for i, text in enumerate(strings, start=1):
        try:
            tok([text], padding=False, truncation=True, max_length=max_length, return_tensors=None)
        except ChemtlError as exc:
            raise ChemtlError(f"argument {i}: {exc}") from None
        if not truncation:
            try:
                tok([text], padding=False, truncation=False, max_length=max_length, return_tensors=None)
            except ChemtlError:
                limit = max_length or tok.model_max_length
                raise ChemtlError(
                    f"argument {i} {text!r} has more than {limit} tokens with [CLS] and [SEP]; "
                    "pass --truncation or a larger --max-length"
                ) from None


def run(args) -> int:
    tok = _tokenizer(args)
    check_arguments(tok, args.strings, args.max_length, args.truncation)
    records, batch = tokenize_strings(tok, args.strings, args.max_length, args.truncation)
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        for record in records:
            if "fractions" in record:
                shown = [
                    t if t.startswith("[") else f"{t}:{f:g}"
                    for t, f in zip(record["tokens"], record["fractions"])
                ]
            else:
                shown = record["tokens"]
            print(f"{record['input']}\t{' '.join(shown)}\t{' '.join(map(str, record['ids']))}")
    if batch.num_unknown:
        listed = ", ".join(f"{t!r} x{n}" for t, n in batch.unknown.most_common(10))
        sys.stderr.write(
            f"warning: {batch.num_unknown} out-of-vocabulary token(s) encoded as [UNK] "
            f"in {len(batch.unknown_rows)} string(s): {listed}\n"
        )
    return 0
