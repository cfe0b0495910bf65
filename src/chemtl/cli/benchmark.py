"""`chemtl benchmark NAME`: run ``benchmarks/NAME.py`` and regenerate docs/BENCHMARKS.md.

The benchmark scripts live in the repository (``benchmarks/``), not in the installed package: the
verb finds them beside chemtl's source in an editable install (``src/chemtl`` -> ``benchmarks``),
or in ``$CHEMTL_BENCHMARKS_DIR``. Every flag after NAME goes to the script (``--quick``,
``--results-dir``, ``--docs``, and its own; ``chemtl benchmark NAME --help`` lists them).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from chemtl.cli._common import add_verb

BENCHMARKS_ENV = "CHEMTL_BENCHMARKS_DIR"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NOT_BENCHMARKS = {"common", "ledger", "molecule_peers"}  # helper modules of the scripts


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "benchmark",
        "run a benchmark script: results/NAME.json (every number, split, seed, machine) + docs/BENCHMARKS.md",
        """
        Run benchmarks/NAME.py: it measures chemtl beside its peers in one script, on the same
        split, and writes benchmarks/results/NAME.json (every number, the split, seed, machine,
        package versions, git commit and wall time), then regenerates docs/BENCHMARKS.md from
        every result file. Benchmarks: matbench_expt_gap (the Matbench 5-fold protocol vs
        RandomForest-on-Magpie and predict-the-mean), learning_curve (pretrained vs scratch at
        50-1000 training rows), molecules (smiles-small vs Chemprop v2 vs RandomForest-on-Morgan
        on ESOL, FreeSolv, Lipophilicity), molecule_recipe (the fine-tuning recipe and randomised
        SMILES on one molecule set, choices on validation rows), moleculeace (smiles-small vs RF-ECFP and SVM-ECFP on
        the 30 MoleculeACE sets, RMSE and activity-cliff RMSE), pretraining_ablation (masking and objective choices),
        fewshot (ProtoNet, linear probe, GP, kNN, RF and fine-tuning on the same N-way K-shot
        episodes of the meta-test tasks), adaptation (source-only, DANN, a source-then-target
        chain, direct and target-supervised fine-tuning on three domain shifts, with MMD and
        A-distance before and after), describe (a T5 describer's text read back: band-gap
        MAE and metal accuracy beside regression and classification heads, BLEU, ROUGE-L),
        generation (MOSES metrics of smiles-gpt-small, validity, novelty and SMACT of
        composition-gpt-small, beside MOSES CharRNN and a random baseline), prompt_bank
        (prompt, fixed prompt, prefix and LoRA tasks in one bank on a frozen encoder vs per-task
        full fine-tuning on several composition properties), speed (tokenizers,
        inference, engine overhead, memory, FLOP rate). --quick makes a smoke
        run in seconds that writes NAME.quick.json, gives no PASS/MISS verdicts and stays out
        of the page's targets at a glance. --seeds is a comma-separated list of seed values
        (0,1,2), as on every verb.
        Flags after NAME go to the benchmark; `chemtl benchmark NAME --help` lists them.
        The scripts are found beside chemtl's source (an editable install of the repository)
        or in $CHEMTL_BENCHMARKS_DIR.
        """,
        """
        chemtl benchmark speed --quick                            # a smoke run: no verdicts
        chemtl benchmark matbench_expt_gap --models none          # the peers only
        chemtl benchmark matbench_expt_gap --quick --models composition-small
        chemtl benchmark learning_curve --model composition-small-mp --seeds 0,1,2
        chemtl benchmark molecules --model smiles-small --datasets esol,freesolv --seeds 0
        chemtl benchmark speed --quick --results-dir /tmp/res --docs /tmp/BENCHMARKS.md
        chemtl benchmark fewshot --quick --collections composition_tasks
        chemtl benchmark adaptation --quick --scenarios lipo_scaffold
        chemtl benchmark describe --n-test 2000 --n-train 20000
        chemtl benchmark generation --n 2000 --ref-size 2000 --no-fcd
        chemtl benchmark prompt_bank --quick
        """,
    )
    parser.add_argument("name", metavar="NAME", help="the benchmark: speed, matbench_expt_gap, ...")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="FLAGS", help="flags for the benchmark (--quick, ...)"
    )
    parser.set_defaults(func=run)


def benchmarks_dir() -> Path:
    """``$CHEMTL_BENCHMARKS_DIR``, or ``benchmarks/`` beside chemtl's source tree."""
    import chemtl
    from chemtl.errors import ChemtlError

    override = os.environ.get(BENCHMARKS_ENV)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise ChemtlError(f"${BENCHMARKS_ENV} is {override!r}, which is not a directory")
        return path
    path = Path(chemtl.__file__).resolve().parents[2] / "benchmarks"
    if not (path / "common.py").is_file():
        raise ChemtlError(
            f"no benchmarks directory beside chemtl's source (looked for {str(path)!r}); the benchmark "
            f"scripts come with the repository: install it editable (pip install -e .) or set ${BENCHMARKS_ENV}"
        )
    return path


def available(directory: Path) -> list[str]:
    return sorted(
        p.stem for p in directory.glob("*.py") if _NAME.fullmatch(p.stem) and p.stem not in _NOT_BENCHMARKS
    )


def load_benchmark(name: str, directory: Path):
    """Import ``directory/NAME.py`` (with ``directory`` on sys.path for its ``common`` module)."""
    import importlib.util

    from chemtl.errors import ChemtlError

    if not _NAME.fullmatch(name) or name in _NOT_BENCHMARKS or not (directory / f"{name}.py").is_file():
        names = ", ".join(available(directory)) or "none"
        raise ChemtlError(
            f"unknown benchmark {name!r}: no {name}.py in {str(directory)!r} (available: {names})"
        )
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    loaded = sys.modules.get("common")
    if (
        loaded is not None
        and Path(getattr(loaded, "__file__", "") or "").resolve() != (directory / "common.py").resolve()
    ):
        del sys.modules["common"]  # another directory's helper module: load this one's
    spec = importlib.util.spec_from_file_location(f"chemtl_benchmarks.{name}", directory / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise ChemtlError(f"benchmark script {str(directory / f'{name}.py')!r} has no main(argv) function")
    return module


def run(args: argparse.Namespace) -> int:
    module = load_benchmark(args.name, benchmarks_dir())
    out = module.main(list(args.args)) or {}
    if "result" in out:
        sys.stdout.write(f"result: {out['result']}\ndocs: {out.get('docs')}\n")
    else:  # a piece of a run (--only): nothing published
        sys.stdout.write("result: none (a piece of the run; the full command publishes)\n")
    return 0
