"""Benchmark ``molecule_recipe``: the composition fine-tuning recipe, and randomised SMILES, on a molecule set.

One (dataset, split, seed) of the molecules benchmark (default Lipophilicity, balanced scaffold
split, seed 0: the very rows ``chemtl benchmark molecules`` uses, made by its ``make_split``),
``--model`` (default ``smiles-small``) fine-tuned with strategy ``full`` and the hybrid head on
RDKit descriptors. Every choice below is made on the split's validation rows, never its test rows.

Rows:

1. ``baseline``: exactly the molecules benchmark's ``chemtl+rdkit`` run of
   ``chemtl benchmark molecules --epochs 12 --patience 3`` (its flags' settings, features rdkit).
   Its finished run in the molecules benchmark's work directory (``--molecules-dir``) is reused
   when its key (weights hash, rows, data, training and strategy configs) is this row's; else
   the row is trained here.
2. ``+ X`` for each ingredient X of ``INGREDIENTS``: the baseline with that one change (a slot
   holds alternatives: the augmentation, the schedule, the loss). The schedules are the recipe
   benchmark's (``benchmarks/recipe.py``): cyclic lr with weight averaging, one-cycle.
3. ``recipe``: the baseline plus, per slot, the ingredient with the lowest validation RMSE among
   those that beat the baseline's validation RMSE (none when none does;
   ``common.choose_per_slot``). The rule is fixed here, before any run; the result records what it
   chose. A recipe that is one row already run is that row (not trained twice).

Beside (not rerun): the molecules benchmark's Chemprop and RF-Morgan test RMSE on the same rows
(their run directories' kept predictions, scored as that benchmark scores them, only where their
split, inputs and targets hashes are this split's); "not run" otherwise.

Writes ``results/molecule_recipe.json`` and regenerates ``docs/BENCHMARKS.md``. Every run is reused
when its key is unchanged and resumed when it was killed.

    chemtl benchmark molecule_recipe                                    # lipophilicity, scaffold, seed 0
    chemtl benchmark molecule_recipe --only "+ l1"                      # one row: a piece (NAME.partial.json)
    chemtl benchmark molecule_recipe --quick --model DIR                # smoke: 60 rows, 1 epoch, no verdicts
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import ledger  # noqa: E402
import molecule_peers  # noqa: E402
import molecules  # noqa: E402
import recipe  # noqa: E402

NAME = "molecule_recipe"
DATASETS = molecules.DATASETS
SPLITS = molecules.SPLITS
MODEL = molecules.DEFAULT_MODEL
FEATURES = "rdkit"
# the molecules benchmark's command line whose chemtl+rdkit run is the baseline
BASELINE_ARGV = ("--epochs", "12", "--patience", "3")
TARGET_RATIO = molecules.TARGET_RATIO
# name -> (slot, what it changes, overrides: TrainConfig fields, and ``augment`` of the DataConfig)
INGREDIENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "random-smiles": (
        "augment",
        "each training molecule written as a new randomised SMILES every batch (--augment random-smiles)",
        {"augment": "random-smiles"},
    ),
    "cyclic-swa-20": recipe.INGREDIENTS["cyclic-swa-20"],
    "onecycle-20": recipe.INGREDIENTS["onecycle-20"],
    "l1": ("loss", "L1 loss instead of MSE", recipe.INGREDIENTS["l1"][2]),
}
QUICK = {"size_cap": 60, "max_epochs": 1}
DATA_FIELDS = ("augment",)


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="The fine-tuning recipe (schedule, weight averaging, loss) and randomised SMILES on one "
        "molecule set: each ingredient alone on the molecules benchmark's chemtl+rdkit run, then the "
        "combination chosen on validation rows, Chemprop and RF-Morgan of the same rows beside.",
    )
    common.add_common_args(p)
    p.add_argument("--dataset", choices=DATASETS, default="lipophilicity", help="default lipophilicity")
    p.add_argument("--split", choices=SPLITS, default="scaffold", help="default scaffold (balanced)")
    p.add_argument("--seed", type=int, default=0, help="the split's and every run's seed (default 0)")
    p.add_argument("--model", default=MODEL, metavar="NAME|DIR", help=f"the SMILES model (default {MODEL})")
    p.add_argument(
        "--ingredients",
        default=",".join(INGREDIENTS),
        metavar="LIST",
        help=f"ingredients to try (default {','.join(INGREDIENTS)})",
    )
    p.add_argument(
        "--size-cap", type=int, default=None, metavar="N", help="use N rows of the dataset (smoke)"
    )
    p.add_argument("--max-epochs", type=int, default=None, help="override every row's epochs (smoke)")
    p.add_argument(
        "--only",
        default=None,
        metavar="ROWS",
        help="train only these rows, e.g. 'baseline,+ l1' (to split a run over processes; the others "
        "are collected where finished): a piece, written to NAME.partial.json, nothing chosen",
    )
    p.add_argument("--work-dir", default=None, metavar="DIR", help=f"default build/benchmarks/{NAME}[-quick]")
    p.add_argument(
        "--molecules-dir",
        default=None,
        metavar="DIR",
        help="the molecules benchmark's work directory, read for the baseline run and the peers "
        "(default build/benchmarks/molecules[-quick])",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="retrain this benchmark's runs (a finished baseline of the molecules benchmark is still reused)",
    )
    ledger.add_ledger_arg(p)
    return p


def choose_recipe(baseline_val: float, ingredient_val: dict[str, float]) -> dict[str, str]:
    """Per slot, the ingredient with the lowest validation RMSE among those below the baseline's
    (ties: the first in ``INGREDIENTS`` order); slots where none beats the baseline are left out."""
    return common.choose_per_slot(baseline_val, ingredient_val, {n: v[0] for n, v in INGREDIENTS.items()})


def combined_overrides(names: list[str]) -> dict[str, Any]:
    return common.combined_overrides(INGREDIENTS, names)


def baseline_config(seed: int):
    """The molecules benchmark's chemtl+rdkit ``TrainConfig`` for ``BASELINE_ARGV`` and ``seed``."""
    return molecules.chemtl_config(molecules.build_parser().parse_args(list(BASELINE_ARGV)), seed, FEATURES)


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)

    from chemtl.data import load_dataset
    from chemtl.data.splits import save_split
    from chemtl.errors import ChemtlError
    from chemtl.evaluate.compare import finished_run, read_json

    names = [n.strip() for n in args.ingredients.split(",") if n.strip()]
    bad = [n for n in names if n not in INGREDIENTS]
    if bad or not names or len(set(names)) != len(names):
        raise ChemtlError(
            f"--ingredients {args.ingredients!r}: choose from {', '.join(INGREDIENTS)}, each at most once"
        )
    if args.seed < 0:
        raise ChemtlError(f"--seed {args.seed}: use a seed >= 0")
    if args.size_cap is not None and args.size_cap < 20:
        raise ChemtlError(f"--size-cap {args.size_cap}: use at least 20 rows")
    if args.max_epochs is not None and args.max_epochs < 1:
        raise ChemtlError(f"--max-epochs {args.max_epochs}: use at least 1")
    labels = ["baseline", *[f"+ {n}" for n in names], "recipe"]
    only = None if args.only is None else [r.strip() for r in args.only.split(",") if r.strip()]
    if only is not None and (not only or any(r not in labels for r in only)):
        raise ChemtlError(f"--only {args.only!r}: choose rows from {', '.join(labels)}")
    suffix = "-quick" if args.quick else ""
    work = Path(args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + suffix))
    mol_work = Path(args.molecules_dir or common.REPO_ROOT / "build" / "benchmarks" / ("molecules" + suffix))

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    notes: list[str] = []
    kept = ledger.Ledger.from_args(args, NAME, common.results_dir(args.results_dir))
    mol_kept = kept.sibling("molecules")
    model, model_sha = common.smiles_model(args.model, MODEL, notes, log)
    if model is None:
        raise ChemtlError(
            f"--model {args.model!r}: no SMILES model to fine-tune (this benchmark has no peers-only mode)"
        )

    # ---- the molecules benchmark's rows and split
    ds = load_dataset(args.dataset)
    rows = molecules.capped_rows(len(ds), args.size_cap, args.dataset)
    sub_ds = ds if len(rows) == len(ds) else ds.subset(rows)
    split = molecules.make_split(sub_ds.inputs, args.split, args.seed)
    tag = molecules.run_tag(args.split, args.seed, args.size_cap)
    base_dir = work / args.dataset / tag
    split_path = save_split(split, base_dir / "split.json", inputs=sub_ds.inputs)
    split_sha = molecule_peers._split_hash(split)
    sizes = split.sizes
    units = ds.info.get("units") or ""
    log(
        f"{args.dataset} {args.split} seed {args.seed}: train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}"
    )

    base_cfg = baseline_config(args.seed)

    def configs(overrides: dict[str, Any]):
        """A row's TrainConfig (the baseline's with ``overrides``; ``--max-epochs`` over every row's)
        and its augmentation."""
        fields = {k: v for k, v in overrides.items() if k not in DATA_FIELDS}
        if args.max_epochs is not None:
            fields["max_epochs"] = args.max_epochs
        return dataclasses.replace(base_cfg, **fields), overrides.get("augment", "none")

    def key_of(overrides: dict[str, Any]) -> str:
        train, augment = configs(overrides)
        return molecules.chemtl_run_key(model_sha, args.dataset, sub_ds, split, split_path, train, augment)

    # ---- the baseline: the molecules benchmark's finished run when it is this row's
    mol_base = mol_work / args.dataset / tag
    mol_run = mol_base / molecules.chemtl_dir_name(model, FEATURES)
    base_key = key_of({})
    base_record = molecules.record_name(args.dataset, tag, molecules.chemtl_dir_name(model, FEATURES))
    stamp = read_json(mol_run / "bench_run.json")
    if finished_run(mol_run, base_key, "bench_run.json") is not None:
        baseline_source = {"run_dir": str(mol_run), "from_molecules": True, "why_not": None}
    elif mol_kept.get(base_record, base_key) is not None:
        baseline_source = {"run_dir": str(mol_run), "from_molecules": True, "why_not": None, "ledger": True}
    else:
        if stamp is None:
            why = f"no run in {mol_run}"
        elif stamp.get("hash") != base_key:
            why = f"the run in {mol_run} has another key ({str(stamp.get('hash'))[:12]} there, {base_key[:12]} here)"
        else:
            why = f"the run in {mol_run} is not finished (status {stamp.get('status')!r})"
        baseline_source = {"run_dir": str(base_dir / "baseline"), "from_molecules": False, "why_not": why}
        log(f"note: the molecules benchmark's baseline run is not reused: {why}; trained here")
    baseline_source["key"] = base_key

    runs: dict[str, dict[str, Any]] = {}
    by_key: dict[str, str] = {}

    def run(label: str, overrides: dict[str, Any], what: str) -> dict[str, Any] | None:
        key = key_of(overrides)
        if key in by_key:  # the same configuration as a row already run (a one-ingredient recipe)
            out = {**runs[by_key[key]], "label": label, "what": what, "same_as": by_key[key]}
            runs[label] = out
            log(f"{label}: the same run as {by_key[key]!r}")
            return out
        run_dir = Path(baseline_source["run_dir"]) if label == "baseline" else base_dir / _dir_name(label)
        fresh = args.fresh and not (label == "baseline" and baseline_source["from_molecules"])
        # the baseline is the molecules benchmark's run: its record is that benchmark's
        book, record = (
            (mol_kept, base_record)
            if label == "baseline"
            else (kept, molecules.record_name(args.dataset, tag, _dir_name(label)))
        )
        finished = (
            finished_run(run_dir, key, "bench_run.json") is not None or book.get(record, key) is not None
        )
        if only is not None and label not in only and not finished:
            return None  # not this process's row, and not finished elsewhere yet
        train, augment = configs(overrides)
        out = molecules.run_chemtl(
            model,
            model_sha,
            args.dataset,
            sub_ds,
            split,
            split_path,
            train,
            run_dir,
            fresh,
            log,
            augment=augment,
            ledger=book,
            ledger_run=record,
        )
        out = {
            "label": label,
            "what": what,
            "overrides": overrides,
            "same_as": None,
            **out,
            "run_dir": str(run_dir),
            "train_config": train.to_dict(),
            "augment": augment,
        }
        runs[label], by_key[key] = out, label
        log(f"{label}: val RMSE {out['val_rmse']:.4f}, test RMSE {out['rmse']:.4f} "
            f"({out['wall_seconds']:.0f} s, best epoch {out['best_epoch']} of {out['epochs_run']})")  # fmt: skip
        return out

    what_base = "the molecules benchmark's chemtl+rdkit run (" + " ".join(BASELINE_ARGV) + ")"
    base = run("baseline", {}, what_base)
    for n in names:
        run(f"+ {n}", INGREDIENTS[n][2], INGREDIENTS[n][1])
    complete = base is not None and all(f"+ {n}" in runs for n in names)
    chosen: dict[str, str] = {}
    if complete:
        chosen = choose_recipe(base["val_rmse"], {n: runs[f"+ {n}"]["val_rmse"] for n in names})
        picked = list(chosen.values())
        log(f"recipe (chosen on validation RMSE): {', '.join(picked) or 'the baseline itself'}")
        run("recipe", combined_overrides(picked), " + ".join(picked) or "= baseline (nothing beat it on val)")
    title = f"Molecule fine-tuning recipe ({args.dataset}, {args.split} split, seed {args.seed})"
    split_text = (
        f"the molecules benchmark's {args.split} split ({split.method}"
        f"{', balanced' if split.params.get('balanced') else ''}), frac {molecules.FRAC}, seed {args.seed}: "
        f"train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}, rows sha256 {split_sha[:12]}"
        + (f"; dataset capped at {args.size_cap} rows" if args.size_cap else "")
    )
    if only is not None:  # a piece of the run: NAME.partial.json, left off the page
        log(
            "--only: a piece of the run (molecule_recipe.partial.json); the full command collects and chooses"
        )
        piece = [
            [label, out["what"], round(out["val_rmse"], 4), round(out["rmse"], 4),
             f"{out['best_epoch']}/{out['epochs_run']}", round(out["wall_seconds"]), "reused" if out["reused"] else "trained"]
            for label, out in runs.items()
        ]  # fmt: skip
        payload = {
            "title": title + ", a piece (--only)",
            "measured": f"The rows {', '.join(only)} of the molecule recipe ablation, and those finished before.",
            "split": split_text,
            "seed": args.seed,
            "targets": [],
            "tables": [{"title": "Rows run so far", "rows": piece,
                        "columns": ["row", "what changes", "val RMSE", "test RMSE", "best/epochs", "wall s", "run"]}],
            "notes": ["A piece of the run (--only): nothing is chosen or judged; the full command reuses these rows."],
            "data": {"full_protocol": False, "only": only, "baseline": baseline_source, "runs": runs, "work_dir": str(work)},
        }  # fmt: skip
        return common.publish(NAME, payload, args, argv, started, started_iso)
    if not complete or "recipe" not in runs:
        raise ChemtlError("the baseline or an ingredient row did not run")

    # ---- the peers of the same rows, from the molecules benchmark's run directories (not rerun)
    peers = {
        "chemprop": _peer(
            mol_base / "chemprop",
            "chemprop",
            sub_ds,
            split,
            mol_kept.read(molecules.record_name(args.dataset, tag, "chemprop")),
        ),
        "rf": _peer(
            mol_base / "rf-morgan",
            "rf",
            sub_ds,
            split,
            mol_kept.read(molecules.record_name(args.dataset, tag, "rf-morgan")),
        ),
    }

    # ---- numbers, verdicts, tables
    b, r = runs["baseline"], runs["recipe"]
    cp, rf = peers["chemprop"], peers["rf"]
    smoke = args.quick or args.size_cap is not None or args.max_epochs is not None
    one = f"one split ({args.split}) and one seed ({args.seed}): indicative; the molecules benchmark's 3 seeds decide"
    targets = [
        common.target("recipe minus baseline, test RMSE", common.rounded(r["rmse"] - b["rmse"]), 0.0, "<", units, one),
        common.target(
            f"recipe / Chemprop test RMSE (issue 15: within {round((TARGET_RATIO - 1) * 100)}%)",
            common.rounded(r["rmse"] / cp["rmse"]) if cp["rmse"] else None, TARGET_RATIO, "<=", "",
            one if cp["rmse"] else f"Chemprop {cp['status']}",
        ),
        common.target(
            "recipe minus RF-Morgan, test RMSE", common.rounded(r["rmse"] - rf["rmse"]) if rf["rmse"] else None,
            0.0, "<", units, one if rf["rmse"] else f"RF-Morgan {rf['status']}",
        ),
    ]  # fmt: skip
    if smoke:
        targets = [common.withhold(t, "smoke run (size cap or epochs override)") for t in targets]
    better = [n for n in names if runs[f"+ {n}"]["val_rmse"] < b["val_rmse"]]
    table_rows = []
    for label, out in runs.items():
        if label == "baseline":
            verdict = "-"
        elif label == "recipe":
            verdict = "-" if out["same_as"] == "baseline" else (
                "better on val" if out["val_rmse"] < b["val_rmse"] else "not better on val"
            )  # fmt: skip
        else:
            verdict = "better on val" if label[2:] in better else "not better on val"
        table_rows.append([
            label, out["what"], round(out["val_rmse"], 4), common.rounded(out["val_rmse"] - b["val_rmse"]), verdict,
            round(out["rmse"], 4), common.rounded(out["rmse"] - b["rmse"]), f"{out['best_epoch']}/{out['epochs_run']}",
            round(out["wall_seconds"]), "reused" if out["reused"] else "trained",
        ])  # fmt: skip
    peer_rows = [
        [f"chemtl {Path(model).name} + rdkit, baseline", round(b["rmse"], 4), "this benchmark's baseline row"],
        [f"chemtl {Path(model).name} + rdkit, recipe", round(r["rmse"], 4), ", ".join(chosen.values()) or "= baseline"],
        [f"Chemprop {cp.get('version') or ''}".strip(), _rmse_cell(cp), cp["settings"]],
        ["RF-Morgan", _rmse_cell(rf), rf["settings"]],
    ]  # fmt: skip
    notes += [
        f"Chosen on validation RMSE (rule fixed before the run: per slot the lowest validation RMSE among "
        f"the ingredients below the baseline's): "
        f"{', '.join(f'{k}: {v}' for k, v in chosen.items()) or 'nothing beat the baseline, so the recipe is the baseline'}.",
        "Ingredients that did not beat the baseline's validation RMSE: "
        + (", ".join(n for n in names if n not in better) or "none") + ".",
        f"Baseline: {what_base}, features {FEATURES}, "
        + (
            f"the molecules benchmark's ledger record {base_record} (its finished run, not retrained)."
            if baseline_source.get("ledger")
            else f"reused from the molecules benchmark's finished run ({baseline_source['run_dir']})."
            if baseline_source["from_molecules"]
            else f"trained here ({baseline_source['why_not']})."
        ),
        f"Peers: not rerun; read from the molecules benchmark's run directories under {mol_base}, scored again "
        "from their kept test predictions, and only where their split, inputs and targets hashes are this split's "
        f"(rows sha256 {split_sha[:12]}).",
        one[0].upper() + one[1:] + ".",
    ]  # fmt: skip
    payload = {
        "title": title,
        "measured": f"Test and validation RMSE ({units}) of {Path(model).name} fine-tuned (full, hybrid head on RDKit "
        f"descriptors) on {args.dataset}: the molecules benchmark's run, each ingredient alone on it, then the "
        "combination chosen on validation rows; Chemprop and RF-Morgan of the same rows beside.",
        "split": split_text,
        "seed": args.seed,
        "targets": targets,
        "tables": [{
            "title": "Each ingredient alone, then the chosen recipe",
            "columns": ["row", "what changes", "val RMSE", "val vs baseline", "verdict (val)", "test RMSE",
                        "test vs baseline", "best/epochs", "wall s", "run"],
            "rows": table_rows,
            "note": "vs baseline: minus the baseline row. Choices use the validation columns only; the test "
            "columns are reported beside.",
        }, {
            "title": "Beside: the molecules benchmark's peers on the same rows (test RMSE)",
            "columns": ["method", "test RMSE", "settings"],
            "rows": peer_rows,
        }],  # fmt: skip
        "references": [],
        "notes": notes,
        "data": {
            "dataset": args.dataset,
            "split": args.split,
            "seed": args.seed,
            "sizes": sizes,
            "indices_sha256": split_sha,
            "split_file": str(split_path),
            "size_cap": args.size_cap,
            # a smoke run (size cap, epochs) outside --quick goes to NAME.partial.json, off the page
            "full_protocol": not smoke,
            "model": model,
            "model_sha256": model_sha,
            "features": FEATURES,
            "baseline_argv": list(BASELINE_ARGV),
            "baseline": baseline_source,
            "ingredients": {n: {"slot": INGREDIENTS[n][0], "what": INGREDIENTS[n][1], "overrides": INGREDIENTS[n][2]} for n in names},
            "better_on_val": better,
            "chosen": chosen,
            "runs": runs,
            "peers": peers,
            "work_dir": str(work),
            "molecules_dir": str(mol_work),
        },
    }  # fmt: skip
    return common.publish(NAME, payload, args, argv, started, started_iso)


def _dir_name(label: str) -> str:
    return label.replace("+ ", "plus_").replace(" ", "_")


def _rmse_cell(peer: dict[str, Any]) -> Any:
    return round(peer["rmse"], 4) if peer["rmse"] is not None else peer["status"]


def _peer(run_dir: Path, kind: str, sub_ds, split, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """A peer's test RMSE from its finished molecules-benchmark run in ``run_dir``, else from its
    ``record`` in that benchmark's ledger (scored again from the kept predictions, as that benchmark
    does), or why not: "not run" when there is neither, "not run on these rows" when its rows
    hashes differ."""
    from chemtl.evaluate.compare import read_json

    stamp = read_json(run_dir / "bench_run.json")
    from_ledger = stamp is None and record is not None
    if from_ledger:
        stamp = record["payload"]
    out: dict[str, Any] = {
        "run_dir": str(run_dir),
        "rmse": None,
        "mae": None,
        "status": "not run",
        "settings": "-",
    }
    if stamp is None or not isinstance(stamp.get("summary"), dict):
        return out
    config = stamp.get("config") or {}
    out["settings"] = (
        " ".join(config.get("options") or []) if kind == "chemprop"
        else f"{config.get('n_estimators')} trees, radius {config.get('radius')}, {config.get('n_bits')} bits"
    )  # fmt: skip
    if kind == "chemprop":
        out["version"] = config.get("chemprop_version")
    if not molecule_peers.same_rows(stamp, sub_ds, split):
        out["status"] = "not run on these rows (its split, inputs or targets hash differs)"
        return out
    if kind == "chemprop" and not from_ledger:
        score = (
            molecule_peers.chemprop_kept_score(run_dir, sub_ds, split)
            if (run_dir / "test_preds.csv").is_file()
            else None
        )
    else:  # the RandomForest's stamp, like every ledger record, keeps its test predictions
        score = molecule_peers.rf_kept_score(stamp, sub_ds, split)
    if score is None:
        out["status"] = "not run (no kept predictions)"
        return out
    where = "its ledger" if from_ledger else "its run directory"
    out.update(rmse=score["rmse"], mae=score["mae"], status=f"read from the molecules benchmark ({where})")
    return out


if __name__ == "__main__":
    common.print_paths(main())
