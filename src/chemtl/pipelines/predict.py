"""``predict`` and ``embed``: use a model directory on new inputs.

``predict(model_dirs, inputs)`` -> a table of predictions in the user's units (class labels and
probabilities for classification). ``prediction`` (and ``prob_<class>``) is always the eval-mode
forward pass (dropout off); for an ensemble (several fine-tuned directories, e.g. one per seed)
it is the mean of the members' eval-mode predictions (regression values, or class
probabilities whose argmax is the label). It is never replaced by a dropout mean.

``uncertainty``, when asked for:

- ``mc_dropout=K`` (K >= 2): K stochastic passes per member with dropout on; for regression the
  standard deviation (ddof=0) of all passes of all members, in the target's units; for
  classification the entropy (nats) of the mean of those passes' class probabilities.
- an ensemble without MC dropout: the same over the members' eval-mode predictions (the std
  of the members' values; the entropy of the mean member probabilities).

``predicted_std``: a model fine-tuned with the robust-l1 loss predicts each row's standard
deviation itself (its aleatoric uncertainty, in the target's units; for an ensemble the mean over
the members, all of which must be robust-l1 models). It needs no extra passes and is reported
beside ``uncertainty``, never instead of it.

``predict_table(model_dirs, data)`` reads a dataset or a user's csv and returns the table
``chemtl predict`` writes: every column of the file that is not the input, in file order (ids,
names, anything else), then ``input``, ``target`` (the model's target column when the file has
it and its values fit the model's task: numbers for regression, the model's class labels for
classification; otherwise that column stays a plain column under its own name), then the
prediction columns. ``input``, ``target``, ``prediction``, ``prob_<class>`` are named as in
``predictions.csv`` of ``chemtl finetune``.

``embed(model_dir, inputs)`` -> (N, d) pooled encoder embeddings (of the fine-tuned encoder for a
fine-tuned directory); ``plot_embedding`` draws their first two principal components coloured by
a target.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError


class NotAPredictorError(ChemtlError):
    """A model directory without a property head (a pretrained encoder) given to ``predict``."""


def _load_finetuned(model_dir: str | os.PathLike):
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import STRATEGY_FILE, load_finetuned

    quiet_transformers()
    loaded = load_model_dir(model_dir)
    if loaded.task not in ("regression", "classification") or not (loaded.path / STRATEGY_FILE).is_file():
        raise NotAPredictorError(
            f"{str(model_dir)!r} is a pretrained encoder without a property head; fine-tune it first "
            "(chemtl finetune --model ...)"
        )
    model, _ = load_finetuned(loaded.path)
    return model, loaded


def predict(
    model_dirs: str | os.PathLike | list[str | os.PathLike],
    inputs: list[str],
    *,
    mc_dropout: int = 0,
    batch_size: int = 256,
    seed: int = 0,
    max_length: int | None = None,
):
    """Predict ``inputs`` with one model directory or an ensemble of them; returns a DataFrame
    with ``input``, ``prediction`` [, ``prob_<class>`` ...] [, ``uncertainty``] (see the module
    docstring: the prediction is the eval-mode one, the uncertainty the ensemble/dropout spread)."""
    import pandas as pd

    from chemtl.pipelines.finetune import forward_outputs, softmax, to_user_units

    dirs = [model_dirs] if isinstance(model_dirs, str | os.PathLike) else list(model_dirs)
    if not dirs:
        raise ChemtlError("predict needs at least one model directory")
    if mc_dropout < 0 or mc_dropout == 1:
        raise ChemtlError(f"mc_dropout must be 0 (off) or at least 2 passes, got {mc_dropout}")
    evals: list[np.ndarray] = []  # per member (N, L): user units (regression) or probabilities
    passes: list[np.ndarray] = []  # every dropout pass of every member, the same shapes
    stds: list[np.ndarray] = []  # per robust-l1 member (N, L): its predicted std, user units
    first_meta: dict[str, Any] | None = None
    for d in dirs:
        model, loaded = _load_finetuned(d)
        meta = loaded.meta
        if first_meta is None:
            first_meta = meta
        elif (meta.get("task"), meta.get("kind"), meta.get("classes")) != (
            first_meta.get("task"),
            first_meta.get("kind"),
            first_meta.get("classes"),
        ):
            raise ChemtlError(
                f"{str(d)!r} predicts a different task, kind or class set than {str(dirs[0])!r}"
            )
        length = max_length or meta.get("max_length", 256)
        logits, samples, log_std = forward_outputs(
            model, loaded.tokenizer, inputs, length, batch_size, mc_dropout, seed, with_log_std=True
        )
        if log_std is not None and meta["task"] == "regression":  # robust-l1: the model's own std
            stds.append(np.exp(log_std.astype(np.float64)) * np.asarray(meta["target_std"], dtype=np.float64))

        def units(raw: np.ndarray, meta=meta) -> np.ndarray:
            return (
                to_user_units(raw, meta) if meta["task"] == "regression" else softmax(raw.astype(np.float64))
            )

        evals.append(units(logits))
        passes.extend(units(x) for x in ([] if samples is None else samples))
    assert first_meta is not None
    table: dict[str, Any] = {"input": list(inputs)}
    mean = np.stack(evals).mean(axis=0)  # (N, L): the point prediction
    spread = np.stack(passes) if passes else np.stack(evals) if len(evals) > 1 else None  # (M, N, L)
    own = np.stack(stds).mean(axis=0) if len(stds) == len(evals) else None  # (N, L), every member robust
    if first_meta["task"] == "regression" and mean.shape[1] == 1:
        table["prediction"] = mean[:, 0]
        if spread is not None:
            table["uncertainty"] = spread[:, :, 0].std(axis=0)
        if own is not None:
            table["predicted_std"] = own[:, 0]
    elif first_meta["task"] == "regression":  # multi-task: one column per target
        for j, name in enumerate(first_meta.get("targets") or range(mean.shape[1])):
            table[f"prediction_{name}"] = mean[:, j]
            if spread is not None:
                table[f"uncertainty_{name}"] = spread[:, :, j].std(axis=0)
            if own is not None:
                table[f"predicted_std_{name}"] = own[:, j]
    else:
        classes = first_meta["classes"]
        table["prediction"] = [classes[i] for i in mean.argmax(axis=1)]
        for j, name in enumerate(classes):
            table[f"prob_{name}"] = mean[:, j]
        if spread is not None:
            p = spread.mean(axis=0)
            table["uncertainty"] = -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=1)
    return pd.DataFrame(table)


@dataclass
class PredictTable:
    """What ``predict_table`` returns: the table to write, the rows read, and notes for the user."""

    table: Any  # pandas.DataFrame
    dataset: Any  # chemtl.data.Dataset (the rows kept, in file order)
    notes: list[str] = field(default_factory=list)


def load_table(
    data: str | os.PathLike,
    *,
    model_kind: str,
    input_col: str | None = None,
    target_col: str | None = None,
    kind: str | None = None,
    canonical: bool = False,
    skip_invalid: bool = False,
    skipped_path: str | os.PathLike | None = None,
    limit: int | None = None,
):
    """The rows of ``data`` to run a model of ``model_kind`` on, and their other columns as text.

    Returns ``(dataset, columns)``: ``columns`` maps every column that is not the input (file
    order; for a registered dataset its ``target`` and extra columns) to its cells as text, one
    per kept row. A user's file is read inputs-only (``task="unlabelled"``), so a target column
    of any content (text class labels, gaps) never stops the read. The inputs' kind is the
    data's own (``kind``, or from the column name and values), which must be ``model_kind``.
    """
    from chemtl.data import load_dataset
    from chemtl.data.dataset import DEFAULT_INPUT_COL, Dataset
    from chemtl.data.registry import is_registered
    from chemtl.errors import DataError

    text = os.fspath(data)
    named = is_registered(text) and not Path(text).is_file()
    common = dict(
        input_col=input_col,
        kind=kind,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=skipped_path,
        limit=limit,
    )
    if named:
        ds = load_dataset(text, target_col=target_col, **common)
    else:
        ds = load_dataset(text, target_col=target_col, task="unlabelled", keep_columns=True, **common)
    if not isinstance(ds, Dataset):
        raise DataError(f"{text!r} is a streamed corpus, not a table (pass --limit N for its first rows)")
    if ds.kind != model_kind:
        where = f"dataset {text!r}" if named else text
        raise DataError(
            f"{where} holds {ds.kind} inputs but the model reads {model_kind} inputs"
            + ("" if kind else f" (pass --kind {model_kind} if the column really holds {model_kind} strings)")
        )
    if named:
        columns = ds.columns()
        columns.pop(DEFAULT_INPUT_COL[ds.kind])
        columns = {k: [str(v) for v in col] for k, col in columns.items()}
    else:
        columns = dict(ds.extra)
    return ds, columns


def _known_target(values: list[str], meta: dict[str, Any]) -> list | None:
    """``values`` (text) as the model's target, or None when they do not fit its task: finite
    numbers for a (single-target) regression model, its class labels for a classifier; empty
    or missing cells are allowed (NaN / "")."""
    from chemtl.data.dataset import MISSING_TARGETS

    present = [v.strip() for v in values if v.strip().lower() not in MISSING_TARGETS]
    if meta.get("task") == "classification":
        classes = [str(c) for c in meta.get("classes") or []]
        if not all(v in classes for v in present):
            return None
        return [v.strip() if v.strip().lower() not in MISSING_TARGETS else "" for v in values]
    if meta.get("task") != "regression" or len(meta.get("targets") or [None]) != 1:
        return None
    try:
        numbers = [float(v) if v.strip().lower() not in MISSING_TARGETS else math.nan for v in values]
    except ValueError:
        return None
    if not all(math.isfinite(x) for x in numbers if not math.isnan(x)):
        return None
    return numbers


def predict_table(
    model_dirs: str | os.PathLike | list[str | os.PathLike],
    data: str | os.PathLike,
    *,
    input_col: str | None = None,
    target_col: str | None = None,
    kind: str | None = None,
    canonical: bool = False,
    skip_invalid: bool = False,
    skipped_path: str | os.PathLike | None = None,
    limit: int | None = None,
    mc_dropout: int = 0,
    batch_size: int = 256,
    seed: int = 0,
    max_length: int | None = None,
    tasks: list[str] | None = None,
) -> PredictTable:
    """Predict every row of ``data`` (a registered dataset or a csv file) and keep its other
    columns: see the module docstring for the layout. ``target_col`` names the column with
    known targets (default: the model's target column, when the file has one).

    A prompt bank (``chemtl.pipelines.bank``) as the one model predicts ``tasks`` (default: all
    of its tasks) in one call: ``prediction_<task>`` [, ``prob_<task>_<class>`` ...] per task."""
    import pandas as pd

    from chemtl.errors import DataError
    from chemtl.pipelines.bank import BankError, is_bank, predict_bank, read_bank
    from chemtl.pipelines.modeldir import load_model_dir

    dirs = [model_dirs] if isinstance(model_dirs, str | os.PathLike) else list(model_dirs)
    if not dirs:
        raise ChemtlError("predict needs at least one model directory")
    bank = is_bank(dirs[0])
    if bank:
        if len(dirs) > 1:
            raise BankError(f"bank {str(dirs[0])!r} predicts alone: an ensemble of banks is not supported")
        if mc_dropout:
            raise BankError(f"bank {str(dirs[0])!r}: --mc-dropout is not supported for banks")
        info = read_bank(dirs[0])
        first_meta = {}
        kind_of_model = info["kind"]
    else:
        if tasks is not None:
            raise BankError(
                f"--task needs a bank (a directory with bank.json); {str(dirs[0])!r} is a model directory"
            )
        first = load_model_dir(dirs[0])
        first_meta, kind_of_model = first.meta, first.kind
    ds, columns = load_table(
        data,
        model_kind=kind_of_model,
        input_col=input_col,
        target_col=target_col,
        kind=kind,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=skipped_path,
        limit=limit,
    )
    if bank:
        preds = predict_bank(dirs[0], ds.inputs, tasks=tasks, batch_size=batch_size, max_length=max_length)
    else:
        preds = predict(
            dirs, ds.inputs, mc_dropout=mc_dropout, batch_size=batch_size, seed=seed, max_length=max_length
        )
    notes: list[str] = []
    # a registered dataset's target (its own or --target) is the column ``Dataset.columns`` calls
    # target; a file's is the one named, else the column named as the model's target
    named = ds.info.get("source") == "registry"
    wanted = "target" if named else target_col or first_meta.get("target")
    if bank or len(first_meta.get("targets") or [None]) > 1:  # one prediction column per target
        wanted = None
    target = None
    if wanted is not None and wanted in columns:
        target = _known_target(columns[wanted], first_meta)
        if target is None:
            what = (
                f"the model's classes ({', '.join(map(repr, first_meta.get('classes') or []))})"
                if first_meta.get("task") == "classification"
                else "numbers"
            )
            notes.append(f"column {wanted!r} does not hold {what}; it is copied as a plain column")
        else:
            columns.pop(wanted)
    ours = ["input"] + (["target"] if target is not None else []) + list(preds.columns[1:])
    clash = [c for c in columns if c in ours]
    if clash:
        raise DataError(
            f"{data}: column {clash[0]!r} has the name of a column predict writes; rename it "
            f"(predict writes {', '.join(ours)})"
        )
    out = pd.DataFrame({**columns, "input": preds["input"]})
    if target is not None:
        out["target"] = target
    for col in preds.columns[1:]:
        out[col] = preds[col].to_numpy()
    return PredictTable(out, ds, notes)


def load_encoder(model_dir: str | os.PathLike):
    """The encoder (``ChemtlModel``) of a pretrained or fine-tuned directory, in eval mode, and
    the directory's ``LoadedModel``."""
    from chemtl.models import ChemtlModel
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import STRATEGY_FILE, find_encoder, load_finetuned

    quiet_transformers()
    loaded = load_model_dir(model_dir)  # a shipped model's name or a directory
    if (loaded.path / STRATEGY_FILE).is_file():
        model, _ = load_finetuned(loaded.path)
        encoder = find_encoder(model)[1]
    else:
        encoder = ChemtlModel.from_pretrained(loaded.path, use_safetensors=True)
    return encoder.eval(), loaded


def embed(
    model_dir: str | os.PathLike, inputs: list[str], *, batch_size: int = 256, max_length: int | None = None
) -> np.ndarray:
    """(N, d) float32 pooled embeddings of ``inputs``."""
    import torch

    from chemtl.pipelines.finetune import PropertyCollate

    encoder, loaded = load_encoder(model_dir)
    collate = PropertyCollate(loaded.tokenizer, max_length or loaded.meta.get("max_length", 256), None)
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch_size):
            out.append(
                encoder(**collate.encode(inputs[i : i + batch_size]), return_dict=True).pooler_output.float()
            )
    return torch.cat(out).numpy() if out else np.zeros((0, encoder.config.hidden_size), dtype=np.float32)


def plot_embedding(
    embeddings: np.ndarray,
    path: str | os.PathLike,
    colour: np.ndarray | list | None = None,
    colour_label: str = "target",
    title: str = "",
) -> Path:
    """Scatter the first two principal components of ``embeddings`` into a PNG at ``path``.

    ``colour``: numbers (a colour bar) or labels (a legend); None draws one colour.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    from chemtl.atomic import atomic_open

    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ChemtlError(f"a PCA picture needs at least two embeddings, got {len(x)}")
    n_comp = min(2, x.shape[1], len(x))
    pca = PCA(n_components=n_comp, random_state=0)
    xy = pca.fit_transform(x)
    if n_comp == 1:
        xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    if colour is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=8, alpha=0.7)
    else:
        c = np.asarray(colour)
        if c.dtype.kind in "fiu":
            points = ax.scatter(xy[:, 0], xy[:, 1], c=c.astype(float), s=8, alpha=0.8, cmap="viridis")
            fig.colorbar(points, ax=ax, label=colour_label)
        else:
            for label in sorted(set(c.tolist())):
                sel = c == label
                ax.scatter(xy[sel, 0], xy[sel, 1], s=8, alpha=0.8, label=str(label))
            ax.legend(title=colour_label, fontsize="small")
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of variance)" if len(ratio) > 1 else "PC2")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    target = Path(path)
    with atomic_open(target, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
    return target
