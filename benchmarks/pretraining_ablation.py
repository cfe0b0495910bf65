"""Benchmark ``pretraining_ablation``: what each pretraining choice buys downstream.

Every variant is pretrained from random weights with ``chemtl.pipelines.pretrain.pretrain`` for the
same number of optimiser steps, batch size, learning-rate schedule and seed as the other variants of
its representation (``--steps``/``--batch-size``; ``--smiles-steps``/``--smiles-batch-size`` let the
SMILES variants, whose steps cost several times more, run shorter), then fine-tuned
(strategy ``full``, through the compare pipeline, so every variant trains on identical rows with
identical seeds) on one downstream split per representation:

- compositions, pretrained on ``inorganic_corpus``; downstream ``matbench_expt_gap``, Matbench fold
  0, ``--gap-size`` training rows (a seeded subset of the fold's training side), 10% of the
  training side as validation, the fold's 921 test rows;
- SMILES, pretrained on the first ``--smiles-limit`` rows of ``moses``; downstream ``esol``, random
  80/10/10 split with seed 0, ``--esol-size`` training rows.

Ablations (variant against baseline, same representation):

    (a) compositions: random masking (baseline) vs element-group masking
    (b) SMILES: random masking (baseline) vs span masking
    (c) masked loss alone (baseline) vs masked + contrastive (``mlm,contrastive``), both kinds
    (d) SMILES: span masking (baseline ``smiles-span``) vs span masking + regression on the RDKit
        descriptors (``mlm,descriptors``, ``smiles-span-descriptors``)
    (e) SMILES: random masking (baseline) vs descriptor regression alone (``descriptors``,
        ``smiles-descriptors``: no masking, ChemBERTa-2's multi-task regression)

Per variant: steps run, the final validation loss of its own objective, the validation loss of the
common probe (random 15% masking on the same held-out corpus rows, the same masks for every
variant: the own-objective losses of different maskings are not comparable; none for
``smiles-descriptors``, whose masked-token head is never trained), pretraining seconds,
downstream test MAE/RMSE (mean over ``--ft-seeds``) and the difference to the baseline. A
``scratch`` control (the same architecture from random weights, fine-tuned on the same rows) shows
what any of the pretraining buys. One target, computed from the numbers: (d)'s variant beats its
baseline downstream (ΔMAE < 0); a loss is reported as a MISS.

Writes ``results/pretraining_ablation.json`` and regenerates ``docs/BENCHMARKS.md``. Pretrained
models live in ``--work-dir``/pretrain/VARIANT and the fine-tuning comparisons in
``--work-dir``/finetune/VARIANT; running again reuses every finished pretraining whose settings are
unchanged (an interrupted one resumes from its checkpoint) and every finished fine-tuning run.

    python benchmarks/pretraining_ablation.py                       # seven variants, 400 steps
    python benchmarks/pretraining_ablation.py --variants all        # + smiles-contrastive
    python benchmarks/pretraining_ablation.py --variants comp-random,comp-element-group
    python benchmarks/pretraining_ablation.py --quick               # smoke: tiny, 5 steps, 60 rows
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "pretraining_ablation"
STAMP = "bench_pretrain.json"
STAMP_FORMAT = 1


class Variant(NamedTuple):
    key: str
    kind: str
    objectives: tuple[str, ...]
    mask: str | None  # None: no masked-token objective (the config keeps its unused default)
    baseline: str | None  # the variant it is compared against (None: it is a baseline)
    ablation: str | None  # the ablation it belongs to

    @property
    def label(self) -> str:
        return f"{self.kind} / {'+'.join(self.objectives)} / {self.mask or 'no'} masking"


VARIANTS = (
    Variant("comp-random", "composition", ("mlm",), "random", None, None),
    Variant(
        "comp-element-group",
        "composition",
        ("mlm",),
        "element-group",
        "comp-random",
        "(a) masking, compositions: element-group vs random",
    ),
    Variant(
        "comp-contrastive",
        "composition",
        ("mlm", "contrastive"),
        "random",
        "comp-random",
        "(c) objective, compositions: masked + contrastive vs masked",
    ),
    Variant("smiles-random", "smiles", ("mlm",), "random", None, None),
    Variant(
        "smiles-span", "smiles", ("mlm",), "span", "smiles-random", "(b) masking, SMILES: span vs random"
    ),
    Variant(
        "smiles-contrastive",
        "smiles",
        ("mlm", "contrastive"),
        "random",
        "smiles-random",
        "(c) objective, SMILES: masked + contrastive vs masked",
    ),
    Variant(
        "smiles-span-descriptors",
        "smiles",
        ("mlm", "descriptors"),
        "span",
        "smiles-span",
        "(d) objective, SMILES: span masking + descriptor regression vs span masking",
    ),
    Variant(
        "smiles-descriptors",
        "smiles",
        ("descriptors",),
        None,
        "smiles-random",
        "(e) objective, SMILES: descriptor regression alone vs random masking",
    ),
)
BY_KEY = {v.key: v for v in VARIANTS}
# The verdict: (d)'s variant beats its baseline downstream.
TARGET_VARIANT = "smiles-span-descriptors"
# Opt-in (--variants all): two SMILES views per row on a 2-core CPU is the slowest pretraining.
NOT_DEFAULT = ("smiles-contrastive",)
CORPUS = {"composition": "inorganic_corpus", "smiles": "moses"}
DOWNSTREAM = {"composition": "matbench_expt_gap", "smiles": "esol"}
QUICK = {
    "size": "tiny",
    "variants": "all",
    "steps": 5,
    "batch_size": 16,
    "val_rows": 100,
    "comp_limit": 2000,
    "smiles_limit": 2000,
    "gap_size": "60",
    "esol_size": "60",
    "ft_epochs": 1,
    "ft_patience": 0,
}


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Pretraining choices (masking, contrastive and descriptor objectives) at equal steps "
        "and seed, each fine-tuned on the same downstream split.",
    )
    common.add_common_args(p)
    p.add_argument(
        "--variants",
        default=None,
        metavar="LIST",
        help=f"variants to run, comma-separated, from {', '.join(BY_KEY)}, or 'all' (default all but "
        "smiles-contrastive; quick all); the baseline of each one named is added, and its baseline",
    )
    g = p.add_argument_group("pretraining (every variant)")
    g.add_argument(
        "--steps", type=int, default=None, help="optimiser steps, composition variants (default 400; quick 5)"
    )
    g.add_argument(
        "--smiles-steps", type=int, default=None, help="optimiser steps, SMILES variants (default: --steps)"
    )
    g.add_argument("--size", default=None, help="model size: tiny, small, base (default small; quick tiny)")
    g.add_argument("--batch-size", type=int, default=None, help="corpus rows per step (default 64; quick 16)")
    g.add_argument(
        "--smiles-batch-size",
        type=int,
        default=None,
        help="corpus rows per step, SMILES variants (default: --batch-size)",
    )
    g.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (default 5e-4)")
    g.add_argument(
        "--scheduler", choices=("constant", "linear", "cosine"), default="cosine", help="default cosine"
    )
    g.add_argument(
        "--warmup-steps", type=int, default=None, help="linear warm-up steps (default a tenth of the steps)"
    )
    g.add_argument("--mask-prob", type=float, default=0.15, help="masking rate (default 0.15)")
    g.add_argument(
        "--contrastive-weight", type=float, default=1.0, help="weight of the contrastive loss (default 1)"
    )
    g.add_argument("--temperature", type=float, default=0.1, help="NT-Xent temperature (default 0.1)")
    g.add_argument(
        "--descriptor-weight",
        type=float,
        default=1.0,
        help="weight of the descriptor regression loss (default 1)",
    )
    g.add_argument(
        "--val-rows",
        type=int,
        default=None,
        help="held-out corpus rows for the validation losses (default 1000; quick 100)",
    )
    g.add_argument(
        "--comp-limit",
        type=int,
        default=None,
        metavar="N",
        help="only the first N rows of inorganic_corpus (default: all 416,149, streamed)",
    )
    g.add_argument(
        "--smiles-limit",
        type=int,
        default=None,
        metavar="N",
        help="only the first N rows of moses (default 100000; quick 2000)",
    )
    g.add_argument("--seed", type=int, default=0, help="pretraining seed of every variant (default 0)")
    f = p.add_argument_group("fine-tuning (every variant)")
    f.add_argument(
        "--gap-size",
        default=None,
        metavar="N|all",
        help="matbench_expt_gap training rows (default 500; quick 60)",
    )
    f.add_argument(
        "--esol-size", default=None, metavar="N|all", help="esol training rows (default all: 902; quick 60)"
    )
    f.add_argument(
        "--ft-seeds",
        default="0",
        metavar="LIST",
        help="fine-tuning seeds, comma-separated, e.g. 0,1,2 (default 0)",
    )
    f.add_argument("--ft-epochs", type=int, default=None, help="most epochs per run (default 30; quick 1)")
    f.add_argument(
        "--ft-patience", type=int, default=None, help="early stopping patience (0: off; default 6)"
    )
    f.add_argument("--ft-batch-size", type=int, default=32, help="default 32")
    f.add_argument("--ft-lr", type=float, default=1e-4, help="encoder learning rate (default 1e-4)")
    f.add_argument("--ft-head-lr", type=float, default=1e-3, help="head learning rate (default 1e-3)")
    f.add_argument(
        "--no-scratch", action="store_true", help="skip the scratch control (same architecture, random init)"
    )
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="DIR",
        help=f"pretrained models and fine-tuning runs (default build/benchmarks/{NAME}[-quick])",
    )
    p.add_argument("--fresh", action="store_true", help="pretrain again even where a finished run exists")
    return p


# ----------------------------------------------------------------------------------------------
# flags


def _variants(text: str | None) -> list[Variant]:
    from chemtl.errors import ChemtlError

    if text is None:
        return [v for v in VARIANTS if v.key not in NOT_DEFAULT]
    if text.strip().lower() == "all":
        return list(VARIANTS)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in BY_KEY]
    if not names or unknown:
        raise ChemtlError(f"--variants {text!r}: choose from {', '.join(BY_KEY)}")
    chosen = set(names)
    while (
        True
    ):  # the baseline of each, and its baseline (smiles-span-descriptors: smiles-span, smiles-random)
        more = {BY_KEY[n].baseline for n in chosen if BY_KEY[n].baseline} - chosen
        if not more:
            break
        chosen |= more
    return [v for v in VARIANTS if v.key in chosen]


def _size(text: str, flag: str) -> int | str:
    from chemtl.errors import ChemtlError

    t = str(text).strip().lower()
    if t == "all":
        return "all"
    if not t.isdigit() or int(t) < 2:
        raise ChemtlError(f"{flag} {text!r}: write a row count >= 2 or 'all'")
    return int(t)


# ----------------------------------------------------------------------------------------------
# pretraining


def _hash(payload: Any) -> str:
    from chemtl.evaluate.compare import hash_json

    return hash_json(payload)


def _read_json(path: Path) -> dict[str, Any] | None:
    from chemtl.evaluate.compare import read_json

    return read_json(path)


def run_pretraining(spec: dict[str, Any], run_dir: Path, fresh: bool, log) -> dict[str, Any]:
    """Pretrain one variant into ``run_dir`` (or reuse the finished run with the same ``spec``):
    its metrics and cost. ``spec``: corpus, limit, buffer_size, model/train/pretrain configs."""
    from chemtl.atomic import write_json
    from chemtl.pipelines.pretrain import pretrain
    from chemtl.training.config import ModelConfig, PretrainConfig, TrainConfig

    key = _hash({"format": STAMP_FORMAT, **spec})
    stamp = _read_json(run_dir / STAMP) or {}
    same = stamp.get("hash") == key and not fresh
    done = (run_dir / "metrics.json").is_file() and (run_dir / "model.safetensors").is_file()
    if same and stamp.get("status") == "done" and done:
        metrics = _read_json(run_dir / "metrics.json") or {}
        log(f"  reused the finished pretraining in {run_dir}")
        return {"metrics": metrics, "wall_seconds": stamp.get("wall_seconds"), "reused": True}
    resume = same and (run_dir / "checkpoints" / "last.ckpt").is_file()
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / STAMP, {"format": STAMP_FORMAT, "hash": key, "status": "running", "spec": spec})
    start = time.perf_counter()
    result = pretrain(
        spec["corpus"],
        ModelConfig.from_dict(spec["model"]),
        TrainConfig.from_dict(spec["train"]),
        PretrainConfig.from_dict(spec["pretrain"]),
        run_dir,
        limit=spec["limit"],
        buffer_size=spec["buffer_size"],
        resume=resume,
        command=["chemtl", "benchmark", NAME],
    )
    wall = time.perf_counter() - start
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # the run is finished
    write_json(
        run_dir / STAMP,
        {
            "format": STAMP_FORMAT,
            "hash": key,
            "status": "done",
            "spec": spec,
            "wall_seconds": round(wall, 2),
            "resumed": resume,
        },
    )
    return {"metrics": result.metrics or {}, "wall_seconds": round(wall, 2), "reused": False}


def probe_loss(model_dir: Path, kind: str, rows: list[str], pcfg, batch_size: int, seed: int) -> float | None:
    """The masked-token (+ amount) loss of a pretrained encoder on ``rows`` under random masking at
    ``pcfg.mask_prob``, batch ``j`` masked with ``derive_seed(seed, "eval", j)``: the same masks for
    every variant of a kind, whatever it was trained with. None for a model pretrained without the
    masked-token objective: its masked-token head kept its random initial weights, so the loss
    would measure nothing."""
    import dataclasses

    import torch

    from chemtl.models import ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.pipelines.pretrain import PretrainCollate
    from chemtl.training.data import eval_loader

    if not rows or "mlm" not in pcfg.objectives:
        return None
    quiet_transformers()
    tokenizer = load_model_dir(model_dir).tokenizer
    model = ChemtlForMaskedLM.from_pretrained(model_dir, use_safetensors=True)
    model.eval()
    collate = PretrainCollate(kind, tokenizer, dataclasses.replace(pcfg, objectives=("mlm",), mask="random"))
    total, n = 0.0, 0
    with torch.no_grad():
        for batch in eval_loader(rows, collate, batch_size, seed=seed):
            if batch is None:
                continue
            size = int(batch["input_ids"].shape[0])
            total += float(model(**batch, return_dict=True).loss) * size
            n += size
    return total / n if n else None


# ----------------------------------------------------------------------------------------------
# fine-tuning


def downstream_data(kind: str):
    """The downstream table and split of a kind: matbench fold 0, or esol's random split (seed 0;
    two of its compounds repeat across sides, none across train and test: kept, as published)."""
    from chemtl.training.config import DataConfig

    if kind == "composition":
        return DataConfig(dataset=DOWNSTREAM[kind], split="matbench", fold=0)
    return DataConfig(
        dataset=DOWNSTREAM[kind], split="random", split_seed=0, split_params={"allow_leakage": True}
    )


def describe_split(kind: str) -> str:
    """The downstream split in words (sizes, seed, compounds on two sides)."""
    from chemtl.data import load_dataset
    from chemtl.pipelines.finetune import resolve_split

    data = downstream_data(kind)
    return resolve_split(load_dataset(data.dataset), data).describe()


def run_downstream(
    model_dir: Path,
    kind: str,
    size: int | str,
    seeds: tuple[int, ...],
    train_cfg,
    strategies: tuple[str, ...],
    out: Path,
    quick: bool,
    argv: list[str],
    log,
) -> dict[str, dict[str, Any]]:
    """Fine-tune ``model_dir`` on the kind's downstream split with each strategy: per strategy the
    test metrics per seed, their mean/std and the run records."""
    from chemtl.evaluate.compare import CompareConfig, compare

    data = downstream_data(kind)
    config = CompareConfig(
        model=str(model_dir),
        data=data,
        strategies=strategies,
        train_sizes=(size,),
        seeds=seeds,
        train=train_cfg,
        throughput_rows=64 if quick else 256,
        throughput_repeats=1,
    )
    result = compare(
        config,
        out,
        overwrite=True,
        report=False,
        log=lambda line: log("    " + line),
        command=["chemtl", "benchmark", NAME, *argv],
    )
    summary: dict[str, dict[str, Any]] = {}
    for strategy in strategies:
        runs = []
        for r in result.records:
            if r.strategy != strategy:
                continue
            m = r.metrics or {}
            test = m.get("test") or {}
            runs.append(
                {
                    "seed": r.seed,
                    "status": r.status,
                    "mae": test.get("mae"),
                    "rmse": test.get("rmse"),
                    "r2": test.get("r2"),
                    "n_train": m.get("n_train"),
                    "n_val": m.get("n_val"),
                    "n_test": m.get("n_test"),
                    "epochs_run": m.get("epochs_run"),
                    "best_epoch": m.get("best_epoch"),
                    "train_seconds": m.get("train_seconds"),
                    "run_dir": str(out / r.run_dir),
                    "error": r.error,
                }
            )
        maes = [float(x["mae"]) for x in runs if _finite(x["mae"])]
        rmses = [float(x["rmse"]) for x in runs if _finite(x["rmse"])]
        first = runs[0] if runs else {}
        summary[strategy] = {
            "dataset": DOWNSTREAM[kind],
            "split": data.key_dict(),
            "train_size": first.get("n_train"),
            "n_val": first.get("n_val"),
            "n_test": first.get("n_test"),
            "seeds": list(seeds),
            "mae": maes,
            "rmse": rmses,
            "mae_mean": _mean(maes),
            "mae_std": _std(maes),
            "rmse_mean": _mean(rmses),
            "rmse_std": _std(rmses),
            "train_seconds": round(sum(float(x["train_seconds"] or 0) for x in runs), 2),
            "runs_trained": sum(x["status"] == "trained" for x in runs),
            "runs_reused": sum(x["status"] == "reused" for x in runs),
            "runs_failed": sum(x["status"] == "failed" for x in runs),
            "runs": runs,
            "work_dir": str(out),
        }
    return summary


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _mean(values: list[float]) -> float | None:
    return common.mean_std(values)[0]


def _std(values: list[float]) -> float | None:
    return common.mean_std(values)[1]


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.4f}" + ("" if std is None else f" ± {std:.4f}")


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


# ----------------------------------------------------------------------------------------------
# the benchmark


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)
    from chemtl.errors import ChemtlError
    from chemtl.training.config import ModelConfig, PretrainConfig, TrainConfig

    variants = _variants(args.variants)
    comp_steps = args.steps if args.steps is not None else 400
    steps = {"composition": comp_steps, "smiles": args.smiles_steps or comp_steps}
    size = args.size or "small"
    comp_batch = args.batch_size if args.batch_size is not None else 64
    batch = {"composition": comp_batch, "smiles": args.smiles_batch_size or comp_batch}
    val_rows = args.val_rows if args.val_rows is not None else 1000
    smiles_limit = args.smiles_limit if args.smiles_limit is not None else 100_000
    warmup = {k: args.warmup_steps if args.warmup_steps is not None else n // 10 for k, n in steps.items()}
    gap_size = _size(args.gap_size or "500", "--gap-size")
    esol_size = _size(args.esol_size or "all", "--esol-size")
    ft_seeds = common.seeds_arg(args.ft_seeds, "--ft-seeds")
    ft_epochs = args.ft_epochs if args.ft_epochs is not None else 30
    ft_patience = args.ft_patience if args.ft_patience is not None else 6
    if min(steps.values()) < 1 or min(batch.values()) < 2:
        raise ChemtlError(f"steps {steps} and batch sizes {batch}: at least 1 step of 2 rows")
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )
    limits = {"composition": args.comp_limit, "smiles": smiles_limit}
    down_sizes = {"composition": gap_size, "smiles": esol_size}

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    pre_train = {
        kind: TrainConfig(
            lr=args.lr,
            head_lr=None,
            batch_size=batch[kind],
            max_epochs=1000,  # the steps decide; a short (limited) corpus is read several times
            max_steps=steps[kind],
            patience=None,
            seed=args.seed,
            scheduler=args.scheduler,
            warmup_steps=warmup[kind],
            checkpoint_every_n_steps=200,
            progress_bar=False,
        )
        for kind in ("composition", "smiles")
    }
    ft_train = TrainConfig(
        lr=args.ft_lr,
        head_lr=args.ft_head_lr or None,
        batch_size=args.ft_batch_size,
        max_epochs=ft_epochs,
        patience=ft_patience or None,
        seed=0,  # replaced by each run's seed
        progress_bar=False,
        checkpoint_every_n_steps=1000,
    )
    pcfgs = {}
    results: dict[str, dict[str, Any]] = {}
    scratch: dict[str, dict[str, Any]] = {}
    probe_rows: dict[str, list[str]] = {}
    for v in variants:
        pcfg = PretrainConfig(
            objectives=v.objectives,
            mask=v.mask or "random",  # unused without mlm (the default, as `chemtl pretrain` leaves it)
            mask_prob=args.mask_prob,
            contrastive_weight=args.contrastive_weight,
            # only a descriptors objective takes a weight (1, the default, leaves the run keys as before)
            descriptor_weight=args.descriptor_weight if "descriptors" in v.objectives else 1.0,
            temperature=args.temperature,
            val_rows=val_rows,
        )
        pcfgs[v.key] = pcfg
        spec = {
            "corpus": CORPUS[v.kind],
            "limit": limits[v.kind],
            "buffer_size": 10_000,
            "model": ModelConfig(size=size, kind=v.kind).to_dict(),
            "train": pre_train[v.kind].key_dict(),
            "pretrain": pcfg.key_dict(),
        }
        log(
            f"{v.key}: pretraining {v.label} on {CORPUS[v.kind]}, {steps[v.kind]} steps of {batch[v.kind]} rows"
        )
        run_dir = work / "pretrain" / v.key
        pre = run_pretraining(spec, run_dir, args.fresh, log)
        m = pre["metrics"]
        if v.kind not in probe_rows:
            from chemtl.pipelines.corpus import open_corpus

            probe_rows[v.kind] = open_corpus(CORPUS[v.kind], kind=v.kind, limit=limits[v.kind]).head(
                int(m.get("n_val") or 0)
            )
        probe = probe_loss(run_dir, v.kind, probe_rows[v.kind], pcfg, batch[v.kind], args.seed)
        log(
            f"  {m.get('global_step')} steps, val loss {m.get('val_loss')}, probe loss {probe}, "
            f"{m.get('train_seconds')} s training"
        )
        strategies = ("full", "scratch") if v.baseline is None and not args.no_scratch else ("full",)
        log(f"  fine-tuning on {DOWNSTREAM[v.kind]} ({down_sizes[v.kind]} training rows)")
        down = run_downstream(
            run_dir,
            v.kind,
            down_sizes[v.kind],
            ft_seeds,
            ft_train,
            strategies,
            work / "finetune" / v.key,
            args.quick,
            argv,
            log,
        )
        if "scratch" in down:
            scratch[v.kind] = down["scratch"]
        d = down["full"]
        log(f"  {DOWNSTREAM[v.kind]} test MAE {_pm(d['mae_mean'], d['mae_std'])}")
        results[v.key] = {
            "label": v.label,
            "kind": v.kind,
            "objectives": list(v.objectives),
            "mask": v.mask,
            "baseline": v.baseline,
            "ablation": v.ablation,
            "corpus": CORPUS[v.kind],
            "corpus_limit": limits[v.kind],
            "pretrain": {
                "steps": m.get("global_step"),
                "rows_seen": m.get("rows_seen"),
                "val_loss": m.get("val_loss"),
                "probe_val_loss": probe,
                "n_train": m.get("n_train"),
                "n_val": m.get("n_val"),
                "corpus_rows": m.get("corpus_rows"),
                "skipped_rows": m.get("skipped_rows"),
                "total_params": m.get("total_params"),
                "train_seconds": m.get("train_seconds"),
                "wall_seconds": pre["wall_seconds"],
                "peak_rss_mb": m.get("peak_rss_mb"),
                "descriptor_targets": m.get("descriptor_targets"),
                "reused": pre["reused"],
                "model_dir": str(run_dir),
                "config": pcfg.to_dict(),
            },
            "downstream": d,
        }

    # ---- differences to the baselines
    ablations = []
    for v in variants:
        if v.baseline is None or v.baseline not in results:
            continue
        a, b = results[v.key], results[v.baseline]
        da, db = a["downstream"], b["downstream"]
        delta = _diff(da["mae_mean"], db["mae_mean"])
        entry = {
            "ablation": v.ablation,
            "variant": v.key,
            "baseline": v.baseline,
            "downstream": da["dataset"],
            "delta_mae": delta,
            "delta_mae_pct": None if delta is None or not db["mae_mean"] else 100.0 * delta / db["mae_mean"],
            "delta_rmse": _diff(da["rmse_mean"], db["rmse_mean"]),
            "delta_val_loss": _diff(a["pretrain"]["val_loss"], b["pretrain"]["val_loss"]),
            "delta_probe_val_loss": _diff(a["pretrain"]["probe_val_loss"], b["pretrain"]["probe_val_loss"]),
            "delta_pretrain_seconds": _diff(a["pretrain"]["train_seconds"], b["pretrain"]["train_seconds"]),
            "better": None
            if delta is None
            else ("variant" if delta < 0 else "baseline" if delta > 0 else "tie"),
        }
        a["delta_mae"], a["delta_mae_pct"] = entry["delta_mae"], entry["delta_mae_pct"]
        ablations.append(entry)
    for v in variants:
        if v.baseline is None:
            results[v.key]["delta_mae"], results[v.key]["delta_mae_pct"] = 0.0, 0.0

    targets = _targets(ablations, results, ft_seeds)

    # ---- tables
    variant_rows = []
    for v in variants:
        r = results[v.key]
        p, d = r["pretrain"], r["downstream"]
        variant_rows.append(
            [
                v.key,
                "+".join(v.objectives),
                v.mask or "-",
                p["steps"],
                _r(p["val_loss"]),
                _r(p["probe_val_loss"]),
                None if p["train_seconds"] is None else round(float(p["train_seconds"]), 1),
                f"{d['dataset']} ({d['train_size']} rows)",
                _pm(d["mae_mean"], d["mae_std"]),
                _pm(d["rmse_mean"], d["rmse_std"]),
                "baseline" if v.baseline is None else _fmt_delta(r.get("delta_mae"), r.get("delta_mae_pct")),
            ]
        )
    for kind, s in scratch.items():
        variant_rows.append(
            [
                f"scratch ({kind}, no pretraining)",
                "-",
                "-",
                0,
                None,
                None,
                None,
                f"{s['dataset']} ({s['train_size']} rows)",
                _pm(s["mae_mean"], s["mae_std"]),
                _pm(s["rmse_mean"], s["rmse_std"]),
                _fmt_delta(
                    _diff(s["mae_mean"], results[_baseline_of(kind)]["downstream"]["mae_mean"]),
                    _pct(s["mae_mean"], results[_baseline_of(kind)]["downstream"]["mae_mean"]),
                ),
            ]
        )
    seeds_note = f"mean ± std over fine-tuning seeds {', '.join(map(str, ft_seeds))}" + (
        f" ({common.std_label()})" if len(ft_seeds) > 1 else ""
    )
    tables = [
        {
            "title": "Variants: pretraining and downstream test error",
            "columns": [
                "variant",
                "objective",
                "masking",
                "steps",
                "val loss (own objective)",
                "val loss (random-mask probe)",
                "pretrain s",
                "downstream",
                "test MAE",
                "test RMSE",
                "ΔMAE vs baseline",
            ],
            "rows": variant_rows,
            "note": f"Test errors: {seeds_note}; MAE in eV (matbench_expt_gap) and log mol/L (esol). "
            "ΔMAE < 0: the variant beats its baseline (the random-masking, masked-loss-only variant of the "
            "same representation; for smiles-span-descriptors, smiles-span). The own-objective validation losses are not comparable across maskings "
            "or objectives; the probe scores every variant of a kind on the same held-out rows with the same "
            "random masks. smiles-descriptors has no probe loss: pretrained without the masked-token objective, its "
            "masked-token head keeps its random initial weights.",
        },
        {
            "title": "Ablations: variant minus baseline",
            "columns": [
                "ablation",
                "variant",
                "baseline",
                "downstream",
                "ΔMAE",
                "ΔMAE %",
                "ΔRMSE",
                "Δ probe loss",
                "Δ pretrain s",
                "better downstream",
            ],
            "rows": [
                [
                    e["ablation"],
                    e["variant"],
                    e["baseline"],
                    e["downstream"],
                    _signed(e["delta_mae"], ".4f"),
                    _signed(e["delta_mae_pct"], ".1f", "%"),
                    _signed(e["delta_rmse"], ".4f"),
                    _signed(e["delta_probe_val_loss"], ".4f"),
                    _signed(e["delta_pretrain_seconds"], ".1f"),
                    e["better"],
                ]
                for e in ablations
            ],
        },
    ]
    ft_rows = []
    for v in variants:
        for run in results[v.key]["downstream"]["runs"]:
            ft_rows.append(_ft_row(v.key, run))
    for kind, s in scratch.items():
        for run in s["runs"]:
            ft_rows.append(_ft_row(f"scratch ({kind})", run))
    tables.append(
        {
            "title": "Fine-tuning runs",
            "columns": [
                "model",
                "seed",
                "train/val/test rows",
                "test MAE",
                "test RMSE",
                "epochs",
                "best epoch",
                "train s",
                "status",
            ],
            "rows": ft_rows,
        }
    )

    comp_rows = "all rows" if limits["composition"] is None else f"first {limits['composition']} rows"
    notes = [
        f"Pretraining, every variant of a kind alike: model size {size}; compositions {steps['composition']} "
        f"steps of {batch['composition']} rows ({warmup['composition']} warm-up steps), SMILES "
        f"{steps['smiles']} steps of {batch['smiles']} rows ({warmup['smiles']} warm-up steps); lr {args.lr} "
        f"({args.scheduler}), seed {args.seed}, masking rate {args.mask_prob}, "
        f"contrastive weight {args.contrastive_weight} and temperature {args.temperature}, descriptor weight "
        f"{args.descriptor_weight} where used; "
        f"the first {val_rows} corpus rows (at most a tenth) are held out for the validation losses.",
        f"Corpora: inorganic_corpus ({comp_rows}), "
        f"moses (first {limits['smiles']} rows), streamed through a 10,000-row shuffle buffer: each variant "
        f"of a kind sees the same rows in the same order.",
        "Fine-tuning, every model: strategy full, "
        + ", ".join(f"{k}={v}" for k, v in ft_train.to_dict().items() if k not in ("progress_bar", "seed"))
        + f"; seeds {', '.join(map(str, ft_seeds))}. matbench_expt_gap: Matbench fold 0, a seeded subset of "
        f"{gap_size} rows of the training side, 10% of the training side (split seed 0) for early stopping, "
        "the fold's test rows. esol: random 80/10/10 split, seed 0"
        + ("" if esol_size == "all" else f", {esol_size} training rows drawn from the training side")
        + ". Every model of a downstream task trains on identical rows with identical seeds.",
        "inorganic_corpus holds the (unlabelled) formulas of the matbench test folds: pretraining on it is "
        "transductive with respect to the matbench_expt_gap test rows, equally for every composition variant.",
        "The contrastive variants compute two views per row, and the descriptor variants 178 RDKit descriptors "
        "per row (in the collate, on the CPU), so a step costs more: equal steps, not equal time.",
    ]
    splits = {DOWNSTREAM[k]: describe_split(k) for k in sorted({v.kind for v in variants})}
    notes.append("Downstream splits: " + "; ".join(f"{k}: {d}" for k, d in splits.items()) + ".")
    if len(ft_seeds) == 1:
        notes.append(
            "One fine-tuning seed: a difference smaller than the seed-to-seed spread (see the learning_curve "
            "benchmark, or rerun with --ft-seeds 0,1,2) is noise, whichever side it falls."
        )
    if args.quick:
        notes.append("Quick smoke run (tiny model, a few steps, 60 rows): the numbers say nothing.")
    failed = [
        f"{k} seed {run['seed']}: {run['error']}"
        for k, r in results.items()
        for run in r["downstream"]["runs"]
        if run["status"] == "failed"
    ]
    if failed:
        notes.append("Failed fine-tuning runs: " + "; ".join(failed))

    payload = {
        "title": "Pretraining ablation: masking and objectives at equal steps",
        "measured": (
            f"Each variant pretrained from random weights (size {size}, seed {args.seed}) for the steps of its "
            f"kind (compositions {steps['composition']} x {batch['composition']} rows, SMILES "
            f"{steps['smiles']} x {batch['smiles']} rows), then fine-tuned (full) on one downstream split per representation: compositions on "
            f"matbench_expt_gap fold 0 ({gap_size} training rows), SMILES on esol (random split, seed 0, "
            f"{esol_size} training rows). Compared against the baseline of the same representation (random "
            "masking, masked loss only): (a) element-group masking, (b) span masking, (c) masked + contrastive, "
            "(e) descriptor regression alone; and (d) span masking + descriptor regression against span masking. "
            "Variants: " + ", ".join(v.key for v in variants) + "."
        ),
        "split": f"matbench_expt_gap: matbench fold 0 (KFold(5, shuffle=True, random_state=18012019)), "
        f"{gap_size} training rows; esol: random 80/10/10, seed 0, {esol_size} training rows; pretraining "
        f"validation: the first {val_rows} corpus rows (at most a tenth)",
        "seed": args.seed,
        "targets": targets,
        "tables": tables,
        "references": [],
        "notes": notes,
        "data": {
            "variants": results,
            "scratch": scratch,
            "ablations": ablations,
            "pretrain_train_config": {k: c.to_dict() for k, c in pre_train.items()},
            "model_size": size,
            "steps": steps,
            "batch_size": batch,
            "val_rows": val_rows,
            "corpus_limits": limits,
            "finetune_config": ft_train.to_dict(),
            "ft_seeds": list(ft_seeds),
            "downstream_sizes": {DOWNSTREAM[k]: s for k, s in down_sizes.items()},
            "downstream_splits": splits,
            "work_dir": str(work),
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


def _targets(ablations: list[dict[str, Any]], results: dict[str, dict[str, Any]], ft_seeds) -> list[dict]:
    """The verdict, computed from the numbers: (d)'s variant ahead of span masking alone downstream
    (ΔMAE < 0; behind or level: MISS). None when (d) was not run."""
    e = next((e for e in ablations if e["variant"] == TARGET_VARIANT), None)
    if e is None:
        return []
    a, b = results[e["variant"]]["downstream"], results[e["baseline"]]["downstream"]
    note = (
        f"test MAE {_pm(a['mae_mean'], a['mae_std'])} ({e['variant']}) vs {_pm(b['mae_mean'], b['mae_std'])} "
        f"({e['baseline']}), fine-tuning seed{'s' if len(ft_seeds) > 1 else ''} {', '.join(map(str, ft_seeds))}"
    )
    if len(ft_seeds) == 1:
        note += "; one seed: a difference within the seed-to-seed spread is noise, whichever side it falls"
    return [
        common.target(
            f"(d) span masking + descriptor regression better downstream than span masking alone: "
            f"{e['downstream']} test ΔMAE, {e['variant']} minus {e['baseline']}",
            e["delta_mae"],
            0.0,
            "<",
            unit="log mol/L",
            note=note,
        )
    ]


def _baseline_of(kind: str) -> str:
    return next(v.key for v in VARIANTS if v.kind == kind and v.baseline is None)


def _pct(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else 100.0 * (a - b) / b


def _signed(x: float | None, spec: str, unit: str = "") -> str:
    return "-" if x is None else f"{x:+{spec}}{unit}"


def _fmt_delta(delta: float | None, pct: float | None) -> str:
    if delta is None:
        return "-"
    return f"{delta:+.4f}" + ("" if pct is None else f" ({pct:+.1f}%)")


def _ft_row(model: str, run: dict[str, Any]) -> list[Any]:
    return [
        model,
        run["seed"],
        f"{run['n_train']}/{run['n_val']}/{run['n_test']}",
        _r(run["mae"]),
        _r(run["rmse"]),
        run["epochs_run"],
        run["best_epoch"],
        None if run["train_seconds"] is None else round(float(run["train_seconds"]), 1),
        run["status"],
    ]


if __name__ == "__main__":
    common.print_paths(main())
