"""``adapt``: a pretrained model + a labelled source + an unlabelled target -> a fine-tuned model.

Unsupervised domain adaptation for regression targets. The source table is labelled and split
(train / validation / test, as ``finetune`` splits it); the target table is used without its
labels: every target row streams through training as an unlabelled batch beside each source
batch (the engine's second stream, cycling). Target labels are read only

- with ``evaluate=True``: metrics on the target rows (those not used for training) in the report;
- with ``target_labels=N``: N labelled target rows, drawn with ``seed``, join the source's
  training rows (the semi-supervised case).

Methods (``AdaptConfig.method``):

- ``dann``: a domain classifier on the pooled embedding behind a gradient reversal layer, lambda on
  Ganin's schedule ``2 / (1 + exp(-10 p)) - 1`` (times ``domain_weight``) over training progress
  ``p``; loss = task loss (source) + domain BCE (source and target).
- ``source-only``: the control: the same pipeline, batches and classifier, but the classifier sees
  detached embeddings, so the encoder trains on the task loss alone.

Model selection never looks at target labels. ``selection="source-val"`` (default): the epoch with
the lowest source validation loss. ``selection="dev"``: Deep Embedded Validation (You et al.
2019): the source validation rows' losses weighted by the domain classifier's density ratios
``p_target(x) / p_source(x)``, with a control variate (``chemtl.transfer.adapt.dev``); an
estimate of the target risk. Early stopping (``TrainConfig.patience``) follows the same number.

Files written into ``out_dir``, a plain fine-tuned model directory (``chemtl predict --model
out_dir`` reads it): as ``finetune`` writes them (train_config.json, config.json,
model.safetensors, strategy.json, tokenizer files, chemtl.json, logs/, checkpoints/) and

    metrics.json       method, selection, rows per side, source val/test metrics, target metrics
                       (evaluate), best epoch and losses, domain-gap numbers before/after (when
                       ``chemtl.evaluate.domain_gap`` is installed and ``diagnostics`` is on)
    predictions.csv    domain, row, split, input, target, prediction (source and target rows)
    manifest.json      both tables' sha256s, the source split, versions, git commit, command, times

A killed run resumed with ``resume=True`` gives the uninterrupted numbers (the engine checkpoints
both streams' positions and the domain classifier with the model).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import DataError
from chemtl.training.config import TrainConfig
from chemtl.transfer.adapt.config import AdaptConfig, AdaptError

METRICS_KEYS = (
    "method",
    "selection",
    "seed",
    "n_source_train",
    "n_source_val",
    "n_source_test",
    "n_target",
    "n_target_labelled",
    "source",
    "target",
    "best_epoch",
    "best_val_loss",
)


@dataclass
class AdaptResult:
    """What ``adapt`` returns; on launched DDP ranks other than 0 only ``is_global_zero=False``."""

    out_dir: Path
    metrics: dict[str, Any] | None
    model: Any = None
    is_global_zero: bool = True


def load_target(config: AdaptConfig, kind: str, source) -> Any:
    """The target table, checked against the source (same kind, not the same rows)."""
    from chemtl.data import load_dataset
    from chemtl.data.dataset import Dataset

    labels = config.evaluate or config.target_labels is not None
    ds = load_dataset(
        config.target,
        input_col=config.input_col,
        target_col=config.target_col if labels else None,
        kind=config.kind,
        task="regression" if labels else None,
        skip_invalid=config.skip_invalid,
    )
    if not isinstance(ds, Dataset):
        raise DataError(f"target {config.target!r} is a streaming corpus, not a table")
    if ds.kind != source.kind:
        raise AdaptError(
            f"target {config.target!r} holds {ds.kind} inputs but source {config.source!r} holds "
            f"{source.kind} inputs; both domains must be of one kind"
        )
    if len(ds) == 0:
        raise DataError(f"target {config.target!r} has no rows")
    if set(ds.inputs) == set(source.inputs):
        raise AdaptError(
            f"target {config.target!r} holds exactly the compounds of source {config.source!r}; "
            "there is no domain shift to adapt to"
        )
    if labels:
        values = np.asarray(ds.targets, dtype=np.float64) if ds.targets is not None else None
        if values is None:
            raise DataError(f"target {config.target!r} has no label column {config.target_col!r}")
        n_labelled = int(np.isfinite(values).sum())
        if config.target_labels is not None and config.target_labels > n_labelled:
            raise AdaptError(
                f"--target-labels {config.target_labels} is more than the {n_labelled} labelled rows of "
                f"target {config.target!r}"
            )
    return ds


def _configs_record(config: AdaptConfig, train: TrainConfig, strategy, model_dir: str) -> dict[str, Any]:
    return {
        "run": "adapt",
        "model_source": str(model_dir),
        "adapt": config.to_dict(),
        "train": train.to_dict(),
        "strategy": strategy.to_dict(),
    }


def _sample(n: int, k: int, seed: int, what: str) -> np.ndarray:
    from chemtl.training.seeding import derive_seed

    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(derive_seed(seed, what)).choice(n, size=k, replace=False))


def domain_gap_numbers(model_dir, source_inputs, target_inputs, config: AdaptConfig) -> dict | str:
    """``chemtl.evaluate.domain_gap.domain_gap`` of the model's embeddings of (at most
    ``diagnostics_rows`` of) both domains, or why there are none."""
    try:
        from chemtl.evaluate.domain_gap import domain_gap
    except ImportError:
        return "unavailable: chemtl.evaluate.domain_gap is not installed"
    from chemtl.pipelines.predict import embed

    s = _sample(len(source_inputs), config.diagnostics_rows, config.seed, "gap-source")
    t = _sample(len(target_inputs), config.diagnostics_rows, config.seed, "gap-target")
    xs = embed(model_dir, [source_inputs[i] for i in s], max_length=config.max_length)
    xt = embed(model_dir, [target_inputs[i] for i in t], max_length=config.max_length)
    return domain_gap(xs, xt, seed=config.seed)


def adapt(
    model_dir: str | Path,
    config: AdaptConfig,
    train: TrainConfig,
    out_dir: str | Path,
    *,
    strategy=None,
    resume: bool = False,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> AdaptResult:
    """Adapt the model in ``model_dir`` from ``config.source`` to ``config.target``; see the module
    docstring. ``strategy``: a ``chemtl.transfer.StrategyConfig`` (default ``full``)."""
    import torch

    from chemtl.evaluate.metrics import regression_metrics
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.pipelines.finetune import (
        PropertyCollate,
        check_split_sizes,
        check_targets,
        forward_outputs,
        head_options,
        load_data,
        resolve_split,
        split_record,
        to_user_units,
    )
    from chemtl.pipelines.modeldir import load_model_dir, make_meta, quiet_transformers, save_model_dir
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import fit
    from chemtl.training.manifest import build_manifest, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.seeding import seed_run
    from chemtl.transfer import (
        StrategyConfig,
        apply_strategy,
        parameter_groups,
        save_finetuned,
        set_train_mode,
        total_parameter_count,
        trainable_parameter_count,
    )
    from chemtl.transfer.adapt.dev import DevValidation
    from chemtl.transfer.adapt.objective import SOURCE, TARGET, DomainAdversarial

    strategy = strategy if strategy is not None else StrategyConfig(name="full")
    started = now_iso()
    out = Path(out_dir)
    quiet_transformers()
    seed_run(train.seed, train.deterministic)

    # 1. model, source, target: every check before the output directory is claimed
    loaded = load_model_dir(model_dir)
    data = config.data_config()
    source = load_data(data, loaded.kind)
    target_name = data.target_col or source.info.get("target_col") or "target"
    check_targets(source, "regression", target_name)
    target = load_target(config, loaded.kind, source)
    split = resolve_split(source, data)
    check_split_sizes(source, split, need_val=True)

    labelled_target = np.zeros(0, dtype=np.int64)
    target_values = None
    if target.targets is not None and (config.evaluate or config.target_labels is not None):
        target_values = np.asarray(target.targets, dtype=np.float64)
    if config.target_labels is not None:
        finite = np.flatnonzero(np.isfinite(target_values))
        from chemtl.training.seeding import derive_seed

        rng = np.random.default_rng(derive_seed(config.seed, "target-labels"))
        labelled_target = np.sort(rng.choice(finite, size=config.target_labels, replace=False))
    source_values = np.asarray(source.targets, dtype=np.float64)
    train_values = np.concatenate(
        [source_values[split.train], target_values[labelled_target] if len(labelled_target) else []]
    )
    mean = float(np.mean(train_values))
    std = float(np.std(train_values))
    std = std if std > 0 and math.isfinite(std) else 1.0

    model = ChemtlForPropertyPrediction.from_pretrained(
        loaded.path,
        num_labels=1,
        problem_type="regression",
        use_safetensors=True,
        ignore_mismatched_sizes=True,
        **head_options(train, "regression", mean, std),
    )
    model = apply_strategy(model, strategy)
    set_train_mode(model, strategy, True)
    groups = parameter_groups(model, train.lr, train.head_lr, train.lr_decay, train.weight_decay)
    torch.manual_seed(train.seed)  # the domain classifier's initial weights
    objective = DomainAdversarial(
        loaded.config.hidden_size, config.method, config.domain_weight, config.domain_hidden
    )

    # 2. the domain gap before adaptation (the pretrained encoder's embeddings)
    gap_before = None
    if config.diagnostics:
        gap_before = domain_gap_numbers(
            model_dir, [source.inputs[i] for i in split.train], list(target.inputs), config
        )

    # 3. claim the output directory
    rank0 = global_rank_from_env() == 0
    if rank0:
        prepare_run_dir(
            out, _configs_record(config, train, strategy, str(model_dir)), resume=resume, overwrite=overwrite
        )

    # 4. train: source batches (labelled) beside cycling target batches (unlabelled)
    scaled = ((source_values - mean) / std).tolist()
    labelled = PropertyCollate(loaded.tokenizer, config.max_length, "regression")
    unlabelled = PropertyCollate(loaded.tokenizer, config.max_length, None)
    train_rows = [(source.inputs[i], scaled[i]) for i in split.train] + [
        (target.inputs[i], float((target_values[i] - mean) / std)) for i in labelled_target
    ]
    val_rows = [(source.inputs[i], scaled[i]) for i in split.val]
    target_rows = [(x, None) for x in target.inputs]
    streams = {
        SOURCE: ResumableLoader(
            EpochBatches(train_rows, labelled, train.batch_size, seed=train.seed),
            num_workers=train.num_workers,
        ),
        TARGET: ResumableLoader(
            EpochBatches(target_rows, unlabelled, train.batch_size, seed=train.seed + 1),
            num_workers=train.num_workers,
        ),
    }
    val_batch = max(train.batch_size, 64)
    val_loader = eval_loader(val_rows, labelled, val_batch, seed=train.seed)
    callbacks = []
    monitor = "val_loss"
    if config.selection == "dev":
        callbacks.append(DevValidation(eval_loader(val_rows, labelled, val_batch, seed=train.seed)))
        monitor = "val_dev"
    module = TaskModule(model, objective, train, groups)
    result = fit(module, streams, val_loader, train, out, resume=resume, callbacks=callbacks, monitor=monitor)
    if not result.is_global_zero:
        return AdaptResult(out, None, model, is_global_zero=False)

    # 5. predictions and metrics in the user's units
    model.eval()
    meta = make_meta(
        kind=loaded.kind,
        task="regression",
        target=target_name,
        targets=[target_name],
        target_mean=[mean],
        target_std=[std],
        classes=None,
        strategy=strategy.to_dict(),
        source=str(model_dir),
        max_length=config.max_length,
        dataset=source.name,
        units=source.info.get("units"),
        adapted_to=target.name,
        adapt_method=config.method,
    )
    source_preds = to_user_units(
        forward_outputs(model, loaded.tokenizer, source.inputs, config.max_length)[0], meta
    )[:, 0]
    target_preds = to_user_units(
        forward_outputs(model, loaded.tokenizer, target.inputs, config.max_length)[0], meta
    )[:, 0]
    source_scores = {
        side: regression_metrics(source_values[idx], source_preds[idx])
        for side, idx in split.sides().items()
        if len(idx)
    }
    evaluated = np.setdiff1d(np.arange(len(target)), labelled_target)
    target_scores = None
    if config.evaluate:
        rows = evaluated[np.isfinite(target_values[evaluated])]
        target_scores = regression_metrics(target_values[rows], target_preds[rows]) if len(rows) else None
        target_scores = None if target_scores is None else {**target_scores, "n": int(len(rows))}
    overlap = len(set(target.inputs) & set(source.inputs))
    metrics = {
        "method": config.method,
        "selection": config.selection,
        "seed": train.seed,
        "n_source_train": int(len(split.train)),
        "n_source_val": int(len(split.val)),
        "n_source_test": int(len(split.test)),
        "n_target": int(len(target)),
        "n_target_labelled": int(len(labelled_target)),
        "n_target_in_source": int(overlap),
        "source": {"val": source_scores.get("val"), "test": source_scores.get("test")},
        "target": target_scores,
        **result.metrics(),
        "selected_by": monitor,  # best_val_loss is this number (val_dev: the DEV estimate)
        "domain_weight": config.domain_weight,
        "trainable_params": int(trainable_parameter_count(model)),
        "total_params": int(total_parameter_count(model)),
        "domain_classifier_params": int(sum(p.numel() for p in objective.parameters())),
        "source_dataset": source.name,
        "target_dataset": target.name,
        "target_col": target_name,
        "units": source.info.get("units"),
        "target_mean": mean,
        "target_std": std,
        "model_source": str(model_dir),
        "strategy": strategy.name,
    }

    # 6. the run directory, itself a model directory
    import pandas as pd

    from chemtl.atomic import atomic_open, write_json

    save_model_dir(out, lambda d: save_finetuned(model, d, strategy), loaded.tokenizer, meta)
    if config.diagnostics:
        after = domain_gap_numbers(out, [source.inputs[i] for i in split.train], list(target.inputs), config)
        metrics["domain_gap"] = {"before": gap_before, "after": after}
    sides = np.full(len(source), "", dtype=object)
    for side, idx in split.sides().items():
        sides[idx] = side
    target_sides = np.full(len(target), "target", dtype=object)
    target_sides[labelled_target] = "target_train"
    shown = target_values if target_values is not None else np.full(len(target), np.nan)
    table = pd.DataFrame(
        {
            "domain": ["source"] * len(source) + ["target"] * len(target),
            "row": np.concatenate([np.arange(len(source)), np.arange(len(target))]),
            "split": np.concatenate([sides, target_sides]),
            "input": list(source.inputs) + list(target.inputs),
            "target": np.concatenate([source_values, shown]),
            "prediction": np.concatenate([source_preds, target_preds]),
        }
    )
    with atomic_open(out / "predictions.csv", "w", encoding="utf-8", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.10g")
    write_json(out / "metrics.json", metrics)
    manifest = build_manifest(
        kind="adapt",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data={"source": source.info, "target": target.info},
        split=split_record(split),
        model_source=str(Path(loaded.path).resolve()),
        extra={
            "resumed_from_step": result.resumed_from_step,
            "torch_threads": torch.get_num_threads(),
            "target_labelled_rows": [int(i) for i in labelled_target],
        },
    )
    write_json(out / "manifest.json", manifest)
    return AdaptResult(out, metrics, model)
