"""``compare`` itself: claim the output directory, draw each replicate's rows, run (or reuse) every
(strategy, size, fold, seed), time inference, summarise and write the files."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import write_json
from chemtl.evaluate.compare.config import (
    CONFIG_FILE,
    RUN_COLUMNS,
    TASK_METRICS,
    CompareConfig,
    CompareError,
)
from chemtl.evaluate.compare.probes import current_peak_rss_mb, measure_throughput, reset_peak_rss
from chemtl.evaluate.compare.runs import (
    RUN_FILE,
    model_fingerprint,
    read_json,
    read_loss_curves,
    reuse_or_train,
    run_hash,
    subset_rows,
)
from chemtl.evaluate.compare.summary import CompareResult, RunRecord, summarise, summary_columns, write_csv
from chemtl.training.config import TrainConfig

# ----------------------------------------------------------------------------------------------
# the comparison


def _config_diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _config_diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if old == new else [path]


def _comparable(config_dict: dict[str, Any]) -> dict[str, Any]:
    """A saved config with today's defaults filled in (a field added since does not count as a
    change), without the progress bar."""
    try:
        config_dict = CompareConfig.from_dict(config_dict).to_dict()
    except Exception:  # an unknown or invalid old config: compared as it is
        pass
    d = json.loads(json.dumps(config_dict))
    d.get("train", {}).pop("progress_bar", None)
    return d


def _claim_out_dir(out: Path, config: CompareConfig, overwrite: bool) -> None:
    path = out / CONFIG_FILE
    if out.exists() and not out.is_dir():
        raise CompareError(f"output {str(out)!r} exists and is not a directory")
    if path.is_file() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        changed = (
            ["(unreadable)"] if old is None else _config_diff(_comparable(old), _comparable(config.to_dict()))
        )
        if changed:
            raise CompareError(
                f"{str(out)!r} holds a comparison with other settings ({', '.join(changed)} differ); "
                "use another --out or pass --overwrite (runs with unchanged settings are reused)"
            )
    out.mkdir(parents=True, exist_ok=True)
    config.save(path)


def _run_tag(size: int, fold: int | None, seed: int, several_folds: bool) -> tuple[str, str]:
    """(split file tag, run sub-directory) of a replicate."""
    rep = f"fold{fold}_seed{seed}" if several_folds else f"seed{seed}"
    return f"n{size}_{rep}", f"n{size}/{rep}"


@dataclass
class _Context:
    """What every run of one comparison shares."""

    config: CompareConfig
    out: Path
    model_dir: Path
    fingerprint: str
    dataset: Any
    strategies: dict[str, Any]
    can_reset_rss: bool
    command: list[str] | None


@dataclass
class _Replicate:
    """One (size, fold, seed): the table restricted to its rows and the split file over them."""

    dataset: Any
    split_path: Path
    rows_sha256: str


def _resolve_sizes(config: CompareConfig, splits: dict[int | None, Any]) -> list[int]:
    """Each requested size as a row count ("all" = the smallest training side), capped, deduplicated."""
    pool_n = min(len(s.train) for s in splits.values())
    sizes: list[int] = []
    for size in config.train_sizes:
        n = pool_n if size == "all" else int(size)
        if config.size_cap is not None:
            n = min(n, config.size_cap)
        if n > pool_n:
            first = next(iter(splits.values()))
            raise CompareError(
                f"train size {size} is larger than the {pool_n} training rows of split {first.describe()}; "
                "use a smaller size or 'all'"
            )
        if n not in sizes:
            sizes.append(n)
    return sorted(sizes)


def _prepare_replicate(ctx: _Context, split, n: int, fold: int | None, seed: int, tag: str) -> _Replicate:
    """Draw the replicate's training rows and write ``splits/<tag>.json`` (the split of the
    restricted table, as ``finetune`` reads it) and ``splits/<tag>.rows.json`` (full-table rows)."""
    from chemtl.data.splits import Split, save_split
    from chemtl.training.manifest import indices_sha256

    ds = ctx.dataset
    train_rows = subset_rows(split.train, n, seed, fold)
    rows = np.concatenate([train_rows, split.val, split.test])
    sub_ds = ds.subset(rows)
    sub_split = Split(
        method=split.method,
        train=np.arange(n),
        val=np.arange(n, n + len(split.val)),
        test=np.arange(n + len(split.val), len(rows)),
        n=len(rows),
        seed=split.seed,
        params={**split.params, "compare_train_size": n, "compare_seed": seed},
        fold=split.fold,
    )
    split_path = save_split(sub_split, ctx.out / "splits" / f"{tag}.json", inputs=sub_ds.inputs)
    write_json(
        ctx.out / "splits" / f"{tag}.rows.json",
        {
            "dataset": ds.name,
            "dataset_sha256": ds.info.get("sha256"),
            "split": split.describe(),
            "train": train_rows.tolist(),
            "val": split.val.tolist(),
            "test": split.test.tolist(),
        },
    )
    return _Replicate(sub_ds, split_path, indices_sha256(train_rows, split.val, split.test))


def _run_hash(ctx: _Context, rep: _Replicate, fold: int | None, train_cfg: TrainConfig, strategy) -> str:
    """sha256 of everything that decides a run's numbers (not where its files are)."""
    return run_hash(
        model_sha256=ctx.fingerprint,
        dataset=ctx.dataset.name,
        dataset_sha256=ctx.dataset.info.get("sha256"),
        rows=rep.rows_sha256,
        data={**ctx.config.data.key_dict(), "fold": fold},
        train=train_cfg,
        strategy=strategy,
    )


def _execute(
    ctx: _Context, rep: _Replicate, name: str, n: int, fold: int | None, seed: int, sub: str
) -> RunRecord:
    """One run through ``reuse_or_train``: reused if finished with the same hash, else trained
    (resuming an interrupted run with the same hash, replacing one with another); a failure is
    recorded, not raised."""
    from chemtl.pipelines.finetune import finetune

    run_rel = f"runs/{name}/{sub}"
    run_dir = ctx.out / run_rel
    train_cfg = dataclasses.replace(ctx.config.train, seed=seed)
    strategy = ctx.strategies[name]
    record = RunRecord(name, n, fold, seed, run_rel, "trained")

    def train(resume: bool, overwrite: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        if ctx.can_reset_rss:
            reset_peak_rss()
        result = finetune(
            ctx.model_dir,
            dataclasses.replace(ctx.config.data, split_file=str(rep.split_path), fold=None),
            train_cfg,
            strategy,
            run_dir,
            dataset=rep.dataset,
            resume=resume,
            overwrite=overwrite,
            command=ctx.command,
        )
        metrics = result.metrics or {}
        peak = current_peak_rss_mb() if ctx.can_reset_rss else None
        extra = {
            "strategy": name,
            "train_size": n,
            "fold": fold,
            "seed": seed,
            "peak_rss_mb": peak if peak is not None else metrics.get("peak_rss_mb"),
            "peak_rss_reset": ctx.can_reset_rss,
        }
        return result.metrics, extra

    key = _run_hash(ctx, rep, fold, train_cfg, strategy)
    try:
        done = reuse_or_train(run_dir, key, train, keep_checkpoints=ctx.config.keep_checkpoints)
    except Exception as exc:  # one failed run must not lose the others
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return record
    record.status = done.status
    record.metrics = done.metrics
    record.peak_rss_mb = done.stamp.get("peak_rss_mb")
    return record


def _time_strategies(
    ctx: _Context, records: list[RunRecord], inputs: list[str], say: Callable[[str], None]
) -> None:
    """Inference items/s once per strategy, on its first finished run at the largest size (records
    are in size order, so the last size's first fold and seed); kept in that run's stamp."""
    timing = {"rows": len(inputs), "repeats": ctx.config.throughput_repeats, "batch_size": 256}
    top = max((r.train_size for r in records if r.ok), default=None)
    for name in ctx.config.strategies:
        chosen = next((r for r in records if r.ok and r.strategy == name and r.train_size == top), None)
        if chosen is None:
            continue
        stamp_path = ctx.out / chosen.run_dir / RUN_FILE
        stamp = read_json(stamp_path) or {}
        speed = stamp.get("inference_per_s") if stamp.get("inference_timing") == timing else None
        if speed is None:
            try:
                speed = measure_throughput(ctx.out / chosen.run_dir, inputs, ctx.config.throughput_repeats)
            except Exception as exc:  # a timing failure must not lose the comparison
                say(f"inference timing of {name} failed: {type(exc).__name__}: {exc}")
                speed = None
            if speed is not None:
                write_json(stamp_path, {**stamp, "inference_per_s": speed, "inference_timing": timing})
        for r in records:
            if r.strategy == name:
                r.inference_per_s = speed


def compare(
    config: CompareConfig,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    command: list[str] | None = None,
) -> CompareResult:
    """Run every (strategy, train size, fold, seed) of ``config`` and summarise them into ``out_dir``.

    ``log`` receives one line per run (the CLI prints them on stderr). ``report=False`` skips the
    figures and report.html (the csv and json files are still written). A run that fails is
    recorded (``status="failed"``, its traceback in its ``compare_run.json``) and the others go on;
    run the same compare again to retry it. Everything is checked (model, data, split, sizes)
    before ``out_dir`` is touched.
    """
    from chemtl.evaluate.frontier import metric_label, overfit_epoch, recommend
    from chemtl.pipelines.finetune import load_data, resolve_split
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pretrained import resolve_model_dir
    from chemtl.training.manifest import git_commit, machine, now_iso, versions

    say = log or (lambda line: None)
    started_iso = now_iso()
    t0 = time.perf_counter()
    out = Path(out_dir)

    # 1. everything that can be refused, before any file is written
    model_dir = resolve_model_dir(config.model)
    source = load_model_dir(model_dir)  # refuses pickles and mismatched tokenizers
    num_layers = int(source.config.num_hidden_layers)
    strategies = {name: config.strategy_config(name, num_layers) for name in config.strategies}
    ds = load_data(config.data, source.kind)
    if ds.kind != source.kind:
        raise CompareError(
            f"dataset {ds.name!r} holds {ds.kind} inputs but the model {config.model!r} reads {source.kind}"
        )
    task = config.data.task or ds.task
    if task not in TASK_METRICS:
        raise CompareError(f"dataset {ds.name!r} has no target to compare on; name one with --target")
    main_metric = TASK_METRICS[task][0]
    folds: list[int | None] = list(config.folds) if config.folds is not None else [config.data.fold]
    splits = {f: resolve_split(ds, dataclasses.replace(config.data, fold=f)) for f in folds}
    for split in splits.values():
        if len(split.train) < 2 or len(split.test) < 1:
            raise CompareError(
                f"split {split.describe()} leaves too few rows (needs at least 2 train and 1 test)"
            )
    sizes = _resolve_sizes(config, splits)
    _claim_out_dir(out, config, overwrite)

    # 2. the runs: sizes, then folds, then seeds, then strategies (a size finishes for every strategy first)
    ctx = _Context(
        config,
        out,
        Path(model_dir),
        model_fingerprint(Path(model_dir)),
        ds,
        strategies,
        reset_peak_rss(),
        command,
    )
    plan = [(n, f, s, name) for n in sizes for f in folds for s in config.seeds for name in config.strategies]
    records: list[RunRecord] = []
    replicate: tuple[tuple, _Replicate] | None = None
    for k, (n, fold, seed, name) in enumerate(plan, 1):
        tag, sub = _run_tag(n, fold, seed, config.folds is not None)
        if replicate is None or replicate[0] != (n, fold, seed):
            replicate = ((n, fold, seed), _prepare_replicate(ctx, splits[fold], n, fold, seed, tag))
        record = _execute(ctx, replicate[1], name, n, fold, seed, sub)
        where = f"[{k}/{len(plan)}] {name} n={n}{'' if fold is None else f' fold {fold}'} seed {seed}"
        if record.ok:
            record.curves = read_loss_curves(out / record.run_dir)
            try:
                record.overfit_epoch = overfit_epoch(
                    record.curves["train_loss"], record.curves["val_loss"], config.overfit_patience
                )
            except ValueError:
                record.overfit_epoch = None
            score = record.score(main_metric)
            m = record.metrics or {}
            say(
                f"{where}: {metric_label('test_' + main_metric)} {'-' if score is None else f'{score:.4g}'}, "
                f"{m.get('epochs_run')} epochs, {float(m.get('train_seconds') or 0):.1f} s ({record.status})"
            )
        else:
            say(f"{where}: failed: {record.error}")
        records.append(record)
    replicate = None

    # 3. inference throughput, summary, recommendation, files
    test_inputs = [ds.inputs[i] for i in splits[folds[0]].test[: config.throughput_rows]]
    _time_strategies(ctx, records, test_inputs, say)
    rows = summarise(records, task, config.strategies)
    recommendation = recommend(rows, config.tolerance)
    provenance = {
        "started": started_iso,
        "finished": now_iso(),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "command": list(sys.argv) if command is None else list(command),
        "model": config.model,
        "model_dir": str(Path(model_dir).resolve()),
        "model_sha256": ctx.fingerprint,
        "model_layers": num_layers,
        "dataset": ds.name,
        "dataset_sha256": ds.info.get("sha256"),
        "dataset_rows": len(ds),
        "target": config.data.target_col or ds.info.get("target_col"),
        "task": task,
        "splits": {("-" if f is None else str(f)): s.describe() for f, s in splits.items()},
        "train_sizes": sizes,
        "seeds": list(config.seeds),
        "folds": [f for f in folds if f is not None],
        "strategies": {n: s.to_dict() for n, s in strategies.items()},
        "train": config.train.to_dict(),
        "peak_rss": "per run (peak reset before each run)"
        if ctx.can_reset_rss
        else "cumulative peak of the process",
        "inference_timing": f"batch 256, {len(test_inputs)} test inputs, median of {config.throughput_repeats}",
        "train_seconds_total": round(
            sum(float((r.metrics or {}).get("train_seconds") or 0) for r in records if r.ok), 1
        ),
        "runs_trained": sum(r.status == "trained" for r in records),
        "runs_reused": sum(r.status == "reused" for r in records),
        "runs_failed": sum(r.status == "failed" for r in records),
        "machine": machine(),
        "versions": versions(),
        "git_commit": git_commit(),
    }
    paths = _write_outputs(ctx, task, rows, records, recommendation, provenance, report)
    return CompareResult(
        config=config,
        out_dir=out,
        task=task,
        metric=f"test_{main_metric}",
        records=records,
        rows=rows,
        recommendation=recommendation,
        paths=paths,
        wall_seconds=time.perf_counter() - t0,
        provenance=provenance,
    )


def _write_outputs(
    ctx: _Context,
    task: str,
    rows: list[dict[str, Any]],
    records: list[RunRecord],
    recommendation: str,
    provenance: dict[str, Any],
    report: bool,
) -> dict[str, Path]:
    """summary.csv, runs.csv, the report (figures + html) and compare.json, each atomically."""
    out = ctx.out
    main_metric, extras = TASK_METRICS[task]
    paths: dict[str, Path] = {"config": out / CONFIG_FILE}
    columns = summary_columns(task)
    paths["summary_csv"] = write_csv(out / "summary.csv", rows, columns)
    run_columns = list(RUN_COLUMNS)
    at = run_columns.index("status") + 1
    run_columns[at:at] = [f"test_{main_metric}", *(f"test_{e}" for e in extras)]
    paths["runs_csv"] = write_csv(out / "runs.csv", [r.to_row() for r in records], run_columns)
    if report:
        from chemtl.evaluate.report import write_report

        paths.update(
            write_report(
                out,
                rows=rows,
                records=records,
                recommendation=recommendation,
                provenance=provenance,
                summary_columns=columns,
                tolerance=ctx.config.tolerance,
            )
        )
    paths["compare_json"] = out / "compare.json"
    write_json(
        paths["compare_json"],
        {
            "config": ctx.config.to_dict(),
            "task": task,
            "metric": f"test_{main_metric}",
            "summary": rows,
            "recommendation": recommendation,
            "runs": [{**r.to_row(), "curves": r.curves} for r in records],
            "provenance": provenance,
            "files": {k: str(v.relative_to(out)) for k, v in paths.items()},
        },
    )
    return paths
