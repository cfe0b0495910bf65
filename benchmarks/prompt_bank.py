"""Benchmark ``prompt_bank``: one frozen encoder, many properties.

Protocol: for each property of ``--properties`` (default matbench_expt_gap, matbench_expt_is_metal,
matbench_steels and matbench_mp_e_form), at most ``--max-rows`` rows (a fixed seeded subset, the
same for every arm and seed), split by compound (``grouped``, 80/10/10, split seed 0: the same
rows for every run), from ``--model`` (default the shipped ``composition-small-mp``). Per property
and seed five arms train on the same rows:

    prompt        learned prompt (``--num-virtual-tokens`` tokens, initialised from the embeddings
                  of randomly drawn elements: ``prompt_init="vocab"``) + head, into the bank
    fixed_prompt  the same prompt initialisation, frozen (``freeze_prompt``): only the head
                  trains, into the bank: the chapter's pitfall 5 ("a fixed prompt performs poorly")
    prefix        prefix tuning + head, into the bank
    lora          LoRA (rank ``--lora-r``, query and value) + head, into the bank
    full          per-task full fine-tuning (a plain run directory per task): the reference

Every bank arm of a seed goes into one bank (``work/bank-s<seed>``: the base weights once, each
task its prompt/prefix/adapter and head), and every task's test metric is read back by predicting
all of the bank's tasks in one call (``chemtl.pipelines.bank.predict_bank``) on the test rows.
Metrics: MAE for regression, ROC-AUC for classification. Also reported: trainable parameters per
task and the bank's bytes on disk against one full model directory per task, and a figure of the
same inputs' pooled embeddings under each property's learned prompt (PCA 2-D, fitted jointly).

Targets: per property, the learned prompt's test metric is better than the fixed prompt's
(pitfall 5 measured; mean over seeds). Writes ``results/prompt_bank.json`` (and
``prompt_bank_embeddings.png`` beside it) and regenerates ``docs/BENCHMARKS.md``. Running the
script again reuses every finished run whose settings are unchanged.

    python benchmarks/prompt_bank.py                     # 4 properties x 5 arms x 3 seeds
    python benchmarks/prompt_bank.py --quick             # smoke: 3 properties, 40 rows, 1 epoch
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "prompt_bank"
DEFAULT_MODEL = "composition-small-mp"
DEFAULT_PROPERTIES = "matbench_expt_gap,matbench_expt_is_metal,matbench_steels,matbench_mp_e_form"
ARMS = ("prompt", "fixed_prompt", "prefix", "lora", "full")
BANK_ARMS = ARMS[:4]
# learning rates per arm: (encoder-side lr, head/prompt/prefix lr); LoRA's adapters sit in the encoder
LRS = {"prompt": (1e-3, 3e-3), "fixed_prompt": (1e-3, 3e-3), "prefix": (1e-3, 3e-3), "lora": (1e-3, 1e-3),
       "full": (1e-4, 1e-3)}  # fmt: skip
QUICK = {
    "properties": "matbench_expt_gap,matbench_expt_is_metal,matbench_steels",
    "max_rows": 40,
    "seeds": "0",
    "epochs": 1,
    "patience": 0,
    "figure_rows": 30,
}


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Prompt, fixed prompt, prefix and LoRA tasks in one bank on a frozen encoder vs per-task "
        "full fine-tuning, on several composition properties.",
    )
    common.add_common_args(p)
    p.add_argument(
        "--model", default=DEFAULT_MODEL, metavar="NAME|DIR", help=f"the base (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--properties",
        default=None,
        metavar="LIST",
        help=f"registered composition datasets, comma-separated (default {DEFAULT_PROPERTIES})",
    )
    p.add_argument(
        "--max-rows", type=int, default=None, help="rows per property, a fixed subset (default 2000)"
    )
    p.add_argument("--seeds", default=None, metavar="LIST", help="seeds, comma-separated (default 0,1,2)")
    p.add_argument("--epochs", type=int, default=None, help="most epochs per run (default 30)")
    p.add_argument("--patience", type=int, default=None, help="early stopping patience (0: off; default 5)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-virtual-tokens", type=int, default=10, help="prompt and prefix length (default 10)")
    p.add_argument("--lora-r", type=int, default=8, help="LoRA rank (default 8)")
    p.add_argument(
        "--figure-rows", type=int, default=None, help="inputs in the embedding figure (default 300)"
    )
    p.add_argument("--work-dir", default=None, metavar="DIR", help=f"default build/benchmarks/{NAME}[-quick]")
    p.add_argument("--fresh", action="store_true", help="retrain every run instead of reusing it")
    return p


def strategy_for(arm: str, args):
    from chemtl.transfer import StrategyConfig

    if arm in ("prompt", "fixed_prompt"):
        return StrategyConfig(
            "prompt",
            num_virtual_tokens=args.num_virtual_tokens,
            prompt_init="vocab",
            freeze_prompt=arm == "fixed_prompt",
        )
    if arm == "prefix":
        return StrategyConfig("prefix", num_virtual_tokens=args.num_virtual_tokens)
    if arm == "lora":
        return StrategyConfig("lora", lora_r=args.lora_r)
    return StrategyConfig("full")


def short(dataset: str) -> str:
    return dataset.removeprefix("matbench_")


def property_data(dataset: str, max_rows: int):
    """The fixed row subset of ``dataset`` and the data config every arm uses."""
    from chemtl.data import load_dataset
    from chemtl.evaluate.compare.runs import seeded_subset
    from chemtl.training.config import DataConfig

    ds = load_dataset(dataset)
    if ds.kind != "composition":
        raise common_error(f"--properties: {dataset!r} holds {ds.kind} inputs, not compositions")
    rows = seeded_subset(np.arange(len(ds)), max_rows, 0, NAME, dataset)
    sub = ds.subset(rows, name=f"{dataset}-{len(rows)}rows")
    data = DataConfig(
        dataset=sub.name, split="grouped", split_params={"frac": [0.8, 0.1, 0.1]}, split_seed=0, task=ds.task
    )
    return sub, data


def common_error(message: str):
    from chemtl.errors import ChemtlError

    return ChemtlError(message)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> dict[str, Path]:
    from chemtl.data.files import sha256_strings
    from chemtl.evaluate.compare.runs import reuse_or_train, run_hash
    from chemtl.pipelines.bank import finetune_to_bank, is_bank, predict_bank, read_bank, weights_sha256
    from chemtl.pipelines.finetune import finetune, resolve_split
    from chemtl.pretrained import resolve_model_dir
    from chemtl.training.config import TrainConfig

    argv, args, started_iso, started = common.start(build_parser(), argv, QUICK)
    properties = [t.strip() for t in (args.properties or DEFAULT_PROPERTIES).split(",") if t.strip()]
    if len(properties) < 1 or len(set(properties)) != len(properties):
        raise common_error(f"--properties {args.properties!r}: name each property once")
    seeds = common.seeds_arg(args.seeds or "0,1,2")
    max_rows = args.max_rows or 2000
    epochs = args.epochs if args.epochs is not None else 30
    patience = args.patience if args.patience is not None else 5
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )
    model_sha = weights_sha256(resolve_model_dir(args.model))

    records: list[dict[str, Any]] = []  # one per (property, arm, seed)
    splits: dict[str, Any] = {}
    test_rows: dict[str, list[str]] = {}
    for dataset in properties:
        sub, data = property_data(dataset, max_rows)
        split = resolve_split(sub, data)
        splits[dataset] = {"rows": len(sub), "task": sub.task, **split.sizes}
        test_rows[dataset] = [sub.inputs[i] for i in split.test]
        rows_key = {
            "inputs": sha256_strings(sub.inputs),
            "targets": sha256_strings(map(repr, sub.targets.tolist())),
        }
        for seed in seeds:
            bank = work / f"bank-s{seed}"
            for arm in ARMS:
                strategy = strategy_for(arm, args)
                lr, head_lr = LRS[arm]
                train = TrainConfig(
                    lr=lr, head_lr=head_lr, max_epochs=epochs, patience=patience or None,
                    batch_size=args.batch_size, seed=seed, progress_bar=False,
                )  # fmt: skip
                task = f"{short(dataset)}-{arm}"
                run_dir = work / "runs" / f"s{seed}" / task
                key = run_hash(
                    model_sha256=model_sha, dataset=dataset, dataset_sha256=sub.info.get("sha256"),
                    rows=rows_key, data=data.key_dict(), train=train, strategy=strategy,
                )  # fmt: skip
                in_bank = arm in BANK_ARMS and is_bank(bank) and task in read_bank(bank)["tasks"]
                fresh = args.fresh or (arm in BANK_ARMS and not in_bank)

                def run(resume: bool, overwrite: bool, arm=arm, strategy=strategy, train=train, task=task,
                        run_dir=run_dir, bank=bank, sub=sub, data=data, in_bank=in_bank):  # fmt: skip
                    t0 = time.perf_counter()
                    command = ["chemtl", "benchmark", NAME]
                    if arm == "full":
                        done = finetune(args.model, data, train, strategy, run_dir, resume=resume,
                                        overwrite=overwrite, dataset=sub, command=command)  # fmt: skip
                    else:
                        if resume and in_bank:  # the bank holds an older version: start over
                            resume, overwrite = False, True
                        done = finetune_to_bank(args.model, data, train, strategy, bank, task, out_dir=run_dir,
                                                resume=resume, overwrite=overwrite or in_bank, dataset=sub,
                                                command=command)  # fmt: skip
                    return done.metrics, {"wall_seconds": time.perf_counter() - t0}

                finished = reuse_or_train(run_dir, key, run, fresh=fresh, stamp_name="bench_run.json")
                m = finished.metrics
                records.append(
                    {
                        "property": dataset, "arm": arm, "seed": seed, "task": task, "task_type": m["task"],
                        "strategy": m["strategy"], "trainable_params": m["trainable_params"],
                        "total_params": m["total_params"], "test": m["test"], "val": m["val"],
                        "epochs_run": m["epochs_run"], "best_epoch": m["best_epoch"], "reused": finished.reused,
                        "wall_seconds": finished.stamp.get("wall_seconds"), "run_dir": str(run_dir),
                    }
                )  # fmt: skip

    # every bank task's test metric again from one predict call over the bank (the shared base)
    from chemtl.evaluate.metrics import classification_metrics, regression_metrics

    one_call: dict[str, Any] = {}
    for seed in seeds:
        bank = work / f"bank-s{seed}"
        info = read_bank(bank)
        for dataset in properties:
            sub, data = property_data(dataset, max_rows)
            split = resolve_split(sub, data)
            names = [f"{short(dataset)}-{arm}" for arm in BANK_ARMS]
            t0 = time.perf_counter()
            table = predict_bank(bank, test_rows[dataset], tasks=names)
            seconds = time.perf_counter() - t0
            y = np.asarray(sub.targets)[split.test]
            for name in names:
                if sub.task == "regression":
                    score = regression_metrics(y, table[f"prediction_{name}"].to_numpy())
                else:
                    classes = info["tasks"][name]["classes"]
                    proba = table[[f"prob_{name}_{c}" for c in classes]].to_numpy()
                    score = classification_metrics(y, proba)
                one_call[f"s{seed}/{name}"] = score
            one_call[f"s{seed}/{short(dataset)}:seconds"] = round(seconds, 3)
    for rec in records:
        if rec["arm"] in BANK_ARMS:
            again = one_call[f"s{rec['seed']}/{rec['task']}"]
            metric = "mae" if rec["task_type"] == "regression" else "roc_auc"
            rec["test_from_bank"] = again[metric]

    # sizes on disk: the bank against one full model directory per task
    bank0 = work / f"bank-s{seeds[0]}"
    full_dir = Path(next(r["run_dir"] for r in records if r["arm"] == "full" and r["seed"] == seeds[0]))
    full_model_bytes = sum((full_dir / n).stat().st_size for n in ("model.safetensors", "config.json"))
    sizes = {
        "bank_bytes": dir_bytes(bank0),
        "base_bytes": dir_bytes(bank0 / "base"),
        "bank_tasks": len(read_bank(bank0)["tasks"]),
        "per_task_bytes": {t: dir_bytes(bank0 / "tasks" / t) for t in read_bank(bank0)["tasks"]},
        "full_model_bytes": full_model_bytes,
    }

    # the figure: the same inputs under each property's learned prompt (and the first's fixed one)
    from chemtl.pipelines.bank import bank_embeddings
    from chemtl.pipelines.predict import plot_embedding

    fig_inputs = test_rows[properties[0]][: args.figure_rows or 300]
    fig_tasks = [f"{short(d)}-prompt" for d in properties] + [f"{short(properties[0])}-fixed_prompt"]
    emb = bank_embeddings(bank0, fig_inputs, tasks=fig_tasks)
    stacked = np.concatenate([emb[t] for t in fig_tasks])
    labels = np.concatenate([[t] * len(fig_inputs) for t in fig_tasks])
    fig_path = common.results_dir(args.results_dir) / f"{NAME}_embeddings{'.quick' if args.quick else ''}.png"
    fig_path.parent.mkdir(parents=True, exist_ok=True)
    plot_embedding(stacked, fig_path, colour=labels, colour_label="task prompt",
                   title=f"{len(fig_inputs)} {short(properties[0])} test inputs under each task's prompt")  # fmt: skip
    centroids = {t: emb[t].mean(axis=0) for t in fig_tasks}
    spread = float(np.mean([np.linalg.norm(emb[t] - centroids[t], axis=1).mean() for t in fig_tasks]))
    centroid_distance = {
        f"{a} vs {b}": common.rounded(float(np.linalg.norm(centroids[a] - centroids[b])))
        for i, a in enumerate(fig_tasks)
        for b in fig_tasks[i + 1 :]
    }

    # summaries
    def stat(dataset: str, arm: str, field: str = "test"):
        rec = [r for r in records if r["property"] == dataset and r["arm"] == arm]
        metric = "mae" if rec[0]["task_type"] == "regression" else "roc_auc"
        return metric, common.mean_std([r[field][metric] for r in rec]), rec[0]["trainable_params"]

    rows, targets = [], []
    for dataset in properties:
        full_metric, (full_mean, _), full_params = stat(dataset, "full")
        for arm in ARMS:
            metric, (mean, std), params = stat(dataset, arm)
            rows.append([
                short(dataset), arm, metric, common.rounded(mean), common.rounded(std), params,
                common.rounded(100.0 * params / full_params, 3), common.rounded(mean - full_mean),
            ])  # fmt: skip
        metric, (learned, _), _ = stat(dataset, "prompt")
        _, (fixed, _), _ = stat(dataset, "fixed_prompt")
        op = "<" if metric == "mae" else ">"
        targets.append(
            common.target(
                f"{short(dataset)}: learned prompt minus fixed prompt, test {metric.upper()} (pitfall 5)",
                common.rounded(learned - fixed),
                0.0,
                op,
                note=f"mean over {len(seeds)} seed(s); {'lower' if op == '<' else 'higher'} is better for the learned prompt",
            )  # fmt: skip
        )
    payload = {
        "title": "Prompt banks: one frozen encoder, many properties",
        "measured": (
            f"For {len(properties)} composition properties ({', '.join(properties)}; at most {max_rows} rows each, "
            "split by compound 80/10/10), tasks trained on one frozen "
            f"{Path(args.model).name} encoder and kept in one bank (learned prompt, fixed prompt, prefix, "
            "LoRA: per task only its prompt/adapter and head), against per-task full fine-tuning on the same rows. "
            "Test MAE (regression) or ROC-AUC (classification), trainable parameters per task; the bank's "
            "numbers are read back by predicting all of its tasks in one call."
        ),
        "split": "grouped (random by compound) 80/10/10, split seed 0, a fixed seeded row subset per property",
        "seed": list(seeds),
        "targets": targets,
        "tables": [
            {
                "title": "Test metric and trainable parameters per task",
                "columns": [
                    "property",
                    "arm",
                    "metric",
                    "mean",
                    f"std ({common.std_label()})",
                    "trainable params",
                    "% of full",
                    "minus full",
                ],  # fmt: skip
                "rows": rows,
                "note": "prompt/fixed_prompt/prefix/lora live in one bank per seed; full is one run directory per "
                "task. Learning rates (encoder-side, head/prompt): "
                + ", ".join(f"{a} {lr[0]:g}/{lr[1]:g}" for a, lr in LRS.items()),
            },
            {
                "title": "Bank on disk",
                "columns": ["what", "bytes"],
                "rows": [
                    ["bank (base + all tasks)", sizes["bank_bytes"]],
                    ["base weights", sizes["base_bytes"]],
                    ["one full fine-tuned model (weights + config)", sizes["full_model_bytes"]],
                    [f"{sizes['bank_tasks']} full models", sizes["bank_tasks"] * sizes["full_model_bytes"]],
                ],
            },  # fmt: skip
        ],
        "references": [],
        "notes": [
            "A fixed prompt is the prompt's initialisation (embeddings of randomly drawn elements) frozen, so "
            "only the head trains: the chapter's pitfall 5 says it performs poorly against a learned one.",
            f"Embedding figure: {fig_path.name} (the same {len(fig_inputs)} inputs under "
            f"{', '.join(fig_tasks)}; PCA fitted on all of them). Mean distance of an input to its task's "
            f"centroid {spread:.4g}; centroid distances: "
            + "; ".join(f"{k} {v}" for k, v in centroid_distance.items()),
        ],
        "data": {
            "model": args.model,
            "model_sha256": model_sha,
            "properties": splits,
            "records": records,
            "one_call": one_call,
            "sizes": sizes,
            "figure": str(fig_path),
            "embedding": {
                "tasks": fig_tasks,
                "n_inputs": len(fig_inputs),
                "within_task_spread": common.rounded(spread),
                "centroid_distance": centroid_distance,
            },  # fmt: skip
            "settings": {
                "max_rows": max_rows,
                "epochs": epochs,
                "patience": patience,
                "batch_size": args.batch_size,
                "num_virtual_tokens": args.num_virtual_tokens,
                "lora_r": args.lora_r,
            },  # fmt: skip
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
