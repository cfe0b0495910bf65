"""`chemtl demo`: the main job on bundled data and the bundled pretrained models (`make demo`).

A quick `chemtl compare` of every fine-tuning strategy, starting from the best shipped
composition encoder, ``composition-small-mp``, on matbench_expt_gap (matbench fold 0, 500 training
compositions, one seed), preceded by a look at how chemtl reads compositions and molecules and
followed by the masked-only ``composition-small`` fine-tuned on the same rows (full strategy only,
which keeps the demo within its few minutes), so both shipped models stand beside the scratch
baseline.
"""

from __future__ import annotations

import csv
from pathlib import Path

from chemtl.cli._common import add_verb

COMPOSITIONS = ("Fe2O3", "Li3Fe2(PO4)3", "(Ba0.5Sr0.5)TiO3", "CuSO4·5H2O", "NaN")
MOLECULES = ("C[C@@H](N)C(=O)O", "[NH4+].[Cl-]", "C%10CCCCC%10", "ClCBr", "c1ccccc1Br")
DEMO_MODEL = "composition-small-mp"
SECOND_MODEL = "composition-small"
DEMO_DATA = "matbench_expt_gap"
DEMO_SIZE = 500


def compare_argv(out: str, model: str = DEMO_MODEL, strategies: str | None = None) -> list[str]:
    """A `chemtl compare` command the demo runs: every strategy (or ``strategies``) from ``model``."""
    argv = ["compare", "--model", model, "--data", DEMO_DATA, "--target", "target"]
    if strategies:
        argv += ["--strategies", strategies]
    return argv + ["--size-cap", str(DEMO_SIZE), "--out", out]


def demo_runs(out: str) -> list[tuple[str, list[str]]]:
    """(model, compare argv) of each comparison, in the order the demo runs them."""
    root = Path(out)
    return [
        (DEMO_MODEL, compare_argv(str(root / DEMO_MODEL))),
        (SECOND_MODEL, compare_argv(str(root / SECOND_MODEL), SECOND_MODEL, "full")),
    ]


def read_summary(compare_dir: str | Path) -> dict[str, float]:
    """strategy -> mean test metric at the largest training size, from a compare's summary.csv."""
    with open(Path(compare_dir) / "summary.csv", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["mean"]]
    if not rows:
        return {}
    largest = max(int(r["train_size"]) for r in rows)
    return {r["strategy"]: float(r["mean"]) for r in rows if int(r["train_size"]) == largest}


def headline(results: dict[str, dict[str, float]]) -> list[str]:
    """Lines comparing each shipped model's full fine-tuning with scratch, computed from the
    summaries (``results``: model -> ``read_summary``); the scratch run is the first model's."""
    scratch = next((r["scratch"] for r in results.values() if "scratch" in r), None)
    lines = []
    for model, summary in results.items():
        if "full" not in summary:
            continue
        value = summary["full"]
        change = ""
        if scratch:
            pct = 100.0 * (scratch - value) / scratch
            change = f"  ({abs(pct):.1f}% {'lower' if pct >= 0 else 'higher'} than scratch)"
        lines.append(f"{model + ', full':<28} {value:.4f}{change}")
    if scratch is not None:
        lines.append(f"{'scratch (same architecture)':<28} {scratch:.4f}")
    return lines


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "demo",
        "run the demo: all fine-tuning strategies compared on bundled data (what `make demo` runs)",
        f"""
        Show how chemtl tokenizes compositions and molecules, then compare every fine-tuning
        strategy (full, feature, partial, prompt, LoRA, scratch) from the shipped
        {DEMO_MODEL} encoder on {DEMO_DATA} (matbench fold 0, {DEMO_SIZE} training
        compositions, one seed): the table, a recommendation and an HTML report with figures
        (OUT/{DEMO_MODEL}/report.html). Then fine-tune the masked-only {SECOND_MODEL} on the
        same rows (full strategy) and print both shipped models beside scratch. About 5 minutes
        on 2 cores; running it again reuses finished runs.
        """,
        """
        chemtl demo
        chemtl demo --out runs/my-demo
        """,
    )
    parser.add_argument(
        "--out", default="runs/demo", metavar="DIR", help="where the comparisons go (one folder per model)"
    )
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

    results: dict[str, dict[str, float]] = {}
    for model, argv in demo_runs(args.out):
        _section(f"chemtl {' '.join(argv)}")
        code = main(argv)
        if code:
            return code
        results[model] = read_summary(argv[-1])
    _section(f"shipped models on {DEMO_DATA}, {DEMO_SIZE} training rows, test MAE (eV)")
    for line in headline(results):
        print(line)
    print(f"\nreport: {Path(args.out) / DEMO_MODEL / 'report.html'}")
    return 0
