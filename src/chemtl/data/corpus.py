"""The unlabelled inorganic composition corpus: every crabnet formula, once per reduced formula.

Built from every csv under ``crabnet/data`` except ``element_properties`` (matbench, matbench_cv,
benchmark_data, materials_data), files sorted by relative path, rows in file order. Each distinct
formula string is parsed with ``parse_composition``; those that do not parse are dropped (and
counted); the rest are deduplicated by reduced formula (``chemtl.data.keys.composition_key``,
which also reduces ``Cu1.8S`` to ``Cu9S5``): the corpus holds, for each reduced formula, the first
formula string that has it, as written (``K4Mn4O8``, ``Ag(AuS)2``), in order of appearance.

Parsing ~570k distinct strings takes about a minute, so the result is cached in
``$CHEMTL_CACHE`` (default ``~/.cache/chemtl``) under a name keyed by the sha256 of every source
file and the pymatgen version (which defines the reduced formula); both files are written
atomically, so an interrupted build leaves no partial cache.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

from tqdm import tqdm

from chemtl.data import files as _files
from chemtl.data.registry import get_spec, package_dir, package_version

log = logging.getLogger(__name__)

CORPUS_NAME = "inorganic_corpus"
FORMAT_VERSION = 1
KEY_VERSION = 2  # bump when chemtl.data.keys.composition_key changes
_CHUNK = 20000


def cache_dir() -> Path:
    """``$CHEMTL_CACHE`` or ``~/.cache/chemtl`` (``$XDG_CACHE_HOME/chemtl`` when that is set)."""
    env = os.environ.get("CHEMTL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "chemtl"


def corpus_sources() -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every crabnet csv the corpus reads, sorted by path."""
    root = package_dir("crabnet", "crabnet") / "data"
    found = []
    for path in root.rglob("*.csv"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("element_properties/"):
            continue
        found.append((f"crabnet/data/{rel}", path))
    return sorted(found)


def _reduce_chunk(values: list[str]) -> list[str | None]:
    from chemtl.data.keys import composition_key
    from chemtl.errors import ChemtlError

    out: list[str | None] = []
    for value in values:
        try:
            out.append(composition_key(value))
        except ChemtlError:
            out.append(None)
    return out


def _cache_key(records: list[dict[str, Any]]) -> str:
    lines = [f"format {FORMAT_VERSION}", f"pymatgen {package_version('pymatgen')}", f"key {KEY_VERSION}"]
    lines += [f"{r['path']}\t{r['sha256']}" for r in records]
    return _files.sha256_strings(lines)


def build_corpus(workers: int | None = None) -> tuple[list[str], dict[str, Any]]:
    """Build the corpus from the crabnet files (no cache); return (formulas, build info)."""
    start = time.perf_counter()
    sources = corpus_sources()
    records = []
    raw_rows = 0
    seen: dict[str, None] = {}
    for rel, path in sources:
        table = _files.read_csv_text(path, usecols=["formula"], label=f"inorganic_corpus source {rel!r}")
        column = table.data["formula"]
        raw_rows += len(column)
        seen.update(dict.fromkeys(column))
        records.append({"path": rel, "sha256": _files.sha256_file(path), "rows": len(column)})
    strings = list(seen)  # distinct strings, in order of first appearance
    chunks = [strings[i : i + _CHUNK] for i in range(0, len(strings), _CHUNK)]
    workers = workers or min(4, os.cpu_count() or 1)
    if "fork" not in get_all_start_methods():
        workers = 1  # spawn would re-run the caller's __main__; stay serial there
    progress = tqdm(total=len(strings), desc="parsing corpus formulas", unit=" formulas", mininterval=1.0)
    reduced = []
    with progress, contextlib.ExitStack() as stack:
        if workers > 1 and len(chunks) > 1:
            # fork: the workers only parse strings, and unlike spawn it does not re-import __main__
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
            )
            parts = pool.map(_reduce_chunk, chunks)
        else:
            parts = map(_reduce_chunk, chunks)
        for part in parts:
            reduced.extend(part)
            progress.update(len(part))
    invalid = [s for s, r in zip(strings, reduced) if r is None]
    first: dict[str, str] = {}
    for s, r in zip(strings, reduced):
        if r is not None and r not in first:
            first[r] = s.strip()
    formulas = list(first.values())
    info = {
        "raw_rows": raw_rows,
        "distinct_strings": len(strings),
        "invalid_strings": len(invalid),
        "invalid_examples": invalid[:10],
        "rows": len(formulas),
        "build_seconds": round(time.perf_counter() - start, 1),
        "workers": workers,
        "files": records,
    }
    return formulas, info


def corpus_cache_paths(key: str) -> tuple[Path, Path]:
    base = cache_dir() / f"{CORPUS_NAME}-{key[:16]}"
    return base.with_suffix(".csv"), base.with_suffix(".json")


def load_corpus(limit: int | None = None, rebuild: bool = False, workers: int | None = None):
    """The corpus as a ``Dataset`` (unlabelled compositions), from the cache or built once."""
    from chemtl.atomic import atomic_open, write_json
    from chemtl.data.dataset import Dataset, _named_info

    spec = get_spec(CORPUS_NAME)
    sources = corpus_sources()
    records = [{"path": rel, "sha256": _files.sha256_file(p)} for rel, p in sources]
    key = _cache_key(records)
    csv_path, meta_path = corpus_cache_paths(key)
    meta = None
    if not rebuild and csv_path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
    if meta is not None and meta.get("cache_key") == key:
        with open(csv_path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            formulas = [row[0] for row in reader]
        if len(formulas) != meta["rows"]:
            meta = None  # damaged cache: rebuild
    if meta is None or meta.get("cache_key") != key:
        log.info("building %s from %d crabnet files (one-off, about a minute)", CORPUS_NAME, len(sources))
        formulas, meta = build_corpus(workers=workers)
        meta["cache_key"] = key
        meta["pymatgen"] = package_version("pymatgen")
        try:
            with atomic_open(csv_path, "w", encoding="utf-8", newline="") as handle:
                handle.write("formula\n")
                handle.writelines(f"{f}\n" for f in formulas)
            write_json(meta_path, meta)
        except OSError as exc:  # an unwritable cache only costs the rebuild next time
            log.warning("cannot cache %s in %s: %s", CORPUS_NAME, csv_path.parent, exc)
        meta["cache_hit"] = False
    else:
        meta["cache_hit"] = True
    if meta["rows"] != spec.rows:
        warnings.warn(
            f"{CORPUS_NAME}: built {meta['rows']} formulas, the pinned files gave {spec.rows} "
            f"(pymatgen {package_version('pymatgen')}); the build is recorded in info",
            stacklevel=2,
        )
    info = _named_info(spec)
    info.update(
        files=meta["files"],
        sha256=key,
        cache_path=str(csv_path),
        raw_rows=meta["raw_rows"],
        distinct_strings=meta["distinct_strings"],
        invalid_strings=meta["invalid_strings"],
        invalid_examples=meta["invalid_examples"],
        build_seconds=meta["build_seconds"],
        cache_hit=meta["cache_hit"],
        input_col="formula",
        target_col=None,
        skipped=0,
        canonical=False,
    )
    if limit is not None:
        formulas = formulas[:limit]
        info["limit"] = limit
    info["rows"] = len(formulas)
    return Dataset(CORPUS_NAME, formulas, None, "composition", "unlabelled", info)
