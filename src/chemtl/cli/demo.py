"""`chemtl demo`: the main job on bundled data and the bundled pretrained model (`make demo`).

A quick `chemtl compare` of every fine-tuning strategy, starting from the shipped
``composition-small`` encoder, on matbench_expt_gap (matbench fold 0, 500 training
compositions, one seed), preceded by a look at how chemtl reads compositions and molecules.
"""

from __future__ import annotations

from chemtl.cli._common import add_verb

COMPOSITIONS = ("Fe2O3", "Li3Fe2(PO4)3", "(Ba0.5Sr0.5)TiO3", "CuSO4·5H2O", "NaN")
MOLECULES = ("C[C@@H](N)C(=O)O", "[NH4+].[Cl-]", "C%10CCCCC%10", "ClCBr", "c1ccccc1Br")
DEMO_MODEL = "composition-small"
DEMO_DATA = "matbench_expt_gap"


def compare_argv(out: str) -> list[str]:
    """The `chemtl compare` command the demo runs."""
    return ["compare", "--model", DEMO_MODEL, "--data", DEMO_DATA, "--target", "target"] + [
        "--size-cap",
        "500",
        "--out",
        out,
    ]


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "demo",
        "run the demo: all fine-tuning strategies compared on bundled data (what `make demo` runs)",
        f"""
        Show how chemtl tokenizes compositions and molecules, then compare every fine-tuning
        strategy (full, feature, partial, prompt, LoRA, scratch) from the shipped
        {DEMO_MODEL} encoder on {DEMO_DATA} (matbench fold 0, 500 training compositions,
        one seed): the table, a recommendation and an HTML report with figures. Running it
        again reuses finished runs.
        """,
        """
        chemtl demo
        chemtl demo --out runs/my-demo
        """,
    )
    parser.add_argument("--out", default="runs/demo-compare", metavar="DIR", help="where the comparison goes")
    parser.set_defaults(func=run)


def _section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def run(args) -> int:
    from chemtl.cli.main import main
    from chemtl.cli.tokenize import tokenize_strings
    from chemtl.tokenizers import get_tokenizer

    _section("compositions: one token per element, its atomic fraction alongside")
    for kind, strings in (("composition", COMPOSITIONS), ("smiles", MOLECULES)):
        if kind == "smiles":
            _section("SMILES: bracket atoms, Cl, Br and %10 are single tokens")
        records, _ = tokenize_strings(get_tokenizer(kind), list(strings), None, False)
        for r in records:
            if "fractions" in r:
                shown = [
                    t if t.startswith("[") else f"{t}:{f:.3g}" for t, f in zip(r["tokens"], r["fractions"])
                ]
            else:
                shown = r["tokens"]
            print(f"{r['input']:<20} {' '.join(shown)}")

    argv = compare_argv(args.out)
    _section(f"chemtl {' '.join(argv)}")
    return main(argv)
