"""Few-shot task collections: many small labelled tasks, each on the meta-train or meta-test side.

``load_tasks(source)`` returns a ``TaskCollection`` of ``FewShotTask``s. ``source`` is a built-in
collection name (``TASK_COLLECTIONS``), a folder of csv files (one task each, named by the file
stem) or one csv with a task column (``task_col``). Every dataset is read with
``chemtl.data.load_dataset``; the sha256 of the file read goes in each task's ``info``.

Built-in collections (offline, from the registered datasets):

- ``moleculeace_tasks``: the 30 MoleculeACE ChEMBL sets as binary tasks, classes
  ``("inactive", "active")``. The registered target ``y`` is ``-log10(K / nM)``, so the usual
  molar potency is ``pK = 9 + y`` (pKi or pEC50). A row is active iff ``pK >= threshold``, with
  the threshold the task's median pK (over all its rows, before any subsampling) clipped to
  [5, 7] (FS-Mol-style: a median split, bounded between 10 uM (pK 5) and 100 nM (pK 7) so that
  "active" stays a sensible potency). Meta-test side: the targets at positions 2, 5, 8, ... (every
  third, from the third) of the 30 names sorted as strings, i.e. ``MOLECULEACE_TEST`` (10
  targets); the other 20 are meta-train. The two CHEMBL237 sets (EC50 and Ki) fall on the same
  side, so no ChEMBL target is on both sides.
- ``composition_tasks``: classification tasks from the labelled Matbench composition sets
  (``COMPOSITION_CLASSIFICATION``: classes and thresholds there).
- ``composition_regression_tasks``: regression tasks from them (``COMPOSITION_REGRESSION``).

  In both, the tasks derived from matbench_mp_gap, matbench_mp_is_metal (the same Materials
  Project band gaps) and matbench_mp_e_form, whose labels the shipped composition-small-mp was
  fine-tuned on, are on the meta-train side, with shear modulus, refractive index and the
  Castelli perovskites; the experimental sets (expt_gap, expt_is_metal, glass, steels), bulk
  modulus, phonons and jdft2d are the meta-test side.

Built-in tasks with more than ``max_rows`` rows (default 2000) are subsampled: ``max_rows`` rows
drawn without replacement with ``derive_seed(seed, "subsample", task name)`` and kept in file
order; ``info`` records ``rows_total``, ``rows`` (kept), ``max_rows`` and ``seed``. User
collections are kept whole unless ``max_rows`` is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import DataError

SIDES = ("train", "test", "all")
DEFAULT_MAX_ROWS = 2000

# --------------------------------------------------------------------------------------------
# the built-in collections' definitions

PK_OFFSET = 9.0  # pK (molar) = 9 + y, with MoleculeACE's y = -log10(K in nM)
THRESHOLD_BOUNDS = (5.0, 7.0)

# every third of the 30 MoleculeACE set names sorted as strings, from the third (index 2)
MOLECULEACE_TEST = (
    "CHEMBL2034_Ki",
    "CHEMBL2147_Ki",
    "CHEMBL219_Ki",
    "CHEMBL233_Ki",
    "CHEMBL236_Ki",
    "CHEMBL238_Ki",
    "CHEMBL262_Ki",
    "CHEMBL287_Ki",
    "CHEMBL4005_Ki",
    "CHEMBL4792_Ki",
)

# name, dataset, side, rule, parameter, class names; rules:
#   "label": the dataset's own 0/1 labels; "below": y < parameter -> class 0, else 1;
#   "median": y <= median (of all rows) -> class 0, else 1; "bins": class i for y in
#   (edges[i-1], edges[i]] with edges = parameter (first bin includes everything <= edges[0])
COMPOSITION_CLASSIFICATION: tuple[tuple[str, str, str, str, Any, tuple[str, ...]], ...] = (
    ("mp_is_metal", "matbench_mp_is_metal", "train", "label", None, ("non-metal", "metal")),
    (
        "mp_gap_classes",
        "matbench_mp_gap",
        "train",
        "bins",
        (0.0, 2.0),
        ("metal (0 eV)", "small gap (0-2 eV]", "wide gap (> 2 eV)"),
    ),
    ("mp_e_form_stable", "matbench_mp_e_form", "train", "below", 0.0, ("stable (< 0 eV/atom)", "unstable")),
    ("log_gvrh_high", "matbench_log_gvrh", "train", "median", None, ("low shear modulus", "high")),
    ("dielectric_high", "matbench_dielectric", "train", "median", None, ("low refractive index", "high")),
    ("castelli_high", "castelli_perovskites", "train", "median", None, ("low heat of formation", "high")),
    ("expt_is_metal", "matbench_expt_is_metal", "test", "label", None, ("non-metal", "metal")),
    ("glass", "matbench_glass", "test", "label", None, ("no glass", "glass former")),
    (
        "expt_gap_classes",
        "matbench_expt_gap",
        "test",
        "bins",
        (0.0, 2.0),
        ("metal (0 eV)", "small gap (0-2 eV]", "wide gap (> 2 eV)"),
    ),
    ("log_kvrh_high", "matbench_log_kvrh", "test", "median", None, ("low bulk modulus", "high")),
    ("phonons_high", "matbench_phonons", "test", "median", None, ("low phonon peak", "high")),
)

# name, dataset, side
COMPOSITION_REGRESSION: tuple[tuple[str, str, str], ...] = (
    ("mp_gap", "matbench_mp_gap", "train"),
    ("mp_e_form", "matbench_mp_e_form", "train"),
    ("log_gvrh", "matbench_log_gvrh", "train"),
    ("dielectric", "matbench_dielectric", "train"),
    ("castelli_perovskites", "castelli_perovskites", "train"),
    ("expt_gap", "matbench_expt_gap", "test"),
    ("steels", "matbench_steels", "test"),
    ("jdft2d", "matbench_jdft2d", "test"),
    ("phonons", "matbench_phonons", "test"),
    ("log_kvrh", "matbench_log_kvrh", "test"),
)

TASK_COLLECTIONS: dict[str, str] = {
    "moleculeace_tasks": (
        "30 MoleculeACE ChEMBL targets as active/inactive tasks (pK >= median clipped to [5, 7]); "
        "20 meta-train, 10 meta-test targets"
    ),
    "composition_tasks": (
        f"{len(COMPOSITION_CLASSIFICATION)} classification tasks from Matbench composition sets "
        "(metal, glass, gap classes, stability, moduli); mp-derived tasks on meta-train"
    ),
    "composition_regression_tasks": (
        f"{len(COMPOSITION_REGRESSION)} regression tasks from Matbench composition sets; "
        "mp-derived tasks on meta-train"
    ),
}
COLLECTION_KINDS = {
    "moleculeace_tasks": "smiles",
    "composition_tasks": "composition",
    "composition_regression_tasks": "composition",
}


# --------------------------------------------------------------------------------------------
# the types


@dataclass(frozen=True, eq=False)
class FewShotTask:
    """One labelled task: its inputs, labels (class ids or floats), classes, side and provenance."""

    name: str
    kind: str
    task: str
    inputs: tuple[str, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    side: str
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def class_counts(self) -> dict[str, int]:
        """Rows per class name (classification); {} for regression."""
        if self.task != "classification":
            return {}
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(c) for name, c in zip(self.classes, counts)}


@dataclass
class TaskCollection:
    """Tasks of one kind, with the collection's provenance."""

    name: str
    kind: str
    tasks: list[FewShotTask]
    info: dict = field(default_factory=dict)

    def side(self, side: str) -> list[FewShotTask]:
        """The meta-train (``"train"``) or meta-test (``"test"``) tasks, or every task (``"all"``)."""
        if side not in SIDES:
            raise DataError(f"unknown side {side!r}; choose one of {', '.join(SIDES)}")
        if side == "all":
            return list(self.tasks)
        return [t for t in self.tasks if t.side == side]

    def __len__(self) -> int:
        return len(self.tasks)


def is_task_collection(name: str) -> bool:
    """Whether ``name`` is a built-in collection (case-insensitive; a file of that name wins)."""
    return isinstance(name, str) and name.lower() in TASK_COLLECTIONS and not Path(name).exists()


# --------------------------------------------------------------------------------------------
# loading


def load_tasks(
    source: str | os.PathLike,
    *,
    input_col: str | None = None,
    target_col: str | None = None,
    task_col: str | None = None,
    kind: str | None = None,
    task: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> TaskCollection:
    """A built-in collection by name, a folder of csv files, or one csv with ``task_col``.

    ``max_rows``: subsample larger tasks to this many rows (built-in default 2000; user
    collections: no limit unless given). ``input_col``/``target_col``/``kind``/``task`` read user
    files as ``load_dataset`` does; ``task`` None: numbers are regression (0/1 only:
    classification), anything else class labels.
    """
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2):
        raise DataError(f"max_rows must be an integer >= 2, got {max_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"seed must be an integer >= 0, got {seed!r}")
    if task is not None and task not in ("classification", "regression"):
        raise DataError(f"unknown task {task!r}; choose classification or regression")
    text = os.fspath(source)
    if is_task_collection(text):
        name = text.lower()
        given = [
            f for f, v in (("input_col", input_col), ("target_col", target_col), ("task_col", task_col)) if v
        ]
        if given:
            raise DataError(f"{given[0]} is for a user's collection, not the built-in {name!r}")
        own_kind = COLLECTION_KINDS[name]
        own_task = "regression" if name == "composition_regression_tasks" else "classification"
        for option, value, own in (("kind", kind, own_kind), ("task", task, own_task)):
            if value is not None and value != own:
                raise DataError(
                    f"{name!r} holds {own_task} tasks of {own_kind} inputs, not {option} {value!r}"
                )
        rows = DEFAULT_MAX_ROWS if max_rows is None else max_rows
        return _BUILDERS[name](rows, seed)
    path = Path(text)
    if path.is_dir():
        return _load_folder(path, input_col, target_col, kind, task, max_rows, seed)
    if path.is_file():
        if task_col is None:
            raise DataError(
                f"{text}: one csv holds a task collection only with a task column; name it with task_col "
                "(--task-col), or pass a folder of csv files, one per task"
            )
        return _load_task_column(path, input_col, target_col, task_col, kind, task, max_rows, seed)
    raise DataError(
        f"unknown task collection {text!r}; the built-in ones are {', '.join(TASK_COLLECTIONS)} "
        "(or pass a folder of csv files, or a csv with a task column)"
    )


def _subsample(n: int, max_rows: int | None, seed: int, name: str) -> np.ndarray | None:
    """Sorted row indices to keep, or None to keep every row."""
    if max_rows is None or n <= max_rows:
        return None
    from chemtl.seeds import derive_seed

    rng = np.random.default_rng(derive_seed(seed, "subsample", name))
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _make_task(
    name: str,
    kind: str,
    task: str,
    inputs: list[str],
    labels: np.ndarray,
    classes: tuple[str, ...],
    side: str,
    info: dict,
    max_rows: int | None,
    seed: int,
) -> FewShotTask:
    keep = _subsample(len(inputs), max_rows, seed, name)
    info = {**info, "rows_total": len(inputs), "max_rows": max_rows, "seed": seed}
    if keep is not None:
        inputs = [inputs[i] for i in keep]
        labels = labels[keep]
    info["rows"] = len(inputs)
    if task == "classification":
        labels = np.asarray(labels, dtype=np.int64)
        present = np.unique(labels)
        if len(present) < 2:
            only = classes[int(present[0])] if len(present) else "none"
            raise DataError(f"task {name!r} has one class ({only!r}); a task needs at least two")
    else:
        labels = np.asarray(labels, dtype=np.float64)
    return FewShotTask(name, kind, task, tuple(inputs), labels, tuple(classes), side, info)


def _provenance(ds) -> dict[str, Any]:
    return {"dataset": ds.name, "sha256": ds.info.get("sha256"), "source": ds.info.get("source")}


def _named(name: str):
    from chemtl.data import load_dataset

    return load_dataset(name)


def _moleculeace(max_rows: int, seed: int) -> TaskCollection:
    from chemtl.data.registry import family_members

    names = sorted(n.removeprefix("moleculeace_") for n in family_members("moleculeace"))
    tasks = []
    for name in names:
        ds = _named(f"moleculeace_{name}")
        pk = np.asarray(ds.targets, dtype=np.float64) + PK_OFFSET
        median = float(np.median(pk))
        threshold = float(np.clip(median, *THRESHOLD_BOUNDS))
        labels = (pk >= threshold).astype(np.int64)
        info = {
            **_provenance(ds),
            "threshold": threshold,
            "median_pk": median,
            "rule": f"active iff pK = 9 + y >= {threshold:g} (median pK {median:.3f} clipped to [5, 7])",
        }
        side = "test" if name in MOLECULEACE_TEST else "train"
        tasks.append(
            _make_task(
                name,
                "smiles",
                "classification",
                ds.inputs,
                labels,
                ("inactive", "active"),
                side,
                info,
                max_rows,
                seed,
            )
        )
    return TaskCollection(
        "moleculeace_tasks",
        "smiles",
        tasks,
        {"description": TASK_COLLECTIONS["moleculeace_tasks"], "max_rows": max_rows, "seed": seed},
    )


def _class_labels(y: np.ndarray, rule: str, param: Any) -> tuple[np.ndarray, dict[str, Any]]:
    if rule == "label":
        return y.astype(np.int64), {"rule": "the dataset's own 0/1 labels"}
    if rule == "below":
        return (y >= param).astype(np.int64), {
            "rule": f"class 0 iff y < {param:g}",
            "threshold": float(param),
        }
    if rule == "median":
        median = float(np.median(y))
        return (y > median).astype(np.int64), {
            "rule": f"class 1 iff y > median {median:.6g}",
            "threshold": median,
        }
    edges = np.asarray(param, dtype=np.float64)
    return np.searchsorted(edges, y, side="left").astype(np.int64), {
        "rule": "class i iff y in the i-th of the bins split at "
        + ", ".join(f"{e:g}" for e in edges)
        + " (right edges included)",
        "bins": [float(e) for e in edges],
    }


def _composition(max_rows: int, seed: int) -> TaskCollection:
    tasks = []
    for name, dataset, side, rule, param, classes in COMPOSITION_CLASSIFICATION:
        ds = _named(dataset)
        labels, how = _class_labels(np.asarray(ds.targets, dtype=np.float64), rule, param)
        tasks.append(
            _make_task(
                name,
                "composition",
                "classification",
                ds.inputs,
                labels,
                classes,
                side,
                {**_provenance(ds), **how},
                max_rows,
                seed,
            )
        )
    return TaskCollection(
        "composition_tasks",
        "composition",
        tasks,
        {"description": TASK_COLLECTIONS["composition_tasks"], "max_rows": max_rows, "seed": seed},
    )


def _composition_regression(max_rows: int, seed: int) -> TaskCollection:
    tasks = []
    for name, dataset, side in COMPOSITION_REGRESSION:
        ds = _named(dataset)
        info = {**_provenance(ds), "units": ds.info.get("units")}
        tasks.append(
            _make_task(
                name,
                "composition",
                "regression",
                ds.inputs,
                np.asarray(ds.targets),
                (),
                side,
                info,
                max_rows,
                seed,
            )
        )
    return TaskCollection(
        "composition_regression_tasks",
        "composition",
        tasks,
        {"description": TASK_COLLECTIONS["composition_regression_tasks"], "max_rows": max_rows, "seed": seed},
    )


_BUILDERS = {
    "moleculeace_tasks": _moleculeace,
    "composition_tasks": _composition,
    "composition_regression_tasks": _composition_regression,
}


# --------------------------------------------------------------------------------------------
# user collections


def _read_file(path: Path, input_col, target_col, kind, task, keep_columns: bool):
    """``load_dataset`` with the task from the values when not given: numbers are regression
    (only 0 and 1: classification), anything else class labels."""
    from chemtl.data import load_dataset

    common = dict(input_col=input_col, target_col=target_col, kind=kind, keep_columns=keep_columns)
    if task is not None:
        ds = load_dataset(path, task=task, **common)
    else:
        try:
            ds = load_dataset(path, **common)
        except DataError as exc:
            if "is not a number" not in str(exc):
                raise
            ds = load_dataset(path, task="classification", **common)
    if ds.targets is None:
        raise DataError(f"{path}: no target column; name it with target_col (--target)")
    return ds


def _user_labels(ds, rows: np.ndarray, name: str) -> tuple[str, np.ndarray, tuple[str, ...]]:
    """(task, labels of ``rows`` re-indexed to the classes present, their class names)."""
    if ds.task != "classification":
        return "regression", np.asarray(ds.targets, dtype=np.float64)[rows], ()
    names = list(ds.classes or [])
    ids = np.asarray(ds.targets, dtype=np.int64)[rows]
    present = np.unique(ids)
    lookup = {int(c): j for j, c in enumerate(present)}
    classes = tuple(names[int(c)] if int(c) < len(names) else str(int(c)) for c in present)
    if len(present) < 2:
        raise DataError(f"task {name!r} has one class ({classes[0]!r}); a task needs at least two")
    return "classification", np.asarray([lookup[int(c)] for c in ids], dtype=np.int64), classes


def _collection(name: str, tasks: list[FewShotTask], info: dict) -> TaskCollection:
    kinds = sorted({t.kind for t in tasks})
    if len(kinds) > 1:
        first = {k: next(t.name for t in tasks if t.kind == k) for k in kinds}
        raise DataError(
            f"task collection {name!r} mixes {' and '.join(f'{k} ({first[k]!r})' for k in kinds)} inputs; "
            "a collection holds one kind"
        )
    return TaskCollection(name, kinds[0], tasks, info)


def _load_folder(path: Path, input_col, target_col, kind, task, max_rows, seed) -> TaskCollection:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataError(f"{path}: no csv files in the folder (one csv per task)")
    tasks = []
    for file in files:
        ds = _read_file(file, input_col, target_col, kind, task, keep_columns=False)
        rows = np.arange(len(ds))
        kind_t, labels, classes = _user_labels(ds, rows, file.stem)
        info = {"path": str(file.resolve()), "sha256": ds.info.get("sha256"), "source": "file"}
        tasks.append(
            _make_task(file.stem, ds.kind, kind_t, ds.inputs, labels, classes, "all", info, max_rows, seed)
        )
    return _collection(path.name, tasks, {"path": str(path.resolve()), "max_rows": max_rows, "seed": seed})


def _load_task_column(
    path: Path, input_col, target_col, task_col, kind, task, max_rows, seed
) -> TaskCollection:
    ds = _read_file(path, input_col, target_col, kind, task, keep_columns=True)
    if task_col not in ds.extra:
        columns = [ds.info.get("input_col"), ds.info.get("target_col"), *ds.extra]
        raise DataError(
            f"{path}: no task column {task_col!r}; the columns are {', '.join(repr(c) for c in columns if c)}"
        )
    values = [str(v) for v in ds.extra[task_col]]
    tasks = []
    for name in dict.fromkeys(values):
        rows = np.asarray([i for i, v in enumerate(values) if v == name], dtype=np.int64)
        kind_t, labels, classes = _user_labels(ds, rows, name)
        info = {
            "path": str(path.resolve()),
            "sha256": ds.info.get("sha256"),
            "source": "file",
            "task_col": task_col,
        }
        inputs = [ds.inputs[i] for i in rows]
        tasks.append(_make_task(name, ds.kind, kind_t, inputs, labels, classes, "all", info, max_rows, seed))
    return _collection(
        path.stem,
        tasks,
        {"path": str(path.resolve()), "task_col": task_col, "max_rows": max_rows, "seed": seed},
    )


# --------------------------------------------------------------------------------------------
# description (``chemtl datasets show NAME``)


def describe_collection(collection: TaskCollection) -> dict[str, Any]:
    """A JSON-ready description: the collection, and per task its side, rows, classes, rule."""
    tasks = []
    for t in collection.tasks:
        row: dict[str, Any] = {"name": t.name, "side": t.side, "task": t.task, "rows": len(t)}
        if t.info.get("rows_total", len(t)) != len(t):
            row["rows_total"] = t.info["rows_total"]
        if t.task == "classification":
            row["classes"] = t.class_counts()
        for key in ("dataset", "threshold", "bins", "rule"):
            if key in t.info:
                row[key] = t.info[key]
        tasks.append(row)
    sides = {s: sum(t.side == s for t in collection.tasks) for s in ("train", "test", "all")}
    return {
        "name": collection.name,
        "kind": collection.kind,
        "tasks": len(collection.tasks),
        "sides": {s: n for s, n in sides.items() if n},
        **{k: v for k, v in collection.info.items() if k in ("description", "max_rows", "seed", "path")},
        "task_list": tasks,
    }


def format_collection(description: dict[str, Any]) -> str:
    """The text ``chemtl datasets show`` prints for a collection."""
    sides = ", ".join(
        f"{n} {'meta-' + s if s != 'all' else 'unsplit'}" for s, n in description["sides"].items()
    )
    lines = [
        f"{description['name']}: {description['kind']} task collection, {description['tasks']} tasks ({sides})"
    ]
    if description.get("description"):
        lines.append(f"  {description['description']}")
    if description.get("max_rows"):
        lines.append(
            f"  tasks over {description['max_rows']} rows subsampled to it (seed {description.get('seed', 0)})"
        )
    for row in description["task_list"]:
        size = f"{row['rows']} rows" + (f" of {row['rows_total']}" if "rows_total" in row else "")
        what = ", ".join(f"{k} {v}" for k, v in row.get("classes", {}).items()) or "regression"
        rule = f"; {row['rule']}" if "rule" in row else ""
        lines.append(f"  [{row['side']}] {row['name']}: {size}; {what}{rule}")
    return "\n".join(lines)
