"""``finetune``: a pretrained model directory + a labelled table -> a fine-tuned model directory.

Flow: check the model directory (safetensors only, tokenizer fits) -> load and check the data
(targets present and finite, two classes or more, enough rows for the split) -> split ->
standardise regression targets on the training rows -> (``TrainConfig.features``) molecule features
of every row, scaled with the training rows' statistics -> property model from the pretrained
weights -> transfer strategy -> parameter groups (head lr, layer-wise decay) -> the training
engine (early stopping on validation loss, best weights restored, atomic checkpoints, resume,
DDP) -> predictions and metrics in the user's units -> the run directory, which is itself a
model directory.

Files written into ``out_dir`` (rank 0 only):

    train_config.json   resolved configs (data, train, strategy, task, model source)
    config.json, model.safetensors, strategy.json [+ adapter files], tokenizer files, chemtl.json
                        (config.json also holds a hybrid head's feature set and scaling)
    metrics.json        see ``METRICS_KEYS``
    predictions.csv     every row: row, split, input, target, prediction [, prob_<class> ...]
                        (split "unselected": a training row left out by ``DataConfig.select``)
    manifest.json       data sha256, split, versions, git commit, command line, times, machine
    logs/metrics.csv    training curves (Lightning CSV logger)
    checkpoints/last.ckpt  the resumable training state (atomic writes)
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError, DataError
from chemtl.training.config import ConfigError, DataConfig, TrainConfig

METRICS_KEYS = (
    "strategy",
    "task",
    "split",
    "seed",
    "n_train",
    "n_val",
    "n_test",
    "test",
    "val",
    "trainable_params",
    "total_params",
    "train_seconds",
    "peak_rss_mb",
    "epochs_run",
    "best_epoch",
)
# metrics.json fields that measure the machine, not the model: they differ between identical runs.
NONDETERMINISTIC_KEYS = ("train_seconds", "peak_rss_mb", "peak_rss_mb_per_rank")
MODEL_KEYS = ("input_ids", "attention_mask", "fractions")


@dataclass
class FinetuneResult:
    """What ``finetune`` returns; on launched DDP ranks other than 0 only ``is_global_zero=False``."""

    out_dir: Path
    metrics: dict[str, Any] | None
    model: Any = None
    is_global_zero: bool = True


# ----------------------------------------------------------------------------------------------
# data


def load_data(data: DataConfig, kind: str):
    """``data.dataset`` loaded as a ``chemtl.data.Dataset`` of ``kind`` inputs."""
    from chemtl.data import load_dataset
    from chemtl.data.dataset import Dataset

    # The data's own kind (given, or from its column name and values), never the model's: reading
    # a SMILES column as formulas would silently succeed ("C1CC" is a formula of carbon).
    ds = load_dataset(
        data.dataset,
        input_col=data.input_col,
        target_col=data.target_col,
        kind=data.kind,
        task=data.task,
        skip_invalid=data.skip_invalid,
    )
    if not isinstance(ds, Dataset):
        raise DataError(f"dataset {data.dataset!r} is an unlabelled corpus, not a table to fine-tune on")
    if ds.kind != kind:
        raise DataError(
            f"dataset {data.dataset!r} holds {ds.kind} inputs but the model reads {kind} inputs"
            + ("" if data.kind else f" (pass --kind {kind} if the column really holds {kind} strings)")
        )
    return ds


def check_targets(ds, task: str, target_name: str) -> None:
    """One-line errors for tables that cannot be learnt from: no targets, NaN, a single class."""
    if ds.targets is None or ds.task == "unlabelled":
        raise DataError(f"dataset {ds.name!r} has no target column; name one with --target")
    targets = np.asarray(ds.targets)
    if task == "regression":
        values = targets.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise DataError(
                f"target column {target_name!r} of {ds.name!r} has {len(bad)} NaN or infinite value(s) "
                f"(first at data row {bad[0] + 1}); drop those rows or pass --skip-invalid"
            )
    else:
        present = np.unique(targets)
        if len(present) < 2:
            names, _ = class_indices(ds)
            raise DataError(
                f"classification target {target_name!r} of {ds.name!r} has one class ({names[0]!r}); "
                "it needs at least two"
            )


def class_indices(ds) -> tuple[list[str], np.ndarray]:
    """Class names and each row's class index (0..K-1).

    Named datasets give targets as indices into ``ds.classes``; files with numeric labels give
    the label values themselves (``classes`` then lists them as strings): both map here.
    """
    targets = np.asarray(ds.targets).astype(np.int64)
    names = list(ds.classes) if ds.classes else []
    if names and targets.min() >= 0 and targets.max() < len(names):
        return names, targets
    values = np.unique(targets)
    if names and all(str(int(v)) in names for v in values):
        lookup = {int(v): names.index(str(int(v))) for v in values}
    else:
        names = [str(int(v)) for v in values]
        lookup = {int(v): i for i, v in enumerate(values)}
    return names, np.asarray([lookup[int(t)] for t in targets], dtype=np.int64)


def resolve_split(ds, data: DataConfig):
    """The ``Split`` the config names, with validation rows carved from train when it has none."""
    from chemtl.data.splits import Split, load_split, make_split

    if data.split_file is not None:
        split = load_split(data.split_file, inputs=ds.inputs)
    else:
        params = dict(data.split_params)
        if data.split not in ("matbench", "shipped"):
            params.setdefault("seed", data.split_seed)
        split = make_split(ds, data.split, **params)
    if isinstance(split, list):
        fold = 0 if data.fold is None else data.fold
        if not 0 <= fold < len(split):
            raise ChemtlError(
                f"fold {fold} does not exist: split {data.split!r} has folds 0 to {len(split) - 1}"
            )
        split = split[fold]
    elif data.fold is not None and data.fold != 0:
        raise ChemtlError(f"--fold {data.fold} needs a k-fold split (matbench, kfold), not {data.split!r}")
    if len(split.val) == 0 and data.val_frac > 0 and len(split.train) > 1:
        rng = np.random.default_rng(data.split_seed)
        n_val = max(1, round(data.val_frac * len(split.train)))
        chosen = np.sort(rng.choice(split.train, size=n_val, replace=False))
        split = Split(
            method=split.method,
            train=np.setdiff1d(split.train, chosen),
            val=chosen,
            test=split.test,
            n=split.n,
            seed=split.seed,
            params={**split.params, "val_frac": data.val_frac, "val_seed": data.split_seed},
            leakage=split.leakage,
            fold=split.fold,
        )
    return split


def check_split_sizes(ds, split, need_val: bool) -> None:
    sizes = split.sizes
    short = [side for side, need in (("train", 2), ("test", 1)) if sizes[side] < need]
    if need_val and sizes["val"] < 1:
        short.append("val")
    if short:
        raise DataError(
            f"dataset {ds.name!r} has {len(ds)} rows, too few for split {split.method!r}: "
            f"train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']} "
            f"(needs at least 2 train, {'1 val, ' if need_val else ''}1 test)"
        )


def select_training_rows(ds, split, data: DataConfig, model_dir) -> tuple[Any, dict[str, Any] | None]:
    """``split`` with its training side cut to the ``data.select_n`` rows that ``data.select``
    chooses (k-means on ``model_dir``'s embeddings of the training rows, or random; seed
    ``data.split_seed``), and a record of them (method, n, seed, the chosen dataset rows);
    ``(split, None)`` when the config selects nothing. Validation and test are untouched."""
    from chemtl.data.splits import Split
    from chemtl.transfer.fewshot.support import select_rows

    if data.select is None:
        return split, None
    n_train = len(split.train)
    if data.select_n > n_train:
        raise DataError(
            f"--n {data.select_n} is more than the {n_train} training rows of split {split.method!r} "
            f"of {ds.name!r}"
        )
    embeddings = None
    if data.select == "kmeans":
        from chemtl.pipelines.predict import embed

        embeddings = embed(model_dir, [ds.inputs[i] for i in split.train], max_length=data.max_length)
    picked = select_rows(data.select, data.select_n, n=n_train, embeddings=embeddings, seed=data.split_seed)
    chosen = split.train[picked]  # dataset rows, in selection order
    selected = Split(
        method=split.method,
        train=np.sort(chosen),
        val=split.val,
        test=split.test,
        n=split.n,
        seed=split.seed,
        params={**split.params, "select": data.select, "select_n": data.select_n},
        leakage=split.leakage,
        fold=split.fold,
    )
    record = {
        "method": data.select,
        "n": int(data.select_n),
        "seed": data.split_seed,
        "from_train_rows": int(n_train),
        "rows": [int(i) for i in chosen],
    }
    return selected, record


def split_record(split) -> dict[str, Any]:
    from chemtl.training.manifest import indices_sha256

    return {
        "method": split.method,
        "fold": split.fold,
        "seed": split.seed,
        "params": split.params,
        "sizes": split.sizes,
        "indices_sha256": indices_sha256(split.train, split.val, split.test),
        "leakage": None if split.leakage is None else split.leakage.to_dict(),
    }


# ----------------------------------------------------------------------------------------------
# batches


class PropertyCollate:
    """(input, target) rows -> model batch; targets already standardised (regression) or class ids.
    (input, target, features) rows add ``features`` (B, F): each row's scaled molecule features
    (``model_features``), for a model with ``extra_features``.

    ``augmentation`` (a ``chemtl.data.augment.TrainingAugmentation``, training batches only)
    varies each batch with noise drawn from the batch's ``seed``: randomised SMILES before
    tokenising, jittered fractions after.
    """

    def __init__(self, tokenizer: Any, max_length: int, task: str | None, augmentation: Any = None) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.task = task
        self.augmentation = augmentation

    def encode(self, strings: list[str]) -> dict[str, Any]:
        import torch

        enc = self.tokenizer(
            strings, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        batch = {k: torch.as_tensor(enc[k]) for k in MODEL_KEYS if k in enc}
        if "fractions" in batch:
            batch["fractions"] = batch["fractions"].float()
        return batch

    def __call__(self, rows: list[tuple], seed: int = 0) -> dict[str, Any]:
        import torch

        strings = [r[0] for r in rows]
        if self.augmentation is None:
            batch = self.encode(strings)
        else:
            batch = self.augmentation.batch(self.encode(self.augmentation.strings(strings, seed)), seed)
        if rows and len(rows[0]) > 2:  # (input, target, features): the molecule's own, augmented or not
            batch["features"] = torch.from_numpy(np.stack([r[2] for r in rows]).astype(np.float32))
        if self.task == "classification":
            batch["labels"] = torch.tensor([int(r[1]) for r in rows], dtype=torch.long)
        elif self.task == "regression":  # (B,) or (B, T) with NaN for a missing target
            batch["labels"] = torch.tensor([r[1] for r in rows], dtype=torch.float32)
        return batch


def training_loaders(
    train_rows: list,
    val_rows: list,
    tokenizer: Any,
    max_length: int,
    task: str,
    train: TrainConfig,
    augmentation: Any = None,
):
    """The resumable training loader (batches of ``train.batch_size``, ``augmentation`` applied)
    and the validation loader (never augmented; None without validation rows)."""
    from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader

    train_loader = ResumableLoader(
        EpochBatches(
            train_rows,
            PropertyCollate(tokenizer, max_length, task, augmentation),
            train.batch_size,
            seed=train.seed,
        ),
        num_workers=train.num_workers,
    )
    collate = PropertyCollate(tokenizer, max_length, task)
    val_loader = (
        eval_loader(val_rows, collate, max(train.batch_size, 64), seed=train.seed) if val_rows else None
    )
    return train_loader, val_loader


def forward_outputs(
    model,
    tokenizer,
    inputs: list[str],
    max_length: int,
    batch_size: int = 256,
    mc_dropout: int = 0,
    seed: int = 0,
    with_log_std: bool = False,
    features: np.ndarray | None = None,
):
    """Raw head outputs (N, num_labels) for ``inputs``, in eval mode; with ``mc_dropout=K`` also
    K stochastic passes with dropout on, stacked (K, N, num_labels). ``with_log_std``: a third
    value, the predicted log standard deviations (N, num_labels) of a robust-l1 model (else None).
    A model with ``extra_features`` gets ``features`` (N, F), scaled, or else ``model_features``
    of ``inputs`` (the transform stored in its config)."""
    import torch

    from chemtl.training.seeding import derive_seed

    if features is None:
        features = model_features(getattr(model, "config", None), inputs)
    collate = PropertyCollate(tokenizer, max_length, None)

    def encode(i: int) -> dict[str, Any]:  # the batch of inputs i .. i + batch_size
        batch = collate.encode(inputs[i : i + batch_size])
        if features is not None:
            batch["features"] = torch.from_numpy(np.asarray(features[i : i + batch_size], dtype=np.float32))
        return batch

    outs, samples, log_stds = [], [], []
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()
            for i in range(0, len(inputs), batch_size):
                out = model(**encode(i), return_dict=True)
                outs.append(out.logits.float())
                if with_log_std and getattr(out, "log_std", None) is not None:
                    log_stds.append(out.log_std.float())
            if mc_dropout:
                model.train()
                gen_state = torch.random.get_rng_state()
                for k in range(mc_dropout):
                    torch.manual_seed(derive_seed(seed, "mc-dropout", k))
                    passes = []
                    for i in range(0, len(inputs), batch_size):
                        passes.append(model(**encode(i), return_dict=True).logits.float())
                    samples.append(torch.cat(passes))
                torch.random.set_rng_state(gen_state)
    finally:
        model.train(was_training)
    logits = torch.cat(outs).numpy()
    stacked = torch.stack(samples).numpy() if samples else None
    if with_log_std:
        return logits, stacked, (torch.cat(log_stds).numpy() if log_stds else None)
    return logits, stacked


def fit_features(feature_set: str, kind: str, inputs: list[str], train_rows) -> tuple[np.ndarray, dict]:
    """The hybrid head's features of every row of ``inputs`` (N, F) float32, scaled, and the model
    config fields that carry the transform (``extra_features`` ...; see ``ChemtlConfig``): rdkit
    descriptors standardised with the mean and std of the ``train_rows`` rows only (a missing value
    becomes 0, the training mean), Morgan bits unscaled."""
    from chemtl.data.features import FeatureScaling, molecule_features, rdkit_descriptor_names

    names = rdkit_descriptor_names() if feature_set == "rdkit" else None
    raw = molecule_features(inputs, kind, feature_set, names)
    fields: dict[str, Any] = {
        "extra_features": feature_set,
        "extra_features_dim": int(raw.shape[1]),
        "extra_feature_names": names,
        "extra_feature_mean": None,
        "extra_feature_std": None,
    }
    if feature_set == "morgan":
        return FeatureScaling.identity(raw.shape[1]).transform(raw), fields
    scaling = FeatureScaling.fit(raw[np.asarray(train_rows)])
    fields["extra_feature_mean"] = scaling.mean.tolist()
    fields["extra_feature_std"] = scaling.std.tolist()
    return scaling.transform(raw), fields


def model_features(config, inputs: list[str]) -> np.ndarray | None:
    """(N, F) float32 features of ``inputs`` for a model whose ``config`` has ``extra_features``,
    with the transform its config stores (what ``fit_features`` fitted); None for other models."""
    if config is None or getattr(config, "extra_features", None) is None:
        return None
    from chemtl.data.features import FeatureScaling, molecule_features

    raw = molecule_features(inputs, config.kind, config.extra_features, config.extra_feature_names)
    if config.extra_feature_mean is None:
        scaling = FeatureScaling.identity(raw.shape[1])
    else:
        scaling = FeatureScaling(
            np.asarray(config.extra_feature_mean, dtype=np.float64),
            np.asarray(config.extra_feature_std, dtype=np.float64),
        )
    return scaling.transform(raw)


NO_FEATURES = {
    "extra_features": None,
    "extra_features_dim": 0,
    "extra_feature_names": None,
    "extra_feature_mean": None,
    "extra_feature_std": None,
}


def head_options(train: TrainConfig, task: str, mean, std, features: dict | None = None) -> dict[str, Any]:
    """The property model's head settings from ``train``: its ``head_type``, the extra-feature
    fields (``features``, from ``fit_features``, when ``train.features`` asks for them; else none,
    also over a source model that had some) and (regression only) ``regression_loss``,
    ``output_gate`` and ``gate_zero`` (0 in standardised units, per target)."""
    if train.features != "none" and features is None:
        raise ChemtlError(
            f"--features {train.features} is for chemtl finetune and compare; this run cannot add them"
        )
    head = {"head_type": train.head}  # always: a pooled run from an elementwise one resets it
    head.update(NO_FEATURES if features is None else features)
    if task != "regression":
        for name, value, default in (("loss", train.loss, "mse"), ("output_gate", train.output_gate, False)):
            if value != default:
                raise ChemtlError(f"{name} {value!r} needs a regression target; this one is {task}")
        return head
    means = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    stds = np.atleast_1d(np.asarray(std, dtype=np.float64))
    return {
        **head,
        "regression_loss": train.loss,
        "output_gate": train.output_gate,
        "gate_zero": (-means / stds).tolist() if train.output_gate else None,
    }


def std_calibration(targets: np.ndarray, preds: np.ndarray, stds: np.ndarray) -> dict[str, float]:
    """How a robust-l1 model's predicted standard deviations relate to its errors on some rows:
    their mean, the RMSE they would imply against the measured RMSE, and the Spearman correlation
    of predicted std with absolute error (above 0: the rows it is unsure of are the worse ones)."""
    from scipy.stats import spearmanr

    err = np.abs(np.asarray(targets, dtype=np.float64) - preds)
    rho = spearmanr(stds, err).statistic if np.ptp(stds) > 0 and np.ptp(err) > 0 else float("nan")
    return {
        "mean_std": float(np.mean(stds)),
        "implied_rmse": float(np.sqrt(np.mean(stds**2))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "spearman_std_abs_error": float(rho),
    }


def to_user_units(logits: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """Regression head outputs -> the user's units (undo the standardisation)."""
    mean = np.asarray(meta["target_mean"], dtype=np.float64)
    std = np.asarray(meta["target_std"], dtype=np.float64)
    return logits.astype(np.float64) * std + mean


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------------------------
# the run


def _configs_record(
    data: DataConfig, train: TrainConfig, strategy, task: str, model_dir: str, batch_size_auto: bool = False
) -> dict[str, Any]:
    """The resolved configs (``train.batch_size`` the number trained with; ``batch_size_auto``
    recorded when it came from ``--batch-size auto``)."""
    record = {
        "run": "finetune",
        "model_source": str(model_dir),
        "task": task,
        "data": data.to_dict(),
        "train": train.to_dict(),
        "strategy": strategy.to_dict(),
    }
    if batch_size_auto:
        record["batch_size_auto"] = True
    return record


def training_augmentation(data: DataConfig, kind: str, tokenizer: Any):
    """The ``TrainingAugmentation`` that ``data.augment`` means for ``kind`` inputs, or None."""
    from chemtl.data.augment import TrainingAugmentation
    from chemtl.training.config import ConfigError, resolve_augment

    method = resolve_augment(data.augment, kind)
    if method == "none":
        return None
    if method == "jitter" and "fractions" not in getattr(tokenizer, "model_input_names", ()):
        raise ConfigError(f"augment {data.augment!r} jitters fractions; this model's tokenizer has none")
    return TrainingAugmentation(method, kind, data.jitter)


def finetune(
    model_dir: str | Path,
    data: DataConfig,
    train: TrainConfig,
    strategy,
    out_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    dataset=None,
    command: list[str] | None = None,
) -> FinetuneResult:
    """Fine-tune the model in ``model_dir`` on ``data`` with ``strategy`` (a ``StrategyConfig``).

    ``dataset`` (a ``chemtl.data.Dataset``) replaces loading ``data.dataset``. Returns the metrics
    (also written to ``out_dir/metrics.json``) and the trained model.
    """
    import torch

    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.pipelines.modeldir import load_model_dir, make_meta, quiet_transformers, save_model_dir
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import fit
    from chemtl.training.manifest import build_manifest, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.objectives import ModelLoss
    from chemtl.training.seeding import seed_run
    from chemtl.transfer import (
        apply_strategy,
        parameter_groups,
        save_finetuned,
        set_train_mode,
        total_parameter_count,
        trainable_parameter_count,
    )

    started = now_iso()
    out = Path(out_dir)
    quiet_transformers()
    seed_run(train.seed, train.deterministic)

    # 1. the model directory: safetensors only, a tokenizer that fits, before any data work
    source = load_model_dir(model_dir)
    tokenizer = source.tokenizer
    if train.features != "none" and source.kind == "composition":
        raise ConfigError(
            f"--features {train.features} needs a SMILES or SELFIES model; {str(model_dir)!r} reads compositions"
        )

    # 2. data, task, split
    ds = dataset if dataset is not None else load_data(data, source.kind)
    if ds.kind != source.kind:
        raise DataError(
            f"dataset {ds.name!r} holds {ds.kind} inputs but the model in {str(model_dir)!r} reads {source.kind}"
        )
    task = data.task or ds.task
    if task not in ("regression", "classification"):
        raise DataError(f"dataset {ds.name!r} has no target column; name one with --target")
    target_name = data.target_col or ds.info.get("target_col") or "target"
    check_targets(ds, task, target_name)
    split = resolve_split(ds, data)
    check_split_sizes(ds, split, need_val=train.patience is not None)
    unselected = split.train
    split, selection = select_training_rows(ds, split, data, model_dir)
    unselected = np.setdiff1d(unselected, split.train)
    batch_size_auto = train.batch_size == "auto"
    train = train.for_rows(int(len(split.train)))  # --batch-size auto: CrabNet's rule, from n_train
    augmentation = training_augmentation(data, source.kind, tokenizer)
    targets = np.asarray(ds.targets)
    if task == "classification":
        classes, targets = class_indices(ds)
        present = np.unique(targets[split.train])
        if len(present) < 2:
            raise DataError(
                f"classification target {target_name!r}: the training rows of split {split.method!r} hold "
                f"one class ({classes[int(present[0])]!r}); it needs at least two"
                + (
                    f" (the {selection['n']} rows --select {selection['method']} chose; try another --n or --split-seed)"
                    if selection
                    else ""
                )
            )
        num_labels, problem_type = len(classes), "single_label_classification"
        mean = std = None
        scaled = targets
    else:
        classes = None
        num_labels, problem_type = 1, "regression"
        mean = float(np.mean(targets[split.train]))
        std = float(np.std(targets[split.train]))
        std = std if std > 0 and math.isfinite(std) else 1.0
        scaled = (targets.astype(np.float64) - mean) / std

    # the hybrid head's features (--features): scaling fitted on the training rows only
    features = feature_fields = None
    if train.features != "none":
        features, feature_fields = fit_features(train.features, source.kind, ds.inputs, split.train)

    # 3. model, strategy, optimiser groups
    model = ChemtlForPropertyPrediction.from_pretrained(
        source.path,
        num_labels=num_labels,
        problem_type=problem_type,
        use_safetensors=True,
        ignore_mismatched_sizes=True,
        **head_options(train, task, mean, std, feature_fields),
    )
    model = apply_strategy(model, strategy)
    set_train_mode(model, strategy, True)
    groups = parameter_groups(model, train.lr, train.head_lr, train.lr_decay, train.weight_decay)

    # 4. claim the output directory, once every option is known to work (rank 0; launched
    #    DDP ranks find it claimed)
    rank0 = global_rank_from_env() == 0
    run_config = _configs_record(data, train, strategy, task, str(model_dir), batch_size_auto)
    if rank0:
        prepare_run_dir(out, run_config, resume=resume, overwrite=overwrite)

    # 5. train
    rows = list(zip(ds.inputs, scaled.tolist()))
    if features is not None:
        rows = [(x, y, f) for (x, y), f in zip(rows, features, strict=True)]
    train_loader, val_loader = training_loaders(
        [rows[i] for i in split.train],
        [rows[i] for i in split.val],
        tokenizer,
        data.max_length,
        task,
        train,
        augmentation,
    )
    module = TaskModule(model, ModelLoss(), train, groups)
    result = fit(module, train_loader, val_loader, train, out, resume=resume)
    if not result.is_global_zero:
        return FinetuneResult(out, None, model, is_global_zero=False)

    # 6. predictions and metrics in the user's units
    from chemtl.evaluate.metrics import classification_metrics, regression_metrics

    model.eval()
    meta = make_meta(
        kind=source.kind,
        task=task,
        target=target_name,
        targets=[target_name],
        target_mean=None if mean is None else [mean],
        target_std=None if std is None else [std],
        classes=classes,
        strategy=strategy.to_dict(),
        source=str(model_dir),
        max_length=data.max_length,
        dataset=ds.name,
        units=ds.info.get("units"),
    )
    logits, _, log_std = forward_outputs(
        model, tokenizer, ds.inputs, data.max_length, with_log_std=True, features=features
    )
    sides = np.full(len(ds), "", dtype=object)
    for side, idx in split.sides().items():
        sides[idx] = side
    sides[unselected] = "unselected"  # training rows left out by --select
    pred_cols: dict[str, Any] = {}
    if task == "regression":
        preds = to_user_units(logits, meta)[:, 0]
        pred_cols["prediction"] = preds
        if log_std is not None:  # robust-l1: each row's predicted standard deviation, user units
            pred_cols["predicted_std"] = np.exp(log_std[:, 0].astype(np.float64)) * std
        score = {
            s: regression_metrics(targets[idx], preds[idx]) for s, idx in split.sides().items() if len(idx)
        }
        target_col_values = targets.astype(np.float64)
    else:
        proba = softmax(logits.astype(np.float64))
        pred_cols["prediction"] = [classes[i] for i in proba.argmax(axis=1)]
        for j, name in enumerate(classes):
            pred_cols[f"prob_{name}"] = proba[:, j]
        score = {
            s: classification_metrics(targets[idx], proba[idx])
            for s, idx in split.sides().items()
            if len(idx)
        }
        target_col_values = [classes[int(t)] for t in targets]

    metrics = {
        "strategy": strategy.name,
        "task": task,
        "split": {
            k: v
            for k, v in split_record(split).items()
            if k in ("method", "fold", "seed", "params", "indices_sha256")
        },
        "seed": train.seed,
        "batch_size": int(train.batch_size),
        "augment": "none" if augmentation is None else augmentation.method,
        "n_train": int(len(split.train)),
        "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "test": score.get("test"),
        "val": score.get("val"),
        "train": score.get("train"),
        "trainable_params": int(trainable_parameter_count(model)),
        "total_params": int(total_parameter_count(model)),
        **result.metrics(),
        "dataset": ds.name,
        "target": target_name,
        "units": ds.info.get("units"),
        "model_source": str(model_dir),
    }
    if train.head != "pooled":
        metrics["head"] = train.head
    if feature_fields is not None:
        metrics["features"] = train.features
        metrics["n_features"] = feature_fields["extra_features_dim"]
    if task == "regression":
        metrics["target_mean"], metrics["target_std"] = mean, std
        metrics["loss"], metrics["output_gate"] = train.loss, train.output_gate
        if "predicted_std" in pred_cols and len(split.test) > 1:
            metrics["test_predicted_std"] = std_calibration(
                targets[split.test], preds[split.test], pred_cols["predicted_std"][split.test]
            )
    if selection is not None:
        metrics["selection"] = {k: v for k, v in selection.items() if k != "rows"}

    # 7. the run directory, itself a model directory
    import pandas as pd

    from chemtl.atomic import atomic_open, write_json

    save_model_dir(out, lambda d: save_finetuned(model, d, strategy), tokenizer, meta)
    table = pd.DataFrame(
        {
            "row": np.arange(len(ds)),
            "split": sides,
            "input": ds.inputs,
            "target": target_col_values,
            **pred_cols,
        }
    )
    with atomic_open(out / "predictions.csv", "w", encoding="utf-8", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.10g")
    write_json(out / "metrics.json", metrics)
    manifest = build_manifest(
        kind="finetune",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data=ds.info,
        split=split_record(split),
        model_source=str(Path(model_dir).resolve()),
        extra={
            "resumed_from_step": result.resumed_from_step,
            "torch_threads": torch.get_num_threads(),
            **({"selection": selection} if selection is not None else {}),
        },
    )
    write_json(out / "manifest.json", manifest)
    return FinetuneResult(out, metrics, model)
