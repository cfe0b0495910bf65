"""`chemtl demo`: the main job on bundled data, as `make demo` runs it."""

from __future__ import annotations

from chemtl.cli._common import add_verb

COMPOSITIONS = ("Fe2O3", "Li3Fe2(PO4)3", "(Ba0.5Sr0.5)TiO3", "CuSO4·5H2O", "NaN")
MOLECULES = ("C[C@@H](N)C(=O)O", "[NH4+].[Cl-]", "C%10CCCCC%10", "ClCBr", "c1ccccc1Br")


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "demo",
        "run the demo on bundled data (what `make demo` runs)",
        """
        Tokenize example compositions and molecules, list the bundled datasets, summarise
        matbench_expt_gap and ESOL, and build the matbench 5-fold split of matbench_expt_gap.
        """,
        """
        chemtl demo
        """,
    )
    parser.set_defaults(func=run)


def _section(title: str) -> None:
    print(f"\n== {title} ==")


def run(args) -> int:
    from chemtl.cli.datasets import run_list
    from chemtl.cli.tokenize import tokenize_strings
    from chemtl.data import load_dataset
    from chemtl.data.splits import matbench_folds
    from chemtl.data.summary import format_summary, summarize
    from chemtl.tokenizers import get_tokenizer

    _section("compositions: one token per element, its atomic fraction alongside")
    for kind, strings in (("composition", COMPOSITIONS), ("smiles", MOLECULES)):
        if kind == "smiles":
            _section("SMILES: Schwaller regex, bracket atoms / Cl / Br / %10 as single tokens")
        records, _ = tokenize_strings(get_tokenizer(kind), list(strings), None, False)
        for r in records:
            if "fractions" in r:
                shown = [
                    t if t.startswith("[") else f"{t}:{f:.3g}" for t, f in zip(r["tokens"], r["fractions"])
                ]
            else:
                shown = r["tokens"]
            print(f"{r['input']:<20} {' '.join(shown)}")

    _section("bundled datasets (offline, sha256-pinned)")
    run_list(type("Args", (), {"family": None, "json": False})())

    for name in ("matbench_expt_gap", "esol"):
        _section(f"datasets show {name}")
        ds = load_dataset(name)
        print(format_summary(summarize(ds)))

    _section("matbench 5-fold protocol on matbench_expt_gap")
    for fold in matbench_folds(load_dataset("matbench_expt_gap").inputs):
        print(fold.describe())
    return 0
