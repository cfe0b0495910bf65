"""``predict`` and ``embed``: use a model directory on new inputs.

``predict(model_dirs, inputs)`` -> a table of predictions in the user's units (class labels and
probabilities for classification). Uncertainty, when asked for, comes from an ensemble (several
fine-tuned directories, e.g. one per seed) and/or MC dropout (``mc_dropout`` stochastic passes
with dropout on): for regression the standard deviation over members and passes, in the
target's units; for classification the entropy (nats) of the mean class probabilities.

``embed(model_dir, inputs)`` -> (N, d) pooled encoder embeddings (of the fine-tuned encoder for a
fine-tuned directory); ``plot_embedding`` draws their first two principal components coloured by
a target.
"""

from __future__ import annotations

import os
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
    if loaded.task not in ("regression", "classification") or not (Path(model_dir) / STRATEGY_FILE).is_file():
        raise NotAPredictorError(
            f"{str(model_dir)!r} is a pretrained encoder without a property head; fine-tune it first "
            "(chemtl finetune --model ...)"
        )
    model, _ = load_finetuned(model_dir)
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
    with ``input``, ``prediction`` [, ``prob_<class>`` ...] [, ``uncertainty``]."""
    import pandas as pd

    from chemtl.pipelines.finetune import forward_outputs, softmax, to_user_units

    dirs = [model_dirs] if isinstance(model_dirs, str | os.PathLike) else list(model_dirs)
    if not dirs:
        raise ChemtlError("predict needs at least one model directory")
    if mc_dropout < 0:
        raise ChemtlError(f"mc_dropout must be >= 0, got {mc_dropout}")
    members: list[np.ndarray] = []  # each (N, L) in user units (regression) or probabilities
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
        logits, samples = forward_outputs(
            model, loaded.tokenizer, inputs, length, batch_size, mc_dropout, seed
        )
        stack = [logits] if samples is None else list(samples)
        for s in stack:
            members.append(
                to_user_units(s, meta) if meta["task"] == "regression" else softmax(s.astype(np.float64))
            )
    assert first_meta is not None
    table: dict[str, Any] = {"input": list(inputs)}
    values = np.stack(members)  # (M, N, L)
    mean = values.mean(axis=0)  # (N, L)
    if first_meta["task"] == "regression" and mean.shape[1] == 1:
        table["prediction"] = mean[:, 0]
        if len(members) > 1:
            table["uncertainty"] = values[:, :, 0].std(axis=0)
    elif first_meta["task"] == "regression":  # multi-task: one column per target
        for j, name in enumerate(first_meta.get("targets") or range(mean.shape[1])):
            table[f"prediction_{name}"] = mean[:, j]
            if len(members) > 1:
                table[f"uncertainty_{name}"] = values[:, :, j].std(axis=0)
    else:
        classes = first_meta["classes"]
        table["prediction"] = [classes[i] for i in mean.argmax(axis=1)]
        for j, name in enumerate(classes):
            table[f"prob_{name}"] = mean[:, j]
        if len(members) > 1:
            table["uncertainty"] = -(mean * np.log(np.clip(mean, 1e-12, 1.0))).sum(axis=1)
    return pd.DataFrame(table)


def load_encoder(model_dir: str | os.PathLike):
    """The encoder (``ChemtlModel``) of a pretrained or fine-tuned directory, in eval mode, and
    the directory's ``LoadedModel``."""
    from chemtl.models import ChemtlModel
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import STRATEGY_FILE, find_encoder, load_finetuned

    quiet_transformers()
    loaded = load_model_dir(model_dir)
    if (Path(model_dir) / STRATEGY_FILE).is_file():
        model, _ = load_finetuned(model_dir)
        encoder = find_encoder(model)[1]
    else:
        encoder = ChemtlModel.from_pretrained(model_dir, use_safetensors=True)
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
