"""Datasets: named ones from the registry, or a user's csv file, loaded into one ``Dataset`` shape.

``load_dataset(name_or_path, ...)`` returns a ``Dataset`` (``inputs``, ``targets``, ``kind``,
``task``, ``info``, ``extra``), or for the streamed MOSES sets a ``StreamingDataset`` that iterates
its SMILES without holding them (``limit=`` materialises the first rows as a ``Dataset``).

Targets are ``float64`` for regression and ``int64`` class indices for classification (``info
["classes"]`` names them); ``None`` for unlabelled data.

User files are validated row by row: an invalid input (per its kind), a missing target (an empty
cell, ``nan``, ``NA``, ``null``...), a target that is not a finite number all make the row bad. Bad
rows refuse the whole file with a ``DataError`` naming the first bad value, its 1-based data row
(the header is row 0) and the count, unless ``skip_invalid=True``: then the bad rows and their
reasons go to a side csv (``row,column,value,reason``), written atomically, and the rest load.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.data import files as _files
from chemtl.data.registry import DatasetSpec, get_spec, is_registered, package_version
from chemtl.errors import ChemtlError, DataError

log = logging.getLogger(__name__)

MISSING_TARGETS = frozenset({"", "nan", "na", "n/a", "null", "none"})
INPUT_COLUMN_NAMES = ("formula", "composition", "smiles", "selfies")
_KIND_BY_COLUMN = {
    "formula": "composition",
    "composition": "composition",
    "smiles": "smiles",
    "selfies": "selfies",
}
DEFAULT_INPUT_COL = {"composition": "formula", "smiles": "smiles", "selfies": "selfies"}
SKIPPED_COLUMNS = ("row", "column", "value", "reason")


@dataclass
class Dataset:
    """Inputs (strings of one ``kind``) with optional targets and provenance.

    ``extra`` holds further columns aligned with ``inputs`` (``split`` for data shipped with its
    own split, ``cliff_mol`` for MoleculeACE, ...).
    """

    name: str
    inputs: list[str]
    targets: np.ndarray | None
    kind: str
    task: str
    info: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.inputs)
        if self.targets is not None and len(self.targets) != n:
            raise ValueError(f"{len(self.targets)} targets for {n} inputs")
        for key, column in self.extra.items():
            if len(column) != n:
                raise ValueError(f"extra column {key!r} has {len(column)} values for {n} inputs")

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, kind={self.kind!r}, task={self.task!r}, rows={len(self)})"

    @property
    def classes(self) -> list[str] | None:
        return self.info.get("classes")

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> Dataset:
        """The rows at ``indices`` (in that order), with the same provenance."""
        idx = np.asarray(indices, dtype=np.int64)
        return Dataset(
            name=name or self.name,
            inputs=[self.inputs[i] for i in idx],
            targets=None if self.targets is None else self.targets[idx],
            kind=self.kind,
            task=self.task,
            info={**self.info, "rows": len(idx), "subset_of": self.name},
            extra={k: [v[i] for i in idx] for k, v in self.extra.items()},
        )

    def columns(self) -> dict[str, list]:
        """Columns for export: the input (named by kind), ``target`` (labels for classes), extras."""
        out: dict[str, list] = {DEFAULT_INPUT_COL[self.kind]: list(self.inputs)}
        if self.targets is not None:
            classes = self.classes
            if self.task == "classification" and classes and not all(_is_number(c) for c in classes):
                out["target"] = [classes[int(t)] for t in self.targets]
            elif self.task == "classification":
                out["target"] = [str(int(t)) for t in self.targets]
            else:
                out["target"] = [repr(float(t)) for t in self.targets]
        for key, column in self.extra.items():
            if key not in out:
                out[key] = list(column)
        return out


class StreamingDataset:
    """An unlabelled SMILES set too large to hold: iterate it, count it, or take its head.

    ``len()`` is the pinned row count; iteration reads the gzip'd file lazily each time.
    """

    targets = None
    task = "unlabelled"

    def __init__(self, spec: DatasetSpec, path: Path, info: dict[str, Any]):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.path = path
        self.info = info

    def __len__(self) -> int:
        return self.spec.rows

    def __repr__(self) -> str:
        return f"StreamingDataset({self.name!r}, kind={self.kind!r}, rows={len(self)})"

    def __iter__(self) -> Iterator[str]:
        return _files.iter_gzip_column(self.path, self.spec.input_col)

    def batches(self, size: int) -> Iterator[list[str]]:
        """Lists of ``size`` SMILES (the last may be shorter)."""
        if size < 1:
            raise ValueError(f"batch size must be positive, got {size}")
        batch: list[str] = []
        for smiles in self:
            batch.append(smiles)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def head(self, n: int) -> Dataset:
        """The first ``n`` rows as an in-memory ``Dataset``."""
        inputs = []
        for smiles in self:
            if len(inputs) >= n:
                break
            inputs.append(smiles)
        info = {**self.info, "rows": len(inputs), "limit": n}
        return Dataset(self.name, inputs, None, self.kind, "unlabelled", info)


def iter_moses(split: str = "train") -> Iterator[str]:
    """Stream MOSES SMILES (``split``: ``train``, ``test`` or ``test_scaffolds``) from the gzip."""
    names = {"train": "moses", "test": "moses_test", "test_scaffolds": "moses_test_scaffolds"}
    if split not in names:
        raise DataError(f"unknown MOSES split {split!r}; choose one of {', '.join(names)}")
    spec = get_spec(names[split])
    return _files.iter_gzip_column(spec.paths()[0], spec.input_col)


# --------------------------------------------------------------------------------------------
# loading


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    input_col: str | None = None,
    target_col: str | None = None,
    kind: str | None = None,
    task: str | None = None,
    canonical: bool = False,
    skip_invalid: bool = False,
    skipped_path: str | os.PathLike | None = None,
    limit: int | None = None,
    validate: bool | None = None,
    keep_columns: bool = False,
) -> Dataset | StreamingDataset:
    """Load a registered dataset by name, or a user's csv file by path.

    - ``input_col`` / ``target_col``: for files, default to a column named formula, composition,
      smiles or selfies, and to ``target`` (or the other column of a two-column file; none means
      unlabelled). For named datasets they override the registered columns.
    - ``kind``: for files, when not given, taken from the input column's name (a column named
      formula, composition, smiles or selfies), else detected from the values
      (``chemtl.chem.kinds.detect_kind``); ``info["kind_source"]`` says which.
    - ``task``: ``regression`` / ``classification`` / ``unlabelled``; for files, detected (a
      target column of only 0 and 1 is classification). Class labels that are not numbers need
      ``task="classification"``.
    - ``canonical``: canonical SMILES / SELFIES as inputs (compositions stay as written).
    - ``validate``: check every input; always on for files, off by default for named datasets
      (their files are pinned by sha256 and checked by the test suite).
    - ``limit``: only the first ``limit`` rows (file order); for MOSES, materialises them.
    - ``keep_columns``: for files, every column besides the input (and the target, when one is
      read) goes into ``extra`` as text, exactly as written (ids, names; ``chemtl predict``
      carries them into its output). Named datasets keep their registered extra columns.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit must be a positive integer, got {limit!r}")
    if kind is not None:
        from chemtl.chem.kinds import check_kind

        check_kind(kind)
    if task is not None and task not in ("regression", "classification", "unlabelled"):
        raise DataError(f"unknown task {task!r}; choose regression, classification or unlabelled")
    text = os.fspath(name_or_path)
    if is_registered(text) and not Path(text).is_file():
        return _load_named(
            get_spec(text),
            input_col=input_col,
            target_col=target_col,
            kind=kind,
            task=task,
            canonical=canonical,
            skip_invalid=skip_invalid,
            skipped_path=skipped_path,
            limit=limit,
            validate=validate,
        )
    looks_like_path = Path(text).suffix != "" or os.sep in text or Path(text).exists()
    if not looks_like_path:
        get_spec(text)  # raises "unknown dataset ..., did you mean ..."
    return _load_file(
        Path(text),
        input_col=input_col,
        target_col=target_col,
        kind=kind,
        task=task,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=skipped_path,
        limit=limit,
        keep_columns=keep_columns,
    )


def _load_named(
    spec: DatasetSpec,
    *,
    input_col,
    target_col,
    kind,
    task,
    canonical,
    skip_invalid,
    skipped_path,
    limit,
    validate,
) -> Dataset | StreamingDataset:
    if kind is not None and kind != spec.kind:
        raise DataError(f"dataset {spec.name!r} holds {spec.kind} inputs, not {kind} (drop --kind)")
    if spec.reader == "corpus":
        from chemtl.data.corpus import load_corpus

        return load_corpus(limit=limit)
    paths = spec.paths()
    info = _named_info(spec)
    if spec.reader == "smiles_gz":
        info["files"] = [_file_record(spec, 0, paths[0])]
        info["sha256"] = info["files"][0]["sha256"]
        stream = StreamingDataset(spec, paths[0], info)
        return stream if limit is None else stream.head(limit)

    in_col = input_col or spec.input_col
    tgt_col = spec.target_col if target_col is None else target_col
    inputs: list[str] = []
    targets: list[str] = []
    rows: list[int] = []
    extra: dict[str, list] = {}
    records = []
    for i, path in enumerate(paths):
        if limit is not None and len(inputs) >= limit:
            break
        remaining = None if limit is None else limit - len(inputs)
        columns = [in_col] + ([tgt_col] if tgt_col else [])
        if spec.reader == "csv":
            wanted = columns + [c for c in spec.extra_cols if c not in columns]
            table = _files.read_csv_text(path, usecols=wanted, nrows=remaining, label=_label_of(spec, i))
            data, file_rows = table.data, table.rows
        else:  # sdf
            props = [c for c in dict.fromkeys(columns + list(spec.extra_cols)) if c != spec.input_col]
            smiles, data = _files.read_sdf(path, props, label=_label_of(spec, i))
            data[spec.input_col] = smiles
            if remaining is not None:
                data = {k: v[:remaining] for k, v in data.items()}
            file_rows = list(range(1, len(data[in_col]) + 1))
        record = _file_record(spec, i, path)
        record["rows"] = len(file_rows)
        records.append(record)
        inputs += data[in_col]
        if tgt_col:
            targets += data[tgt_col]
        rows += file_rows
        for col in spec.extra_cols:
            extra.setdefault(col, []).extend(data[col])
        if spec.file_labels:
            extra.setdefault(spec.split_column, []).extend([spec.file_labels[i]] * len(file_rows))
    info["files"] = records
    info["sha256"] = (
        records[0]["sha256"]
        if len(records) == 1
        else _files.sha256_strings(f"{r['path']}\t{r['sha256']}" for r in records)
    )
    if limit is not None:
        info["limit"] = limit
    where = f"dataset {spec.name!r}"
    if len(paths) > 1:
        where += f" ({', '.join(spec.file_labels) or 'files'})"
    return _assemble(
        name=spec.name,
        where=where,
        inputs=inputs,
        targets=targets if tgt_col else None,
        rows=rows,
        extra=extra,
        kind=spec.kind,
        task=task or (_named_task(spec, tgt_col) if tgt_col else "unlabelled"),
        classes=spec.classes if tgt_col == spec.target_col and task in (None, spec.task) else (),
        input_col=in_col,
        target_col=tgt_col,
        check_inputs=bool(validate) or canonical,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=Path(skipped_path) if skipped_path else Path(f"{spec.name}.skipped.csv"),
        info=info,
        kind_source="registry",
    )


def _label_of(spec: DatasetSpec, i: int) -> str:
    """How errors name file ``i`` of a registered dataset: by the dataset, not a site-packages path."""
    label = f"dataset {spec.name!r}"
    if len(spec.files) > 1:
        label += f" ({spec.file_labels[i] if spec.file_labels else spec.files[i]})"
    return label


def _named_task(spec: DatasetSpec, target_col: str) -> str | None:
    """The registered task for the registered target; another column's task is detected."""
    return spec.task if target_col == spec.target_col else None


def _named_info(spec: DatasetSpec) -> dict[str, Any]:
    installed = package_version(spec.package)
    if installed != spec.version:
        warnings.warn(
            f"dataset {spec.name!r} is pinned to {spec.package}=={spec.version} but {installed} is "
            "installed; its sha256 is recorded, compare it with the pinned one",
            stacklevel=3,
        )
    return {
        "name": spec.name,
        "source": "registry",
        "package": spec.package,
        "version": installed,
        "pinned_version": spec.version,
        "kind": spec.kind,
        "task": spec.task,
        "description": spec.description,
        "units": spec.units,
        "citation": spec.citation,
        "licence": spec.licence,
        "notes": spec.notes,
        "family": spec.family,
    }


def _file_record(spec: DatasetSpec, i: int, path: Path) -> dict[str, Any]:
    digest = _files.sha256_file(path)
    if digest != spec.sha256[i]:
        warnings.warn(
            f"{spec.name}: {spec.files[i]} has sha256 {digest[:12]}..., not the pinned "
            f"{spec.sha256[i][:12]}... ({spec.source})",
            stacklevel=4,
        )
    return {
        "path": f"{spec.module}/{spec.files[i]}",
        "sha256": digest,
        "pinned_sha256": spec.sha256[i],
        "matches_pin": digest == spec.sha256[i],
    }


def _pick_input_col(columns: list[str], where: str) -> str:
    lowered = {c.lower().strip(): c for c in columns}
    for name in INPUT_COLUMN_NAMES:
        if name in lowered:
            return lowered[name]
    cols = ", ".join(repr(c) for c in columns)
    raise DataError(
        f"{where}: no input column named formula, composition, smiles or selfies; name it with --input-col (the columns are {cols})"
    )


def _pick_target_col(columns: list[str], input_col: str) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    if "target" in lowered and lowered["target"] != input_col:
        return lowered["target"]
    others = [c for c in columns if c != input_col]
    return others[0] if len(columns) == 2 and len(others) == 1 else None


def _load_file(
    path: Path,
    *,
    input_col,
    target_col,
    kind,
    task,
    canonical,
    skip_invalid,
    skipped_path,
    limit,
    keep_columns=False,
) -> Dataset:
    where = str(path)
    table = _files.read_csv_text(path, nrows=limit)
    in_col = input_col or _pick_input_col(table.columns, where)
    if in_col not in table.data:
        table.column(in_col, where)
    tgt_col = target_col if target_col is not None else _pick_target_col(table.columns, in_col)
    if tgt_col is not None:
        table.column(tgt_col, where)
        if tgt_col == in_col:
            raise DataError(f"{where}: the input and target columns are both {in_col!r}")
    inputs = table.data[in_col]
    if kind is not None:
        kind_source = "given"
    elif in_col.strip().lower() in _KIND_BY_COLUMN:
        kind, kind_source = _KIND_BY_COLUMN[in_col.strip().lower()], "column name"
    else:
        from chemtl.chem.kinds import detect_kind

        try:
            kind = detect_kind(inputs)
        except ChemtlError as exc:
            raise DataError(f"{where}: column {in_col!r}: {exc}") from None
        kind_source = "values"
    digest = _files.sha256_file(path)
    info: dict[str, Any] = {
        "name": path.stem,
        "source": "file",
        "path": str(path.resolve()),
        "files": [{"path": str(path.resolve()), "sha256": digest, "rows": len(table)}],
        "sha256": digest,
        "kind": kind,
        "kind_source": kind_source,
    }
    if limit is not None:
        info["limit"] = limit
    if task == "unlabelled":
        tgt_col = None
    targets = table.data[tgt_col] if tgt_col else None
    extra = {c: table.data[c] for c in table.columns if c not in (in_col, tgt_col)} if keep_columns else {}
    return _assemble(
        name=path.stem,
        where=where,
        inputs=inputs,
        targets=targets,
        rows=table.rows,
        extra=extra,
        coerce_extra=not keep_columns,
        kind=kind,
        task=task,
        classes=(),
        input_col=in_col,
        target_col=tgt_col,
        check_inputs=True,
        canonical=canonical,
        skip_invalid=skip_invalid,
        skipped_path=Path(skipped_path) if skipped_path else path.with_name(f"{path.stem}.skipped.csv"),
        info=info,
        kind_source=kind_source,
    )


# --------------------------------------------------------------------------------------------
# validation and assembly, shared by named datasets and files


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _parse_target(text: str) -> tuple[float | None, str | None]:
    """(value, None) or (None, reason)."""
    stripped = text.strip()
    if stripped.lower() in MISSING_TARGETS:
        return None, "missing target (empty cell)" if not stripped else f"missing target ({stripped!r})"
    try:
        value = float(stripped)
    except ValueError:
        return None, f"target {text!r} is not a number"
    if not math.isfinite(value):
        return None, f"target {text!r} is not a finite number"
    return value, None


def _assemble(
    *,
    name: str,
    where: str,
    inputs: list[str],
    targets: list[str] | None,
    rows: list[int],
    extra: dict[str, list],
    kind: str,
    task: str | None,
    classes: Sequence[str],
    input_col: str,
    target_col: str | None,
    check_inputs: bool,
    canonical: bool,
    skip_invalid: bool,
    skipped_path: Path,
    info: dict[str, Any],
    kind_source: str,
    coerce_extra: bool = True,
) -> Dataset:
    from chemtl.chem.kinds import validate

    n = len(inputs)
    bad: list[tuple[int, str, str, str]] = []  # (row, column, value, reason)
    bad_inputs = 0
    keep: list[int] = []
    clean: list[str] = []
    if task is None:
        task = "regression" if targets is not None else "unlabelled"
        auto_task = targets is not None
    else:
        auto_task = False
    label_mode = targets is not None and task == "classification" and not classes
    values: list[Any] = []
    for i in range(n):
        value = inputs[i]
        if check_inputs:
            try:
                value = validate(value, kind, canonical=canonical)
            except ChemtlError as exc:
                bad.append((rows[i], input_col, inputs[i], str(exc)))
                bad_inputs += 1
                continue
        if targets is not None:
            text = targets[i]
            if classes:
                if text.strip() not in classes:
                    reason = f"class {text!r} is not one of {', '.join(map(repr, classes))}"
                    bad.append((rows[i], target_col, text, reason))
                    continue
                values.append(classes.index(text.strip()))
            elif label_mode and not _is_number(text):
                if text.strip().lower() in MISSING_TARGETS:
                    bad.append((rows[i], target_col, text, _parse_target(text)[1]))
                    continue
                values.append(text.strip())
            else:
                number, reason = _parse_target(text)
                if reason is not None:
                    bad.append((rows[i], target_col, text, reason))
                    continue
                values.append(number)
        keep.append(i)
        clean.append(value)

    if bad and len(keep) == 0:
        r, c, _, reason = bad[0]
        hint = ""
        if bad_inputs == n and kind_source == "given":
            hint = f"; is --kind {kind} right?"
        elif bad_inputs == n and kind_source == "column name":
            hint = f"; read as {kind} because the column is named {input_col!r}, pass --kind if it holds something else"
        raise DataError(f"{where}: all {n} rows are invalid{hint} (first: row {r}, column {c!r}: {reason})")
    if bad and not skip_invalid:
        r, c, _, reason = bad[0]
        raise DataError(
            f"{where}: row {r}, column {c!r}: {reason} ({len(bad)} of {n} rows invalid; "
            "fix them or pass --skip-invalid to skip them)"
        )

    target_array = None
    info_classes = list(classes) if classes else None
    if targets is not None:
        if classes:
            target_array = np.asarray(values, dtype=np.int64)
        elif label_mode and any(isinstance(v, str) for v in values):
            labels = sorted({str(v) if isinstance(v, str) else _label(v) for v in values})
            lookup = {lab: j for j, lab in enumerate(labels)}
            target_array = np.asarray(
                [lookup[v if isinstance(v, str) else _label(v)] for v in values], dtype=np.int64
            )
            info_classes = labels
        else:
            target_array = np.asarray(values, dtype=np.float64)
            if auto_task and len(target_array) and np.isin(target_array, (0.0, 1.0)).all():
                task = "classification"
            if task == "classification":
                if not np.all(target_array == np.round(target_array)):
                    first = next(v for v in target_array if v != round(v))
                    raise DataError(
                        f"{where}: column {target_col!r}: class label {first!r} is not an integer"
                    )
                target_array = target_array.astype(np.int64)
                if info_classes is None:
                    info_classes = [str(int(c)) for c in np.unique(target_array)]

    if bad:
        _write_skipped(skipped_path, bad)
        info["skipped"] = len(bad)
        info["skipped_path"] = str(skipped_path)
        log.info("%s: skipped %d invalid rows, listed in %s", where, len(bad), skipped_path)
    else:
        info["skipped"] = 0
    extra = {k: [v[i] for i in keep] if len(keep) < n else list(v) for k, v in extra.items()}
    if coerce_extra:
        extra = {k: _coerce_column(v) for k, v in extra.items()}
    info.update(
        rows=len(clean),
        input_col=input_col,
        target_col=target_col,
        kind=kind,
        task=task,
        canonical=canonical,
    )
    if info_classes is not None:
        info["classes"] = info_classes
    return Dataset(name, clean, target_array, kind, task, info, extra)


def _coerce_column(values: list) -> list:
    """Extra columns as ints, else floats, when every cell is one; text otherwise."""
    if not values or not all(isinstance(v, str) for v in values):
        return list(values)
    try:
        return [int(v) for v in values]
    except ValueError:
        pass
    try:
        return [float(v) for v in values]
    except ValueError:
        return list(values)


def _label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _write_skipped(path: Path, bad: list[tuple[int, str, str, str]]) -> None:
    import csv

    from chemtl.atomic import atomic_open

    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SKIPPED_COLUMNS)
        writer.writerows(bad)


# --------------------------------------------------------------------------------------------
# export


def export_dataset(ds: Dataset | StreamingDataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` as csv (input column named by kind, ``target``, extras), atomically.

    A failure part-way leaves no file (and an existing file untouched). Returns the path.
    """
    import csv

    from chemtl.atomic import atomic_open

    target = Path(path)
    try:
        with atomic_open(target, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            if isinstance(ds, StreamingDataset):
                writer.writerow([DEFAULT_INPUT_COL[ds.kind]])
                for batch in ds.batches(65536):
                    writer.writerows([s] for s in batch)
            else:
                columns = ds.columns()
                writer.writerow(list(columns))
                writer.writerows(zip(*columns.values()))
    except OSError as exc:
        raise DataError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return target
