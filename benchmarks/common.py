"""What every benchmark shares: where results go, provenance, timing helpers, the docs page.

A benchmark script ``benchmarks/NAME.py`` defines ``main(argv) -> dict`` that measures, then calls
``write_result(NAME, payload, ...)`` and ``render_markdown(...)``; it returns
``{"result": path, "docs": path}``. ``chemtl benchmark NAME`` and ``python benchmarks/NAME.py`` both
call it.

A result payload is a dict with, besides the raw numbers under ``data``:

    title, measured (what was measured, one paragraph), split, seed
    targets     [{name, value, target, op ("<=", "<", ">="), unit, pass (True/False/None)}]
    tables      [{title, columns, rows, note}] (peers side by side)
    references  [{name, value, source}] (published numbers cited beside ours)
    notes       [str]

``write_result`` adds wall time, machine, versions, git commit, command line and time stamps and
writes ``results/NAME.json`` atomically (``NAME.quick.json`` for a ``--quick`` smoke run, so a smoke
run never replaces a real result; ``NAME.partial.json``, left off the page, for a piece of a long
protocol, a payload whose ``data.full_protocol`` is false). ``render_markdown`` rebuilds ``docs/BENCHMARKS.md`` from every
result file in the results directory.

Paths: ``--results-dir`` / ``$CHEMTL_BENCH_RESULTS`` (default ``benchmarks/results``) and
``--docs`` / ``$CHEMTL_BENCH_DOCS`` (default ``docs/BENCHMARKS.md``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import write_json as _write_json
from chemtl.atomic import write_text

# As `chemtl` does (chemtl.cli.main): idle OpenMP threads sleep instead of spinning, so a benchmark
# run as `python benchmarks/NAME.py` meets a busy neighbour as `chemtl benchmark NAME` does.
# Set before torch is imported (the scripts import this module first); a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_ENV = "CHEMTL_BENCH_RESULTS"
DOCS_ENV = "CHEMTL_BENCH_DOCS"
# Sections of docs/BENCHMARKS.md come in this order; other results follow alphabetically.
ORDER = (
    "matbench_expt_gap",
    "learning_curve",
    "molecules",
    "molecule_recipe",
    "moleculeace",
    "pretraining_ablation",
    "fewshot",
    "adaptation",
    "describe",
    "generation",
    "prompt_bank",
    "speed",
)
VERDICT = {True: "PASS", False: "MISS", None: "NOT MEASURED"}


# ----------------------------------------------------------------------------------------------
# paths and flags


def finetune_key(model_sha256: str, dataset: str, sub_ds, data, rows: Any, train_cfg, strategy) -> str:
    """The key ``finetune_pinned`` stamps a run with (``chemtl.evaluate.compare.run_hash``): the
    weights hash, the dataset and its sha256, ``rows``, the data config without the split file's
    path, the training and strategy configs."""
    from chemtl.evaluate.compare import run_hash

    return run_hash(
        model_sha256=model_sha256,
        dataset=dataset,
        dataset_sha256=sub_ds.info.get("sha256"),
        rows=rows,
        data={**data.key_dict(), "split_file": None},
        train=train_cfg,
        strategy=strategy,
    )


def combined_overrides(ingredients: dict[str, tuple], names: list[str]) -> dict[str, Any]:
    """The ``TrainConfig`` overrides of several ingredients of a recipe ablation, in order (an
    ingredient's entry is ``(slot, what it changes, overrides)``; a later one wins a shared key)."""
    out: dict[str, Any] = {}
    for name in names:
        out.update(ingredients[name][2])
    return out


def choose_per_slot(baseline: float, values: dict[str, float], slots: dict[str, str]) -> dict[str, str]:
    """The recipe rule of the ablation benchmarks: per slot (``slots``: ingredient -> slot, in
    order), the ingredient with the lowest validation number among those strictly below
    ``baseline``'s (ties: the first in ``slots`` order); slots where none beats it are left out.
    Returns slot -> ingredient."""
    chosen: dict[str, str] = {}
    for name, slot in slots.items():
        v = values.get(name)
        if v is None or not v < baseline:
            continue
        if slot not in chosen or v < values[chosen[slot]]:
            chosen[slot] = name
    return chosen


def finetune_pinned(
    model: str,
    model_sha256: str,
    dataset: str,
    sub_ds,
    data,
    rows: Any,
    train_cfg,
    strategy,
    run_dir: Path,
    fresh: bool,
    bench_name: str,
    ledger=None,
    ledger_run: str | None = None,
):
    """One fine-tuning run of a benchmark, or the finished one in ``run_dir`` when its key
    matches (``chemtl.evaluate.compare.reuse_or_train``): the weights hash of the model (not its
    name), ``rows`` (hashes that pin the rows), the data config without the split file's path (so
    a moved work directory still reuses it), the training and strategy configs. An interrupted
    run resumes. Returns the ``reuse_or_train`` outcome; its stamp holds ``wall_seconds``.

    With a ``ledger`` (``ledger.Ledger``) the run is also written down there as ``ledger_run``
    once finished, and when ``run_dir`` holds no finished run with this key, a record with it is
    taken instead of training (status "recorded", its stamp's ``ledger`` says when it was
    measured and its ``predictions`` are the kept ones), after its kept predictions were scored
    again (``chemtl_record_metrics``)."""
    from chemtl.evaluate.compare import FinishedRun, finished_run, read_json, reuse_or_train
    from chemtl.pipelines.finetune import finetune

    key = finetune_key(model_sha256, dataset, sub_ds, data, rows, train_cfg, strategy)
    keep = ledger is not None and ledger.root is not None and ledger_run is not None
    if keep and not fresh and finished_run(run_dir, key, "bench_run.json") is None:
        entry = ledger.get(ledger_run, key)
        if entry is not None and chemtl_record_metrics(entry["payload"]) is not None:
            import ledger as ledger_mod

            kept = entry["payload"]["predictions"]
            stamp = {**entry["payload"]["stamp"], "ledger": ledger_mod.origin(entry), "predictions": kept}
            return FinishedRun("recorded", entry["payload"]["metrics"], stamp)

    def train(resume: bool, overwrite: bool):
        start = time.perf_counter()
        result = finetune(
            model,
            data,
            train_cfg,
            strategy,
            run_dir,
            resume=resume,
            overwrite=overwrite,
            dataset=sub_ds,
            command=["chemtl", "benchmark", bench_name],
        )
        return result.metrics, {"wall_seconds": time.perf_counter() - start, "model_sha256": model_sha256}

    done = reuse_or_train(run_dir, key, train, fresh=fresh, stamp_name="bench_run.json")
    if keep:
        extra = {k: done.stamp[k] for k in ("wall_seconds", "model_sha256") if k in done.stamp}
        payload = {"metrics": done.metrics, "stamp": extra, "predictions": kept_predictions(run_dir)}
        if chemtl_record_metrics(payload) is not None:
            manifest = read_json(run_dir / "manifest.json") or {}
            trained = done.status == "trained"  # a new measurement replaces the record
            ledger.put(ledger_run, key, payload, measured=manifest.get("finished"), replace=trained)
    return done


def kept_predictions(run_dir: Path, sides: Sequence[str] = ("val", "test")) -> dict[str, Any]:
    """A finished fine-tuning run's predictions on ``sides`` from its predictions.csv:
    side -> {rows, targets, predictions} (regression runs; a run without them gives {})."""
    import csv as _csv

    out: dict[str, dict[str, list]] = {}
    path = Path(run_dir) / "predictions.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in _csv.DictReader(handle):
            side = row.get("split")
            if side not in sides or "prediction" not in row:
                continue
            got = out.setdefault(side, {"rows": [], "targets": [], "predictions": []})
            got["rows"].append(int(row["row"]))
            got["targets"].append(float(row["target"]))
            got["predictions"].append(float(row["prediction"]))
    return out


def chemtl_record_metrics(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The val and test metrics of a recorded chemtl run scored again from its kept predictions,
    when they are its recorded RMSE and MAE (else None: the record is not taken)."""
    import ledger as ledger_mod

    from chemtl.evaluate.metrics import regression_metrics

    metrics, kept = payload.get("metrics") or {}, payload.get("predictions") or {}
    if "test" not in kept or not isinstance(payload.get("stamp"), dict):
        return None
    again = {}
    for side, got in kept.items():
        score = regression_metrics(np.asarray(got["targets"]), np.asarray(got["predictions"]))
        recorded = metrics.get(side) or {}
        if not all(ledger_mod.same_score(recorded.get(m), score[m]) for m in ("rmse", "mae")):
            return None
        again[side] = score
    return again


def smiles_model(option: str, default: str, notes: list[str], log: Callable[[str], None]):
    """A molecule benchmark's ``--model``: ``(model, weights sha256)``, or ``(None, None)`` for
    'none' (peers only) and for the default model where this checkout does not ship it (a note
    says so). A missing model or one that does not read SMILES is a one-line error."""
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.compare import model_fingerprint
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pretrained import resolve_model_dir, shipped_models

    if option.strip().lower() == "none":
        notes.append("chemtl runs skipped on request (--model none): peers only.")
        return None, None
    if option == default and default not in shipped_models():
        log(f"note: {default} is not shipped in this checkout; chemtl is not run (peers only)")
        notes.append(f"{default} is not shipped in this checkout, so chemtl was not run.")
        return None, None
    if not resolve_model_dir(option).is_dir():
        raise ChemtlError(f"--model {option!r}: no shipped model of that name and no such directory")
    kind = load_model_dir(resolve_model_dir(option)).kind
    if kind != "smiles":
        raise ChemtlError(f"--model {option!r} reads {kind} inputs; this benchmark needs a SMILES model")
    return option, model_fingerprint(resolve_model_dir(option))


def finetune_config(args: Any, **fields: Any):
    """The ``TrainConfig`` of a benchmark's chemtl runs from its training flags (``--lr``,
    ``--head-lr``, ``--lr-decay``, ``--batch-size``, ``--epochs``, ``--patience`` 0 = off,
    ``--scheduler``), seed 0 (each run replaces it), no progress bar; ``fields`` on top."""
    from chemtl.training.config import TrainConfig

    return TrainConfig(
        lr=args.lr,
        head_lr=args.head_lr or None,
        lr_decay=args.lr_decay,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.patience or None,
        seed=0,
        scheduler=args.scheduler,
        progress_bar=False,
        checkpoint_every_n_steps=1000,
        **fields,
    )


def add_recipe_arg(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """``--recipe NAME`` of a SMILES benchmark: a named fine-tuning recipe for every chemtl run;
    ``many``: a list of them (``none`` = the training flags), each its own chemtl variant."""
    parser.add_argument(
        "--recipe",
        default=None,
        metavar="LIST" if many else "NAME",
        help=(
            "named fine-tuning recipes (chemtl.training.recipes), each its own chemtl variant, e.g. "
            "none,molecule ('none': the training flags above)"
            if many
            else "a named fine-tuning recipe (chemtl.training.recipes, e.g. molecule) for every chemtl run "
            "instead of the training flags above"
        )
        + "; --epochs still wins; a recipe's runs are their own, chemtl-MODEL+FEATURES@NAME",
    )


def parse_recipes(text: str | None) -> list[str | None]:
    """``--recipe LIST``: recipe names in order, ``none`` (None) for the training flags; default
    ``[None]``. An unknown or repeated name is a ``ChemtlError``."""
    from chemtl.errors import ChemtlError
    from chemtl.training.recipes import recipe_defaults

    if text is None:
        return [None]
    names: list[str | None] = []
    for item in (t.strip() for t in text.split(",")):
        name = None if item.lower() == "none" else item
        if name is not None:
            recipe_defaults(name)  # an unknown name fails here, before any run
        if name in names:
            raise ChemtlError(f"--recipe {item!r}: given twice")
        names.append(name)
    return names


def parse_recipe(text: str | None) -> str | None:
    """``--recipe NAME`` of a benchmark that takes one: ``parse_recipes`` of it, which must name one
    (None: the training flags)."""
    from chemtl.errors import ChemtlError

    first, *more = parse_recipes(text)
    if more:
        raise ChemtlError(f"--recipe {text!r}: this benchmark takes one recipe")
    return first


def recipe_train_settings(args: Any, name: str) -> tuple[dict[str, Any], str]:
    """Recipe ``name``'s ``TrainConfig`` fields and its ``DataConfig.augment``
    (``chemtl.training.recipes``; ``auto`` is randomised SMILES for these SMILES sets); ``--epochs``
    when given (``args.epochs_given``) replaces its epochs. An unknown name is a ``ChemtlError``."""
    from chemtl.training.recipes import recipe_settings

    settings, augment = recipe_settings(name)
    if getattr(args, "epochs_given", False):
        settings["max_epochs"] = args.epochs
    return settings, ("random-smiles" if augment == "auto" else augment)


def recipe_config(args: Any, cfg, name: str | None):
    """``cfg`` (a ``TrainConfig`` from the training flags) with recipe ``name``'s settings on top
    (None: ``cfg`` itself)."""
    import dataclasses

    return cfg if name is None else dataclasses.replace(cfg, **recipe_train_settings(args, name)[0])


def chemtl_augment(args: Any, name: str | None) -> str:
    """The training-batch augmentation of a SMILES benchmark's chemtl runs under recipe ``name``
    (None: none)."""
    return "none" if name is None else recipe_train_settings(args, name)[1]


def recipe_record(args: Any, name: str | None) -> dict[str, Any] | None:
    """What a result records of recipe ``name``: its name, training settings and augmentation."""
    if name is None:
        return None
    settings, augment = recipe_train_settings(args, name)
    return {"name": name, "train": settings, "augment": augment}


def recipe_text(args: Any, name: str | None) -> str:
    """A result note's words for recipe ``name``'s training (None: nothing)."""
    if name is None:
        return ""
    settings, augment = recipe_train_settings(args, name)
    return f"recipe {name!r}: {settings}, augmentation {augment}"


def chemtl_dir_name(model: str, features: str, recipe: str | None = None) -> str:
    """The run directory of a chemtl variant of a SMILES benchmark: ``chemtl-smiles-small``,
    ``chemtl-smiles-small+rdkit``, ``chemtl-smiles-small+rdkit@molecule`` (trained with the named
    recipe ``molecule``), ..."""
    return (
        f"chemtl-{Path(model).name}"
        + ("" if features == "none" else f"+{features}")
        + ("" if recipe is None else f"@{recipe}")
    )


def fold_subset(ds, split, train, test, fold: int, params: dict[str, Any]):
    """The rows ``train`` then ``test`` of ``ds`` as their own dataset, and a matbench ``Split``
    over it (training side first, no validation rows: finetune carves them), carrying ``split``'s
    seed and params plus ``params``. Returns ``(sub_ds, sub_split)``."""
    import numpy as np

    from chemtl.data.splits import Split

    rows = np.concatenate([train, test])
    sub_split = Split(
        method="matbench",
        train=np.arange(len(train)),
        val=np.array([], dtype=np.int64),
        test=np.arange(len(train), len(rows)),
        n=len(rows),
        seed=split.seed,
        params={**split.params, **params},
        fold=fold,
    )
    return ds.subset(rows), sub_split


def results_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get(RESULTS_ENV) or BENCH_DIR / "results")


def docs_path(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get(DOCS_ENV) or REPO_ROOT / "docs" / "BENCHMARKS.md")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line naming the bad value (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """--quick, --results-dir, --docs: the flags every benchmark takes."""
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run in seconds (writes NAME.quick.json, not NAME.json)"
    )
    parser.add_argument(
        "--results-dir",
        metavar="DIR",
        help=f"where results/NAME.json goes (default ${RESULTS_ENV} or benchmarks/results)",
    )
    parser.add_argument(
        "--docs", metavar="FILE", help=f"the page to regenerate (default ${DOCS_ENV} or docs/BENCHMARKS.md)"
    )


# ----------------------------------------------------------------------------------------------
# provenance


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info() -> dict[str, Any]:
    """Platform, CPU model and count, torch threads and the load average when measured."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
    }
    try:
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def versions() -> dict[str, str | None]:
    from chemtl.training.manifest import versions as package_versions

    return package_versions()


def git_commit() -> str | None:
    from chemtl.training.manifest import git_commit as commit

    return commit(REPO_ROOT)


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def start(parser, argv, quick: dict[str, Any], full: dict[str, Any] | None = None):
    """A benchmark's ``main`` prologue: ``(argv, args, started_iso, started)``. ``argv`` defaults
    to the command line; flags left unset (None) take ``quick``'s values in a ``--quick`` run,
    else ``full``'s; the start time (ISO, and ``time.perf_counter``) is taken after parsing."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    started_iso, started = now_iso(), time.perf_counter()
    for key, value in ((quick if args.quick else full) or {}).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return argv, args, started_iso, started


# ----------------------------------------------------------------------------------------------
# timing


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def rounded(x: float | None, digits: int = 4) -> float | None:
    if x is None:
        return None
    return float(f"{x:.{digits}g}")


def verdict(value: float | None, target: float, op: str) -> bool | None:
    if value is None:
        return None
    return {"<=": value <= target, "<": value < target, ">=": value >= target, ">": value > target}[op]


def verdict_text(t: dict) -> str:
    """PASS, MISS, NO VERDICT (measured, verdict withheld: see the note) or NOT MEASURED."""
    if t.get("pass") is None and t.get("value") is not None:
        return "NO VERDICT"
    return VERDICT[t.get("pass")]


def target(name: str, value: float | None, goal: float, op: str, unit: str = "", note: str = "") -> dict:
    return {
        "name": name,
        "value": value,
        "target": goal,
        "op": op,
        "unit": unit,
        "pass": verdict(value, goal, op),
        "note": note,
    }


QUICK_NOTE = "quick smoke run, not the benchmark: no verdict"


def withhold(t: dict, why: str) -> dict:
    """No verdict for target ``t`` (``pass`` None), ``why`` added to its note; returns ``t``."""
    t["pass"] = None
    t["note"] = (t["note"] + "; " if t.get("note") else "") + why
    return t


def seeds_arg(text: str, flag: str = "--seeds") -> tuple[int, ...]:
    """A benchmark's seed flag: the one meaning chemtl gives ``--seeds`` (a comma-separated list of
    seed values, ``3`` being the single seed 3), parsed by ``chemtl.evaluate.compare.parse_seeds``."""
    from chemtl.evaluate.compare import parse_seeds

    return parse_seeds(text, flag)


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and standard deviation over replicates with chemtl's one convention
    (``chemtl.evaluate.compare.STD_DDOF``: the sample std, ddof 1; None for one value)."""
    from chemtl.evaluate.compare import mean_std as library_mean_std

    return library_mean_std(list(values))


def std_label() -> str:
    """How every benchmark table names its standard deviation."""
    from chemtl.evaluate.compare import STD_DDOF

    return f"sample std, ddof={STD_DDOF}"


# ----------------------------------------------------------------------------------------------
# writing


def result_file(
    name: str, quick: bool, directory: str | os.PathLike | None = None, partial: bool = False
) -> Path:
    """``NAME.json``; ``NAME.quick.json`` for a smoke run; ``NAME.partial.json`` for a piece of a
    long protocol (``data.full_protocol`` false), so running one dataset at a time never replaces
    the published full result, and the page leaves it out."""
    suffix = ".quick" if quick else ".partial" if partial else ""
    return results_dir(directory) / f"{name}{suffix}.json"


def write_result(
    name: str,
    payload: dict[str, Any],
    *,
    wall_seconds: float,
    started: str,
    quick: bool = False,
    directory: str | os.PathLike | None = None,
    argv: Sequence[str] | None = None,
    partial: bool = False,
) -> Path:
    """Write ``results/NAME.json`` (atomically) with provenance added; return its path."""
    record = {
        "benchmark": name,
        "quick": quick,
        **payload,
        "wall_seconds": round(wall_seconds, 2),
        "started": started,
        "finished": now_iso(),
        "command": ["chemtl", "benchmark", name, *(argv or [])],
        "machine": machine_info(),
        "versions": versions(),
        "git_commit": git_commit(),
    }
    path = result_file(name, quick, directory, partial=partial)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, record)
    return path


# ----------------------------------------------------------------------------------------------
# the docs page


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out


def _fmt_value(value: Any, unit: str) -> str:
    return "-" if value is None else f"{_cell(value)}{(' ' + unit) if unit else ''}"


def render_section(result: dict[str, Any]) -> list[str]:
    name = result.get("benchmark", "?")
    quick = result.get("quick")
    title = result.get("title", name)
    lines = [f"## {title}{' (quick smoke run: not the benchmark)' if quick else ''}", ""]
    targets = result.get("targets") or []
    if quick:  # whatever an older result file says, a smoke run has no verdict
        targets = [{**t, "pass": None} for t in targets]
    missed = [t for t in targets if t.get("pass") is False]
    unmeasured = [t for t in targets if t.get("pass") is None and t.get("value") is None]
    withheld = [t for t in targets if t.get("pass") is None and t.get("value") is not None]
    if missed:
        lines += [
            "**Missed targets:** "
            + "; ".join(
                f"{t['name']}: {_fmt_value(t['value'], t.get('unit', ''))}, target {t['op']} "
                f"{_fmt_value(t['target'], t.get('unit', ''))}"
                for t in missed
            )
            + ".",
            "",
        ]
    if unmeasured:
        lines += ["**Not measured in this run:** " + "; ".join(t["name"] for t in unmeasured) + ".", ""]
    if withheld and not quick:
        lines += [
            "**No verdict:** "
            + "; ".join(f"{t['name']} ({t.get('note') or 'see its note'})" for t in withheld)
            + ".",
            "",
        ]
    if result.get("measured"):
        lines += [result["measured"], ""]
    machine = result.get("machine", {})
    vers = result.get("versions", {})
    facts = [
        ("command", f"`{' '.join(result.get('command', []))}`"),
        ("split", result.get("split")),
        ("seed", result.get("seed")),
        (
            "machine",
            f"{machine.get('cpu_model')}, {machine.get('cpu_count')} cores, torch threads "
            f"{machine.get('torch_threads', '-')}, load average at the end {machine.get('load_average', '-')}",
        ),
        ("versions", ", ".join(f"{k} {v}" for k, v in vers.items() if v)),
        ("git commit", result.get("git_commit")),
        (
            "wall time",
            f"{result.get('wall_seconds')} s ({result.get('started')} to {result.get('finished')})",
        ),
    ]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in facts if v is not None] + [""]
    if targets:
        lines += ["### Targets", ""]
        rows = [
            [
                t["name"],
                _fmt_value(t["value"], t.get("unit", "")),
                f"{t['op']} {_fmt_value(t['target'], t.get('unit', ''))}",
                verdict_text(t),
                t.get("note", ""),
            ]
            for t in targets
        ]
        lines += _table(["target", "measured", "goal", "verdict", "note"], rows) + [""]
    for table in result.get("tables") or []:
        lines += [f"### {table['title']}", ""]
        lines += _table(table["columns"], table["rows"]) + [""]
        if table.get("note"):
            lines += [table["note"], ""]
    refs = result.get("references") or []
    if refs:
        lines += ["### Published reference numbers", ""]
        lines += _table(
            ["reference", "value", "source"], [[r["name"], r["value"], r["source"]] for r in refs]
        )
        lines += [""]
    notes = result.get("notes") or []
    if notes:
        lines += ["### Notes", ""] + [f"- {n}" for n in notes] + [""]
    return lines


def _order_key(path: Path) -> tuple:
    name = path.name.removesuffix(".json")
    quick = name.endswith(".quick")
    base = name.removesuffix(".quick")
    rank = ORDER.index(base) if base in ORDER else len(ORDER)
    return (quick, rank, base)


def publish(
    name: str,
    payload: dict[str, Any],
    args: Any,
    argv: Sequence[str] | None,
    started: float,
    started_iso: str,
) -> dict[str, Path]:
    """A benchmark's last step: write its result (``args`` carries ``quick``, ``results_dir`` and
    ``docs``), regenerate the benchmarks page, and return both paths."""
    if args.quick:
        for t in payload.get("targets") or []:
            if t.get("pass") is not None or QUICK_NOTE not in (t.get("note") or ""):
                withhold(t, QUICK_NOTE)
    path = write_result(
        name,
        payload,
        wall_seconds=time.perf_counter() - started,
        started=started_iso,
        quick=args.quick,
        directory=args.results_dir,
        argv=argv,
        partial=not args.quick and (payload.get("data") or {}).get("full_protocol") is False,
    )
    return {"result": path, "docs": render_markdown(args.results_dir, args.docs)}


def print_paths(out: dict[str, Path]) -> None:
    print(f"result: {out['result']}\ndocs: {out['docs']}")


def render_markdown(results: str | os.PathLike | None = None, docs: str | os.PathLike | None = None) -> Path:
    """Rebuild the benchmarks page from every ``*.json`` in the results directory; return its path."""
    rdir, out = results_dir(results), docs_path(docs)
    files = (
        sorted((p for p in rdir.glob("*.json") if not p.name.endswith(".partial.json")), key=_order_key)
        if rdir.is_dir()
        else []
    )
    lines = [
        "# chemtl benchmarks",
        "",
        "Generated by `chemtl benchmark NAME` (or `make bench`) from "
        f"`{_display(rdir)}/*.json`; do not edit by hand. Every number below comes from one script "
        "run on the machine named in its section; the peers ran in the same script on the same split. "
        "Timings on a shared machine are noisy, so speed figures are ratios measured in one run "
        "(medians of repeats). Every standard deviation (± here, and in `chemtl compare`'s summary) is "
        "the sample standard deviation over replicates (seeds or folds), ddof=1 "
        "(`chemtl.evaluate.compare.STD_DDOF`); with one replicate there is none. A quick smoke run "
        "(`--quick`) gives no verdicts and never enters the targets at a glance.",
        "",
    ]
    summary = []
    for path in files:
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("quick"):  # a smoke run gives no verdicts and never enters the summary
            continue
        for t in result.get("targets") or []:
            summary.append(
                [
                    result.get("title", path.stem),
                    t["name"],
                    _fmt_value(t["value"], t.get("unit", "")),
                    f"{t['op']} {_fmt_value(t['target'], t.get('unit', ''))}",
                    verdict_text(t),
                ]
            )
    if summary:
        lines += ["## Targets at a glance", ""]
        lines += _table(["benchmark", "target", "measured", "goal", "verdict"], summary) + [""]
    if not files:
        lines += ["No results yet: run `make bench`.", ""]
    for path in files:
        lines += render_section(json.loads(path.read_text(encoding="utf-8")))
    write_text(out, "\n".join(lines).rstrip() + "\n")
    return out


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
