"""``run_chain``: a chain config (``chain_config``) -> its stages run in order into one directory.

Layout of ``out_dir``:

    chain.json          the config (each stage's kind, init, settings, hash), each stage's status
                        ("running", "finished", "failed"), its metrics and times, the final model
    stages/NN-NAME/     each stage's run directory, written by its verb's library function
                        (``pretrain``, ``supervised_pretrain``, ``finetune``, ``adapt``): metrics.json,
                        manifest.json, train_config.json, logs/, checkpoints/, the model files
    report.json         every stage's model on the final target's validation rows (below)

The final model is the last stage's run directory (``chain.json`` names it ``final_model``), a
plain chemtl model directory that ``chemtl predict`` reads; nothing is copied.

Resuming: running the same chain into the same directory skips every finished stage whose
config hash matches, and continues an interrupted (or failed) one with its engine's resume (the
numbers of an uninterrupted run). A stage whose config differs from the one recorded, or a
recorded stage the config no longer has, is refused (one line naming the stage and the
settings that differ) unless ``overwrite``, which runs the whole chain afresh; appending stages
to a finished chain runs only the new ones.

The report's target is the last ``finetune`` stage (its dataset, target and split); its rows
are read back from that stage's predictions.csv. For every stage it gives two numbers on the
target's validation rows:

- ``head``: the stage's own predictions, only for a finetune stage of the same dataset, target and
  split rows (so in practice the target stage itself); every other stage has no head for the
  target (a pretraining stage has none; a supervised or earlier finetune stage's head predicts
  other properties), and the report says so instead of inventing one;
- ``probe``: a linear probe on the stage's frozen pooled embeddings
  (``chemtl.transfer.fewshot.baselines.LinearProbe``: standardised features, then ``Ridge(alpha=1)``
  or ``LogisticRegression(C=1)``), fitted on the target's training rows: how much each stage's
  representation alone knows about the final target. A model of another representation, or a
  generator, gets no probe (with the reason).

A chain without a finetune stage has no target; its report lists the stages and their own
metrics only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.pipelines.chain_config import (
    ChainConfig,
    ChainError,
    Stage,
    build_call,
    check_chain,
    load_chain_config,
    plain,
    resolve_init,
)

CHAIN_FILE = "chain.json"
REPORT_FILE = "report.json"
STAGES_DIR = "stages"
CHAIN_FORMAT = "chemtl-chain"
PROBE = "linear probe on frozen pooled embeddings (StandardScaler, then Ridge alpha=1 / LogisticRegression C=1), fitted on the target's training rows"


@dataclass
class ChainResult:
    out_dir: Path
    final_model: Path
    # per stage: name, kind, dir, status ("ran", "resumed" or "skipped"), metrics
    stages: list[dict[str, Any]]
    report: dict[str, Any]


def stage_hash(config: ChainConfig, stage: Stage) -> str:
    """sha256 of what decides the stage's numbers: its record and that of the stage it starts from."""
    from chemtl.evaluate.compare.runs import hash_json

    upstream = stage.init_stage
    return hash_json(
        {
            "format": CHAIN_FORMAT,
            "stage": stage.record(),
            "upstream": None if upstream is None else stage_hash(config, config.stage(upstream)),
        }
    )


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = [k for k in ("kind", "init") if old.get(k) != new.get(k)]
    a, b = old.get("settings") or {}, new.get("settings") or {}
    return out + sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _read_state(out: Path) -> dict[str, Any] | None:
    from chemtl.evaluate.compare.runs import read_json

    path = out / CHAIN_FILE
    if not path.exists():
        return None
    state = read_json(path)
    if state is None or state.get("format") != CHAIN_FORMAT:
        raise ChainError(
            f"{str(path)!r} is not a chemtl chain record; choose another --out or pass --overwrite"
        )
    return state


def _claim(config: ChainConfig, out: Path, overwrite: bool) -> dict[str, Any]:
    """The chain record to continue (checked against ``config``), or a fresh one."""
    if out.exists() and not out.is_dir():
        raise ChainError(f"output {str(out)!r} exists and is not a directory")
    if overwrite:
        shutil.rmtree(out / STAGES_DIR, ignore_errors=True)
        for name in (CHAIN_FILE, REPORT_FILE):
            (out / name).unlink(missing_ok=True)
        state = None
    else:
        state = _read_state(out)
        if state is None and out.is_dir() and any(out.iterdir()):
            raise ChainError(
                f"{str(out)!r} is not empty and holds no chain ({CHAIN_FILE}); choose another --out or "
                "pass --overwrite"
            )
    if state is None:
        return {"format": CHAIN_FORMAT, "version": 1, "source": config.source, "stages": []}
    planned = {s.dir_name: s for s in config.stages}
    for old in state.get("stages", []):
        stage = planned.get(old.get("dir", "").removeprefix(f"{STAGES_DIR}/"))
        if stage is None:
            raise ChainError(
                f"{str(out)!r} holds stage {old.get('name')!r} ({old.get('dir')}) that the config no longer "
                "has; pass --overwrite to run the chain afresh, or choose another --out"
            )
        if old.get("hash") != stage_hash(config, stage):
            fields = _changed(old, stage.record()) or ["an earlier stage it starts from"]
            raise ChainError(
                f"stage {stage.name!r} differs from the one run in {str(out)!r} ({', '.join(fields)}); "
                "pass --overwrite to run the chain afresh, or choose another --out"
            )
    return state


def _write_state(out: Path, state: dict[str, Any]) -> None:
    from chemtl.atomic import write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / CHAIN_FILE, state)


def run_stage_call(call: dict[str, Any], out_dir: Path, *, resume: bool, overwrite: bool = False):
    """Run one stage's library call (``build_call``) into ``out_dir``; the verb's result."""
    call = dict(call)
    run = call.pop("run")
    if run == "pretrain":
        from chemtl.pipelines.pretrain import pretrain as fn
    elif run == "supervised_pretrain":
        from chemtl.pipelines.pretrain import supervised_pretrain as fn
    elif run == "finetune":
        from chemtl.pipelines.finetune import finetune as fn
    else:
        from chemtl.pipelines.adapt import adapt as fn  # build_call checked it exists
    return fn(**call, out_dir=out_dir, resume=resume, overwrite=overwrite)


def run_chain(
    config: ChainConfig | str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    echo: Callable[[str], None] | None = None,
) -> ChainResult:
    """Run (or continue) the chain ``config`` (a ``ChainConfig`` or a TOML path) into ``out_dir``.

    The whole config is checked before anything runs. ``echo`` receives one line per stage
    (started, skipped, finished). Returns the stages' outcomes, the final model directory and the
    report (also in ``out_dir/report.json``).
    """
    from chemtl.training.manifest import now_iso

    say = echo or (lambda line: None)
    if isinstance(config, ChainConfig):
        check_chain(config)
    else:
        config = load_chain_config(config)
    out = Path(out_dir)
    state = _claim(config, out, overwrite)
    state["source"] = config.source
    state["description"] = config.description
    records = {r["dir"]: r for r in state.get("stages", [])}
    stages_dir = out / STAGES_DIR
    outcomes = []
    n = len(config.stages)
    for stage in config.stages:
        rel = f"{STAGES_DIR}/{stage.dir_name}"
        stage_dir = stages_dir / stage.dir_name
        digest = stage_hash(config, stage)
        old = records.get(rel)
        label = f"stage {stage.index}/{n} {stage.name!r} ({stage.kind})"
        if old is not None and old.get("status") == "finished" and (stage_dir / "metrics.json").is_file():
            say(f"{label}: finished earlier, skipped -> {stage_dir}")
            outcomes.append({**_outcome(stage, rel), "status": "skipped", "metrics": old.get("metrics")})
            continue
        call = build_call(stage, stages_dir, resolve_init(config, stage, stages_dir))
        resume = old is not None and (stage_dir / "train_config.json").is_file()
        record = {
            **_outcome(stage, rel),
            "hash": digest,
            **stage.record(),
            "status": "running",
            "started": now_iso(),
        }
        records[rel] = record
        state["stages"] = [
            records[f"{STAGES_DIR}/{s.dir_name}"]
            for s in config.stages
            if f"{STAGES_DIR}/{s.dir_name}" in records
        ]
        _write_state(out, state)
        say(f"{label}: {'resuming' if resume else 'running'} -> {stage_dir}")
        try:
            result = run_stage_call(call, stage_dir, resume=resume)
        except BaseException as exc:
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            _write_state(out, state)
            raise
        metrics = getattr(result, "metrics", None)
        record.update(status="finished", finished=now_iso(), resumed=resume, metrics=plain(metrics))
        record.pop("error", None)
        _write_state(out, state)
        say(f"{label}: finished")
        outcomes.append(
            {**_outcome(stage, rel), "status": "resumed" if resume else "ran", "metrics": metrics}
        )
    final = stages_dir / config.stages[-1].dir_name
    state["final_model"] = f"{STAGES_DIR}/{config.stages[-1].dir_name}"
    _write_state(out, state)
    report = chain_report(config, out)
    return ChainResult(out, final, outcomes, report)


def _outcome(stage: Stage, rel: str) -> dict[str, Any]:
    return {"name": stage.name, "kind": stage.kind, "dir": rel}


# ----------------------------------------------------------------------------------------------
# the report


def _target_stage(config: ChainConfig) -> Stage | None:
    finetunes = [s for s in config.stages if s.kind == "finetune"]
    return finetunes[-1] if finetunes else None


def chain_report(config: ChainConfig, out_dir: str | Path) -> dict[str, Any]:
    """Every stage's model on the target stage's validation rows (see the module docstring);
    written to ``out_dir/report.json``. Reused when the stages' hashes are those it was made for."""
    from chemtl.atomic import write_json
    from chemtl.evaluate.compare.runs import hash_json, read_json

    out = Path(out_dir)
    key = hash_json([stage_hash(config, s) for s in config.stages])
    old = read_json(out / REPORT_FILE)
    if old is not None and old.get("chain_hash") == key:
        return old
    target = _target_stage(config)
    rows = []
    target_info = None
    if target is not None:
        target_info, fit = _target_rows(out / STAGES_DIR / target.dir_name)
    for stage in config.stages:
        stage_dir = out / STAGES_DIR / stage.dir_name
        metrics = read_json(stage_dir / "metrics.json") or {}
        row: dict[str, Any] = {
            "name": stage.name,
            "kind": stage.kind,
            "dir": f"{STAGES_DIR}/{stage.dir_name}",
        }
        if target_info is None:
            row["metrics"] = metrics
        else:
            row.update(_head(stage, metrics, target_info))
            row.update(_probe(stage_dir, target_info, fit))
        rows.append(row)
    report = {
        "format": "chemtl-chain-report",
        "chain_hash": key,
        "target": target_info,
        "metric": None if target_info is None else target_info["metric"],
        "probe": PROBE,
        "final_model": f"{STAGES_DIR}/{config.stages[-1].dir_name}",
        "stages": rows,
    }
    if target_info is None:
        report["note"] = "the chain has no finetune stage, so no target: each stage's own metrics"
    write_json(out / REPORT_FILE, report)
    return report


def _target_rows(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The target stage's dataset, target, split and task, and its training and validation rows."""
    import pandas as pd

    from chemtl.evaluate.compare.runs import read_json

    metrics = read_json(run_dir / "metrics.json") or {}
    meta = read_json(run_dir / "chemtl.json") or {}
    table = pd.read_csv(run_dir / "predictions.csv", keep_default_na=False)
    task = metrics["task"]
    sides = {side: table[table["split"] == side] for side in ("train", "val")}
    if task == "regression":
        y = {side: t["target"].to_numpy(dtype=np.float64) for side, t in sides.items()}
    else:
        classes = [str(c) for c in meta["classes"]]
        y = {side: np.asarray([classes.index(str(v)) for v in t["target"]]) for side, t in sides.items()}
    info = {
        "stage": run_dir.name,
        "dataset": metrics.get("dataset"),
        "target": metrics.get("target"),
        "task": task,
        "kind": meta.get("kind"),
        "split": metrics.get("split"),
        "n_train": int(len(sides["train"])),
        "n_val": int(len(sides["val"])),
        "metric": "mae" if task == "regression" else "roc_auc",
        "max_length": meta.get("max_length"),
        "n_classes": None if task == "regression" else len(meta["classes"]),
    }
    fit = {
        "train": (sides["train"]["input"].astype(str).tolist(), y["train"]),
        "val": (sides["val"]["input"].astype(str).tolist(), y["val"]),
    }
    return info, fit


def _head(stage: Stage, metrics: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    name = f"{target['dataset']}:{target['target']}"
    same = (
        stage.kind == "finetune"
        and metrics.get("dataset") == target["dataset"]
        and metrics.get("target") == target["target"]
        and (metrics.get("split") or {}).get("indices_sha256")
        == (target["split"] or {}).get("indices_sha256")
    )
    if same:
        return {"head": metrics.get("val"), "head_note": None}
    if stage.kind == "pretrain":
        note = f"no head for {name} (a pretraining stage)"
    elif stage.kind == "supervised":
        note = f"no head for {name} (its head predicts {', '.join(metrics.get('targets') or [])})"
    elif stage.kind == "finetune":
        note = f"no head for {name} (its head predicts {metrics.get('dataset')}:{metrics.get('target')})"
    else:
        note = f"not evaluated with a head (an {stage.kind} stage)"
    return {"head": None, "head_note": note}


def _probe(stage_dir: Path, target: dict[str, Any], fit: dict[str, Any]) -> dict[str, Any]:
    from chemtl.evaluate.compare.runs import read_json
    from chemtl.evaluate.metrics import classification_metrics, regression_metrics
    from chemtl.pipelines.predict import embed
    from chemtl.transfer.fewshot.baselines import LinearProbe

    meta = read_json(stage_dir / "chemtl.json") or {}
    if meta.get("task") == "causal":
        return {"probe": None, "probe_note": "a generator: no encoder embedding to probe"}
    if meta.get("kind") != target["kind"]:
        return {"probe": None, "probe_note": f"reads {meta.get('kind')} inputs, the target {target['kind']}"}
    (x_train, y_train), (x_val, y_val) = fit["train"], fit["val"]
    if not x_val or len(x_train) < 2:
        return {"probe": None, "probe_note": "the target has no validation rows or too few training rows"}
    emb = embed(stage_dir, x_train + x_val, max_length=target["max_length"])
    task = target["task"]
    probe = LinearProbe(task).fit(emb[: len(x_train)], y_train, task, n_classes=target["n_classes"])
    pred = probe.predict(emb[len(x_train) :])
    score = regression_metrics(y_val, pred) if task == "regression" else classification_metrics(y_val, pred)
    return {"probe": score, "probe_note": None}


def report_table(report: dict[str, Any]) -> list[str]:
    """The report as text lines: one row per stage (head and probe metric on the target's
    validation rows), then what the columns mean."""
    target = report.get("target")
    if target is None:
        lines = [f"{'stage':<24} {'kind':<11} status"]
        lines += [f"{r['dir'].split('/')[-1]:<24} {r['kind']:<11} finished" for r in report["stages"]]
        return lines + [report.get("note", "")]
    metric = report["metric"]

    def cell(score: dict[str, Any] | None) -> str:
        value = None if score is None else score.get(metric)
        return "-" if value is None else f"{value:.4g}"

    head = f"{'stage':<24} {'kind':<11} {'head val ' + metric:>14} {'probe val ' + metric:>15}"
    lines = [head]
    for r in report["stages"]:
        lines.append(
            f"{r['dir'].split('/')[-1]:<24} {r['kind']:<11} {cell(r['head']):>14} {cell(r['probe']):>15}"
        )
    lines.append(
        f"target: {target['dataset']}:{target['target']} ({target['task']}), {target['n_val']} validation rows "
        f"of stage {target['stage']}; head: the stage's own prediction of it (- where it has no head for "
        f"it); probe: {report['probe']}"
    )
    return lines
