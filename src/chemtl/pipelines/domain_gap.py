"""``domain_gap_report``: how far a target dataset lies from a source dataset in a model's
embedding space.

Both sides (registered dataset names or csv files) are read inputs-only, each reduced to its
distinct input strings (a compound listed twice, such as matbench_mp_gap's polymorphs of one
formula, embeds to one point), and with ``limit`` capped at ``limit`` rows per side by a seeded
subsample (``numpy.random.default_rng(seed)``, source first, rows kept in file order). Both are
embedded with the model's encoder (``chemtl.pipelines.predict.embed``: the pooled output, of the
fine-tuned encoder for a fine-tuned directory) and compared by
``chemtl.evaluate.domain_gap.domain_gap`` (MMD with its permutation p-value, proxy A-distance,
nearest-neighbour shift; that module documents each).

``out_dir`` gets ``domain_gap.json`` (the numbers, the model, both sides' names, row counts and
data sha256s, the settings, package versions and commit) and ``domains.png`` (both sides in the
first two principal components), each written atomically once everything is computed; an
``out_dir`` that already holds a ``domain_gap.json`` is refused unless ``overwrite``.

Refused with one line naming the value: sides of different kinds (or of another kind than the
model), an empty side, and a target that holds exactly the source's set of compounds
(``chemtl.data.keys.compound_keys``). ``source_col`` / ``target_col`` name each side's label
column, as ``chemtl adapt`` takes them; the diagnostics never read labels, so they only check
that the column exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError

REPORT_FILE = "domain_gap.json"
FIGURE_FILE = "domains.png"
_KEY_CHUNK = 512


class DomainGapReportError(ChemtlError):
    """Data or an output directory that a domain-gap report cannot use."""


def _load_side(data: str | os.PathLike, role: str, *, input_col: str | None, label_col: str | None):
    """One side's rows, inputs-only, as ``chemtl predict`` reads data (``load_table``'s rule)."""
    from chemtl.data import load_dataset
    from chemtl.data.dataset import Dataset
    from chemtl.data.registry import is_registered

    text = os.fspath(data)
    named = is_registered(text) and not Path(text).is_file()
    if named:
        ds = load_dataset(text, input_col=input_col, target_col=label_col)
    else:
        ds = load_dataset(text, input_col=input_col, target_col=label_col, task="unlabelled")
    if not isinstance(ds, Dataset):
        raise DomainGapReportError(f"{role} {text!r} is a streamed corpus, not a table")
    if len(ds) == 0:
        raise DomainGapReportError(f"{role} {text!r} has no rows")
    return ds


def _same_compounds(source: list[str], target: list[str], kind: str) -> bool:
    """Whether ``source`` and ``target`` hold the same set of compound keys. Equal input lists
    are; otherwise the smaller side is keyed whole and the larger one in chunks, stopping at its
    first compound the smaller side lacks (so two different datasets cost a few keys)."""
    from chemtl.data.keys import compound_keys

    if source == target:
        return True
    small, large = (source, target) if len(set(source)) <= len(set(target)) else (target, source)
    small_keys = set(compound_keys(list(dict.fromkeys(small)), kind))
    large_distinct = list(dict.fromkeys(large))
    seen: set[str] = set()
    for i in range(0, len(large_distinct), _KEY_CHUNK):
        keys = compound_keys(large_distinct[i : i + _KEY_CHUNK], kind)
        if not small_keys.issuperset(keys):
            return False
        seen.update(keys)
    return seen == small_keys


def _distinct_rows(inputs: list[str], limit: int | None, rng: np.random.Generator) -> list[str]:
    """The distinct inputs in file order; at most ``limit`` of them, drawn by ``rng``."""
    distinct = list(dict.fromkeys(inputs))
    if limit is None or len(distinct) <= limit:
        return distinct
    keep = np.sort(rng.choice(len(distinct), size=limit, replace=False))
    return [distinct[i] for i in keep]


def _side_record(data, ds, used: int, label_col: str | None) -> dict[str, Any]:
    return {
        "data": os.fspath(data),
        "name": ds.name,
        "source": ds.info.get("source"),
        "sha256": ds.info.get("sha256"),
        "rows": len(ds),
        "distinct": len(set(ds.inputs)),
        "used": used,
        "label_col": label_col,
    }


def domain_gap_report(
    model: str | os.PathLike,
    source: str | os.PathLike,
    target: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    input_col: str | None = None,
    source_col: str | None = None,
    target_col: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    n_permutations: int = 200,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Embed ``source`` and ``target`` with ``model``'s encoder, compare them, write
    ``out_dir/domain_gap.json`` and ``out_dir/domains.png``; returns the report dict (see the
    module docstring)."""
    from chemtl.atomic import write_json
    from chemtl.evaluate.domain_gap import (
        MMD_ESTIMATOR,
        MMD_MAX_POINTS,
        domain_gap,
        plot_domains,
    )
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.pipelines.predict import embed
    from chemtl.training.manifest import git_commit, now_iso, versions

    started = now_iso()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DomainGapReportError(f"output {str(out)!r} exists and is not a directory")
    if (out / REPORT_FILE).exists() and not overwrite:
        raise DomainGapReportError(
            f"{str(out)!r} already holds a domain-gap report; pass --overwrite to replace it"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 5):
        raise DomainGapReportError(f"limit must be an integer of at least 5 (rows per side), got {limit!r}")
    loaded = load_model_dir(model)
    src = _load_side(source, "source", input_col=input_col, label_col=source_col)
    tgt = _load_side(target, "target", input_col=input_col, label_col=target_col)
    if src.kind != tgt.kind:
        raise DomainGapReportError(
            f"source {os.fspath(source)!r} holds {src.kind} inputs but target {os.fspath(target)!r} "
            f"holds {tgt.kind} inputs; compare two sets of one kind"
        )
    if src.kind != loaded.kind:
        raise DomainGapReportError(
            f"source {os.fspath(source)!r} and target {os.fspath(target)!r} hold {src.kind} inputs but "
            f"model {os.fspath(model)!r} reads {loaded.kind} inputs"
        )
    if _same_compounds(src.inputs, tgt.inputs, src.kind):
        raise DomainGapReportError(
            f"target {os.fspath(target)!r} holds the same set of compounds as source {os.fspath(source)!r}; "
            "a domain gap needs two different sets"
        )
    rng = np.random.default_rng(seed)
    src_rows = _distinct_rows(src.inputs, limit, rng)
    tgt_rows = _distinct_rows(tgt.inputs, limit, rng)
    for role, data, rows in (("source", source, src_rows), ("target", target, tgt_rows)):
        if len(rows) < 5:
            raise DomainGapReportError(
                f"{role} {os.fspath(data)!r} has {len(rows)} distinct input(s); at least 5 are needed"
            )
    if len(src_rows) + len(tgt_rows) > MMD_MAX_POINTS:
        raise DomainGapReportError(
            f"{len(src_rows)} source + {len(tgt_rows)} target inputs exceed the MMD's {MMD_MAX_POINTS} points; "
            f"pass --limit N (at most {MMD_MAX_POINTS // 2} per side)"
        )
    emb = embed(model, src_rows + tgt_rows)
    src_emb, tgt_emb = emb[: len(src_rows)], emb[len(src_rows) :]
    numbers = domain_gap(src_emb, tgt_emb, seed=seed, n_permutations=n_permutations)
    report: dict[str, Any] = {
        "model": os.fspath(model),
        "model_kind": loaded.kind,
        "embedding_dim": int(emb.shape[1]),
        "source": _side_record(source, src, len(src_rows), source_col),
        "target": _side_record(target, tgt, len(tgt_rows), target_col),
        "input_col": input_col,
        "limit": limit,
        "seed": seed,
        "settings": {
            "mmd_estimator": MMD_ESTIMATOR,
            "mmd_kernel": "rbf, bandwidth = median pairwise distance of the pooled embeddings",
            "n_permutations": n_permutations,
            "a_distance_classifier": "StandardScaler + LogisticRegression(class_weight=balanced), "
            "5-fold stratified CV, balanced error",
            "nn_quantile": 0.95,
        },
        **numbers,
        "figure": FIGURE_FILE,
        "started": started,
        "finished": now_iso(),
        "versions": versions(),
        "git_commit": git_commit(),
    }
    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        (out / REPORT_FILE).unlink(missing_ok=True)  # the figure is written first, the report last
    plot_domains(
        src_emb,
        tgt_emb,
        out / FIGURE_FILE,
        labels=(src.name, tgt.name) if src.name != tgt.name else ("source", "target"),
        title=f"{Path(os.fspath(model)).name}: PCA of both domains",
    )
    write_json(out / REPORT_FILE, report)
    return report
