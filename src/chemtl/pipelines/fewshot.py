"""Few-shot entry points: label new inputs from a handful of examples, evaluate on episodes, meta-train.

``fewshot_predict(model, support, query)`` fits one few-shot method
(``chemtl.transfer.fewshot.methods``) on the labelled ``support`` rows and predicts every
``query`` row. The task is the support's: classification when its target holds class labels
(text or integers, any number of classes), regression when it holds other numbers
(``load_support`` reads a file that way; ``task=`` overrides). The table keeps every column of
the query file, in file order and under its own names (ids included), then ``prediction`` and
``prob_<class>`` per class (classification) or ``std``, the predictive standard deviation
(regression; empty for a method without one). Embedding methods see the model's embeddings
(``chemtl.pipelines.metatrain.embed_with``: the projection of a meta-trained directory
applied); ``knn`` and ``rf`` see classic features (Morgan bits or Magpie statistics).

``fewshot_evaluate(model, collection, shots, n_episodes, methods=...)`` draws the episodes of
one side of a task collection (``chemtl.transfer.fewshot.episodes.sample_episodes``), fits each
method on every episode's support and scores it on its query
(``chemtl.evaluate.fewshot.episode_metrics``): one record per (method, K, episode), and a summary
per metric (``chemtl.evaluate.fewshot.summarise``: the mean over tasks of each task's mean, 95%
confidence interval over episodes). Every task is embedded once per encoder, its classic features
computed once, and episodes slice those rows. ``run_episodes`` is that loop for several encoders
on the same episodes (the benchmark uses it).

``fewshot_train`` meta-trains (``chemtl.pipelines.metatrain.meta_train``) on the meta-train side
of a collection (every task of a user's collection, which has no sides).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError, DataError

# The method `fewshot predict` uses when --method is not given, per task: the best one of
# `chemtl benchmark fewshot` (2026-12-01) at every K. A RandomForest on Morgan bits / Magpie
# statistics had the highest delta-AUPRC on the meta-test tasks of both collections at K = 5, 10,
# 16 (K = 1: within the CI of kNN) and the highest R2 at K = 10 on the regression tasks; the
# pretrained-embedding methods (ProtoNet, linear probe, GP) did not beat it (README, BENCHMARKS.md).
DEFAULT_METHOD = {"classification": "rf", "regression": "rf"}
# The methods `fewshot evaluate` runs when --methods is not given, per task.
DEFAULT_EVAL_METHODS = {
    "classification": ("protonet", "linear_probe", "knn", "rf"),
    "regression": ("gp", "linear_probe", "knn", "rf"),
}
METRICS = {"classification": ("accuracy", "delta_auprc"), "regression": ("mae", "r2")}
TASKS = ("classification", "regression")
_INTEGER = re.compile(r"[+-]?\d+")


# ----------------------------------------------------------------------------------------------
# reading a support and a query


def infer_task(values: Sequence[str]) -> str:
    """``classification`` when the labels are text or integers, ``regression`` for other numbers."""
    present = [str(v).strip() for v in values if str(v).strip()]
    try:
        [float(v) for v in present]
    except ValueError:
        return "classification"
    return "classification" if all(_INTEGER.fullmatch(v) for v in present) else "regression"


def _class_order(labels: Sequence[str]) -> list[str]:
    """Class names in order: numerically for integer labels, else as text."""
    names = set(labels)
    if all(_INTEGER.fullmatch(n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def load_support(
    data: str | os.PathLike,
    *,
    model_kind: str,
    target_col: str | None = None,
    input_col: str | None = None,
    kind: str | None = None,
    task: str | None = None,
):
    """A labelled support set (a csv or a registered dataset) as a ``Dataset`` of ``model_kind``
    inputs; read with ``chemtl predict``'s reader (``chemtl.pipelines.predict.load_table``), the
    label column as text, its task from its values (``infer_task``) unless ``task`` is given.
    Classification targets are class ids into ``info["classes"]``, regression targets floats."""
    from chemtl.data.dataset import MISSING_TARGETS, Dataset
    from chemtl.pipelines.predict import load_table

    if task is not None and task not in TASKS:
        raise ChemtlError(f"unknown task {task!r}; choose classification or regression")
    ds, columns = load_table(
        data, model_kind=model_kind, input_col=input_col, target_col=target_col, kind=kind
    )
    where = os.fspath(data)
    if ds.info.get("source") == "registry":
        if ds.targets is None:
            raise DataError(f"dataset {where!r} has no labels to learn from")
        return ds
    # as load_dataset reads a file: a column named target, else the other column of a two-column file
    col = target_col or ("target" if "target" in columns or len(columns) != 1 else next(iter(columns)))
    if col not in columns:
        raise DataError(
            f"{where}: no label column {col!r}; the columns are "
            f"{', '.join(map(repr, [ds.info.get('input_col'), *columns]))} (name it with --target)"
        )
    text = [v.strip() for v in columns[col]]
    missing = [i for i, v in enumerate(text) if v.lower() in MISSING_TARGETS]
    if missing:
        raise DataError(
            f"{where}: row {missing[0] + 1}, column {col!r}: missing label ({len(missing)} of {len(text)} rows)"
        )
    task = task or infer_task(text)
    info = {**ds.info, "target_col": col, "task": task}
    if task == "classification":
        classes = _class_order(text)
        targets = np.asarray([classes.index(v) for v in text], dtype=np.int64)
        info["classes"] = classes
    else:
        try:
            targets = np.asarray([float(v) for v in text], dtype=np.float64)
        except ValueError:
            bad = next(i for i, v in enumerate(text) if not _is_float(v))
            raise DataError(
                f"{where}: row {bad + 1}, column {col!r}: {text[bad]!r} is not a number (regression)"
            ) from None
        if not np.isfinite(targets).all():
            bad = int(np.flatnonzero(~np.isfinite(targets))[0])
            raise DataError(f"{where}: row {bad + 1}, column {col!r}: {text[bad]!r} is not a finite number")
    return Dataset(ds.name, list(ds.inputs), targets, ds.kind, task, info, {})


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_query(
    data: str | os.PathLike, *, model_kind: str, input_col: str | None = None, kind: str | None = None
):
    """The rows to predict, every other column kept as text (``chemtl predict``'s reader)."""
    from chemtl.pipelines.predict import load_table

    ds, _ = load_table(data, model_kind=model_kind, input_col=input_col, kind=kind)
    return ds


def query_columns(query) -> dict[str, list]:
    """Every column of the query, in file order under its own names (the input column holds the
    validated inputs); a registered dataset's columns as ``Dataset.columns`` names them."""
    from chemtl.data.files import read_csv_text

    path = query.info.get("path")
    if query.info.get("source") == "file" and path:
        header = read_csv_text(path, nrows=1).columns
        col = query.info.get("input_col")
        return {
            c: list(query.inputs) if c == col else list(query.extra[c])
            for c in header
            if c == col or c in query.extra
        }
    return query.columns()


# ----------------------------------------------------------------------------------------------
# predict


def support_labels(support, task: str | None = None) -> tuple[str, np.ndarray, list[str]]:
    """``(task, y, classes)`` of a labelled support ``Dataset``: class ids 0..C-1 and their names
    (classification), or float targets and ``[]`` (regression). ``task`` overrides the support's:
    numbers become classes by value, classes become numbers when their names are numbers."""
    from chemtl.pipelines.finetune import class_indices

    name = Path(support.info["path"]).name if support.info.get("path") else support.name
    if support.targets is None or support.task not in TASKS:
        raise DataError(f"support {name!r} has no labels; name the label column (--target COL)")
    task = task or support.task
    if task not in TASKS:
        raise ChemtlError(f"unknown task {task!r}; choose classification or regression")
    col = support.info.get("target_col") or "target"
    if task == "classification":
        if support.task == "classification":
            classes, y = class_indices(support)
        else:
            text = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in support.targets]
            classes = _class_order(text)
            y = np.asarray([classes.index(v) for v in text], dtype=np.int64)
        if len(classes) < 2 or len(np.unique(y)) < 2:
            only = classes[int(y[0])] if len(y) else None
            raise DataError(
                f"support {name!r}: column {col!r} holds one class ({only!r}); few-shot "
                "classification needs examples of at least two classes"
            )
        return task, np.asarray(y, dtype=np.int64), list(classes)
    if support.task == "classification":
        classes, ids = class_indices(support)
        bad = [c for c in classes if not _is_float(c)]
        if bad:
            raise DataError(
                f"support {name!r}: label {bad[0]!r} of column {col!r} is not a number (--task regression)"
            )
        y = np.asarray([float(classes[i]) for i in ids], dtype=np.float64)
    else:
        y = np.asarray(support.targets, dtype=np.float64)
    if len(y) < 2:
        raise DataError(f"support {name!r} has {len(y)} row; few-shot regression needs at least two")
    return task, y, []


def _check_kinds(model_kind: str, support, query, model: str) -> None:
    if support.kind != model_kind:
        raise DataError(
            f"support {support.name!r} holds {support.kind} inputs but the model {str(model)!r} reads {model_kind} inputs"
        )
    if query.kind != support.kind:
        raise DataError(
            f"query {query.name!r} holds {query.kind} inputs but the support {support.name!r} holds {support.kind} inputs"
        )


def features_for(
    method, model: str, inputs: Sequence[str], kind: str, *, batch_size: int = 256
) -> np.ndarray:
    """The inputs as ``method`` sees them: the model's embeddings or classic features."""
    if method.features == "classic":
        from chemtl.transfer.fewshot.methods import classic_features

        return np.asarray(classic_features(list(inputs), kind))
    from chemtl.pipelines.metatrain import embed_with

    return np.asarray(embed_with(model, list(inputs), batch_size=batch_size))


def method_options(meta: dict[str, Any], name: str) -> dict[str, Any]:
    """Options of method ``name`` that a meta-trained model directory fixes: ProtoNet's distance
    and learnt temperature (``chemtl.json``'s ``fewshot``); none for a plain encoder."""
    spec = meta.get("fewshot") or {}
    if name != "protonet" or spec.get("method") != "protonet":
        return {}
    return {k: spec[k] for k in ("distance", "temperature") if spec.get(k) is not None}


def fewshot_predict(
    model: str,
    support,
    query,
    *,
    method: str | None = None,
    task: str | None = None,
    seed: int = 0,
    batch_size: int = 256,
):
    """Predict every row of ``query`` from the labelled ``support`` (both ``Dataset``); see the
    module docstring for the table."""
    import pandas as pd

    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer.fewshot.methods import make_method

    quiet_transformers()
    loaded = load_model_dir(model)
    _check_kinds(loaded.kind, support, query, model)
    task, y, classes = support_labels(support, task)
    if len(query) == 0:
        raise DataError(f"query {query.name!r} has no rows")
    columns = query_columns(query)
    ours = (
        ["prediction", *(f"prob_{c}" for c in classes)] if task == "classification" else ["prediction", "std"]
    )
    clash = [c for c in columns if c in ours]
    if clash:
        raise DataError(
            f"query {query.name!r}: column {clash[0]!r} has the name of a column fewshot predict writes; "
            f"rename it (it writes {', '.join(ours)})"
        )
    name = method or DEFAULT_METHOD[task]
    fitter = make_method(name, task, seed=seed, **method_options(loaded.meta, name))
    x = features_for(
        fitter, model, list(support.inputs) + list(query.inputs), support.kind, batch_size=batch_size
    )
    xs, xq = x[: len(support)], x[len(support) :]
    fitter.fit(xs, y, task, len(classes) if task == "classification" else None)
    out = pd.DataFrame(columns)
    if task == "classification":
        probs = np.asarray(fitter.predict(xq), dtype=np.float64)
        out["prediction"] = [classes[i] for i in probs.argmax(axis=1)]
        for j, c in enumerate(classes):
            out[f"prob_{c}"] = probs[:, j]
    else:
        out["prediction"] = np.asarray(fitter.predict(xq), dtype=np.float64)
        std = fitter.predict_std(xq)
        out["std"] = np.nan if std is None else np.asarray(std, dtype=np.float64)
    return out


# ----------------------------------------------------------------------------------------------
# evaluate


def _side_tasks(collection, side: str) -> list:
    """The tasks of ``side``; a user's collection (every task on side "all") has no meta-train
    side, so any side means all of it."""
    if side not in ("train", "test", "all"):
        raise ChemtlError(f"unknown side {side!r}; choose test, train or all")
    if all(t.side == "all" for t in collection.tasks):
        return list(collection.tasks)
    tasks = collection.side(side)
    if not tasks:
        raise ChemtlError(f"task collection {collection.name!r} has no tasks on side {side!r}")
    return tasks


def task_embeddings(
    model: str, tasks: Sequence, *, cache_dir: str | os.PathLike | None = None, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """Each task's rows embedded once by ``model`` (``embed_with``), by task name; with
    ``cache_dir``, kept there as ``.npy`` keyed by the model's weights hash and the task's inputs."""
    from chemtl.pipelines.metatrain import embed_with

    out: dict[str, np.ndarray] = {}
    digest = None
    if cache_dir is not None:
        from chemtl.data.files import sha256_file, sha256_strings
        from chemtl.evaluate.compare import model_fingerprint
        from chemtl.pretrained import resolve_model_dir

        where = resolve_model_dir(model)
        head = where / "fewshot_head.safetensors"  # a meta-trained projection changes the embeddings
        digest = sha256_strings([model_fingerprint(where), sha256_file(head) if head.is_file() else "-"])[:16]
    for t in tasks:
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"{digest}-{sha256_strings(list(t.inputs))[:16]}.npy"
            if path.is_file():
                out[t.name] = np.load(path, allow_pickle=False)
                continue
        out[t.name] = np.asarray(embed_with(model, list(t.inputs), batch_size=batch_size))
        if path is not None:
            from chemtl.atomic import atomic_open

            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "wb") as handle:
                np.save(handle, out[t.name], allow_pickle=False)
    return out


def task_augmented_embeddings(
    model: str, tasks: Sequence, n: int, *, seed: int = 0, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """(n, N, d) embeddings of ``n`` randomised SMILES of every row of each molecule task
    (``chemtl.chem.smiles.randomize_smiles``, seeded per row), for support augmentation."""
    from chemtl.chem.smiles import randomize_smiles
    from chemtl.pipelines.metatrain import embed_with

    out: dict[str, np.ndarray] = {}
    for t in tasks:
        if t.kind != "smiles":
            raise ChemtlError(f"support augmentation needs SMILES; task {t.name!r} holds {t.kind} inputs")
        variants = [randomize_smiles(s, n, seed + i) for i, s in enumerate(t.inputs)]  # (N, n)
        flat = [variants[i][j] for j in range(n) for i in range(len(t.inputs))]  # variant-major
        emb = np.asarray(embed_with(model, flat, batch_size=batch_size))
        out[t.name] = emb.reshape(n, len(t.inputs), -1)
    return out


def task_classic_features(tasks: Sequence) -> dict[str, np.ndarray]:
    """Each task's classic features (Morgan bits or Magpie statistics), computed once."""
    from chemtl.transfer.fewshot.methods import classic_features

    return {t.name: np.asarray(classic_features(list(t.inputs), t.kind)) for t in tasks}


def run_episodes(
    tasks: Sequence,
    episodes: Sequence,
    arms: Sequence[tuple[str, str, str | None]],
    *,
    shots: int,
    support: str,
    embeddings: dict[str, dict[str, np.ndarray]],
    classic: dict[str, np.ndarray] | None = None,
    seed: int = 0,
    options: dict[str, dict[str, Any]] | None = None,
    augmented: dict[str, dict[str, np.ndarray]] | None = None,
) -> list[dict[str, Any]]:
    """One record per (arm, episode). ``arms``: ``(label, method name, encoder)``; ``encoder`` keys
    ``embeddings`` (encoder -> task name -> rows), None for a classic-feature method; ``options``:
    the method options of an arm, by label (``method_options``). ``augmented`` (encoder -> task name
    -> (n, N, d), ``task_augmented_embeddings``): the support of an embedding arm of that encoder
    gains the embeddings of each support molecule's n randomised SMILES, with the same labels; the
    query is untouched."""
    from chemtl.evaluate.fewshot import episode_metrics
    from chemtl.training.seeding import derive_seed
    from chemtl.transfer.fewshot.methods import make_method

    by_name = {t.name: t for t in tasks}
    records: list[dict[str, Any]] = []
    for ep in episodes:
        task = by_name[ep.task]
        ys, yq = ep.support_labels(task), ep.query_labels(task)
        n_classes = len(ep.classes) if task.task == "classification" else None
        for label, name, encoder in arms:
            extra = (options or {}).get(label, {})
            fitter = make_method(name, task.task, seed=derive_seed(seed, ep.task, ep.index, label), **extra)
            if fitter.features == "classic":
                if classic is None:
                    raise ChemtlError(f"method {name!r} needs classic features")
                x = classic[task.name]
            else:
                x = embeddings[encoder][task.name]
            xs, ys_fit = x[ep.support], ys
            aug = (
                (augmented or {}).get(encoder or "", {}).get(task.name)
                if fitter.features != "classic"
                else None
            )
            if aug is not None:  # (n, N, d): the support rows' randomised SMILES as extra rows
                xs = np.concatenate([xs, *aug[:, ep.support]])
                ys_fit = np.concatenate([ys] * (1 + aug.shape[0]))
            fitter.fit(xs, ys_fit, task.task, n_classes)
            metrics = episode_metrics(task.task, yq, fitter.predict(x[ep.query]))
            records.append(
                {
                    "method": label,
                    "shots": shots,
                    "task": ep.task,
                    "episode": ep.index,
                    "support": support,
                    "n_way": n_classes,
                    "n_support": len(ep.support),
                    "n_query": len(ep.query),
                    "skipped_classes": len(ep.skipped_classes),
                    "augment": 0 if aug is None else int(aug.shape[0]),
                    **metrics,
                }
            )
    return records


def summarise_records(records: list[dict[str, Any]], task_types: Sequence[str]) -> list[dict[str, Any]]:
    """``chemtl.evaluate.fewshot.summarise`` for every metric of the task types, each row with its
    metric named."""
    from chemtl.evaluate.fewshot import summarise

    out = []
    for task in TASKS:
        if task not in task_types:
            continue
        for metric in METRICS[task]:
            out += [{"metric": metric, **row} for row in summarise(records, metric)]
    return out


def _check_methods(methods: Sequence[str], task_types: set[str]) -> None:
    from chemtl.transfer.fewshot.methods import make_method

    if not methods:
        raise ChemtlError("name at least one few-shot method")
    for name in methods:
        for task in sorted(task_types):
            make_method(name, task)  # an unknown method, or one that cannot do the task: one line


def fewshot_evaluate(
    model: str,
    collection,
    shots: tuple[int, ...],
    n_episodes: int,
    *,
    methods: tuple[str, ...] | None = None,
    support: str = "random",
    side: str = "test",
    seed: int = 0,
    ways: int | None = None,
    queries: int | None = None,
    batch_size: int = 256,
    augment: int = 0,
) -> dict[str, Any]:
    """Every method on the same episodes of ``collection``'s ``side``, at each K of ``shots``;
    returns ``{"records", "summary", "info"}`` (writes nothing). ``methods=None`` runs
    ``DEFAULT_EVAL_METHODS`` of the collection's task. ``augment=n`` (molecules) adds n randomised
    SMILES of every support molecule to the support of the embedding methods."""
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer.fewshot.episodes import sample_episodes
    from chemtl.transfer.fewshot.methods import make_method

    if not shots or any(not isinstance(k, int) or k < 1 for k in shots):
        raise ChemtlError(f"shots must be integers >= 1, got {tuple(shots)!r}")
    if not isinstance(n_episodes, int) or n_episodes < 1:
        raise ChemtlError(f"the number of episodes must be >= 1, got {n_episodes!r}")
    if support not in ("random", "kmeans"):
        raise ChemtlError(f"unknown support selection {support!r}; choose random or kmeans")
    if isinstance(augment, bool) or not isinstance(augment, int) or augment < 0:
        raise ChemtlError(f"augment must be an integer >= 0, got {augment!r}")
    quiet_transformers()
    loaded = load_model_dir(model)
    if collection.kind != loaded.kind:
        raise DataError(
            f"task collection {collection.name!r} holds {collection.kind} inputs but the model "
            f"{str(model)!r} reads {loaded.kind} inputs"
        )
    tasks = _side_tasks(collection, side)
    task_types = {t.task for t in tasks}
    if methods is None:
        methods = tuple(dict.fromkeys(m for t in sorted(task_types) for m in DEFAULT_EVAL_METHODS[t]))
    methods = tuple(methods)
    _check_methods(methods, task_types)
    kinds = {name: make_method(name, sorted(task_types)[0]).features for name in methods}
    # the episodes first: a collection too small for K fails before any embedding work
    need_emb = support == "kmeans" or "embedding" in kinds.values()
    drawn = {k: None for k in shots}
    if support == "random":
        drawn = {
            k: sample_episodes(tasks, k, n_episodes, n_way=ways, n_query=queries, seed=seed, support="random")
            for k in shots
        }
    emb = task_embeddings(model, tasks, batch_size=batch_size) if need_emb else {}
    if support == "kmeans":
        drawn = {
            k: sample_episodes(
                tasks, k, n_episodes, n_way=ways, n_query=queries, seed=seed, support="kmeans", embeddings=emb
            )
            for k in shots
        }
    classic = task_classic_features(tasks) if "classic" in kinds.values() else None
    augmented = None
    if augment and "embedding" in kinds.values():
        augmented = {
            "model": task_augmented_embeddings(model, tasks, augment, seed=seed, batch_size=batch_size)
        }
    arms = [(name, name, "model" if kinds[name] == "embedding" else None) for name in methods]
    options = {name: method_options(loaded.meta, name) for name in methods}
    records: list[dict[str, Any]] = []
    for k in shots:
        records += run_episodes(
            tasks,
            drawn[k],
            arms,
            shots=k,
            support=support,
            embeddings={"model": emb},
            classic=classic,
            seed=seed,
            options=options,
            augmented=augmented,
        )
    info = {
        "model": str(model),
        "collection": collection.name,
        "side": side,
        "tasks": [t.name for t in tasks],
        "task_types": sorted(task_types),
        "shots": list(shots),
        "episodes_per_k": n_episodes,
        "ways": ways,
        "queries": queries,
        "support": support,
        "augment": augment,
        "methods": list(methods),
        "seed": seed,
        "confidence_level": 0.95,
        "skipped_classes": {str(k): sum(len(ep.skipped_classes) for ep in drawn[k]) for k in shots},
    }
    return {"records": records, "summary": summarise_records(records, sorted(task_types)), "info": info}


def write_evaluation(result: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    """``episodes.csv`` (every record), ``summary.json`` (info + summary) and ``summary.csv`` (the
    summary without its per-task means) in ``out_dir``, each written atomically."""
    import pandas as pd

    from chemtl.atomic import atomic_open, write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "episodes": out / "episodes.csv",
        "summary_json": out / "summary.json",
        "summary_csv": out / "summary.csv",
    }
    flat = [{k: v for k, v in row.items() if not isinstance(v, dict)} for row in result["summary"]]
    for key, rows in (("episodes", result["records"]), ("summary_csv", flat)):
        with atomic_open(paths[key], "w", encoding="utf-8", newline="") as handle:
            pd.DataFrame(rows).to_csv(handle, index=False, float_format="%.10g")
    write_json(paths["summary_json"], {"info": result["info"], "summary": result["summary"]})
    return paths


# ----------------------------------------------------------------------------------------------
# train


def fewshot_train(
    model: str,
    collection,
    config,
    train,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> dict:
    """Meta-train ``model`` on the meta-train side of ``collection`` (every task of a user's
    collection), validating on the meta-test side when it has one: ``meta_train``."""
    from chemtl.pipelines.metatrain import meta_train
    from chemtl.pipelines.modeldir import load_model_dir

    loaded = load_model_dir(model)
    if collection.kind != loaded.kind:
        raise DataError(
            f"task collection {collection.name!r} holds {collection.kind} inputs but the model "
            f"{str(model)!r} reads {loaded.kind} inputs"
        )
    user = all(t.side == "all" for t in collection.tasks)
    tasks = list(collection.tasks) if user else collection.side("train")
    if not tasks:
        raise ChemtlError(f"task collection {collection.name!r} has no meta-train tasks")
    classification = [t for t in tasks if t.task == "classification"]
    if not classification:
        raise ChemtlError(
            f"task collection {collection.name!r} has no classification tasks; prototypical networks "
            "meta-train on classes"
        )
    return meta_train(
        model,
        classification,
        config,
        train,
        os.fspath(out_dir),
        resume=resume,
        overwrite=overwrite,
        val_tasks=None,
    )
