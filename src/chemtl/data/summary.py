"""``summarize(ds)``: what ``chemtl datasets show`` prints about a dataset.

Rows and provenance; target statistics (count, mean, sample std, min, quartiles, max) or class
counts; duplicates by compound key (reduced formula / canonical SMILES) and the conflicting ones
(same compound, different targets); element coverage for compositions; scaffold coverage for
molecules. Parsing is cached (``chemtl.data.keys``), so a split after a summary is cheap.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from chemtl.data.keys import KEY_NAMES, compound_keys

STREAM_SAMPLE = 10000


def summarize(ds, top: int = 10, conflict_tol: float = 1e-8) -> dict[str, Any]:
    """A JSON-ready summary of ``ds`` (a ``Dataset``; a stream is summarised on its first rows)."""
    from chemtl.data.dataset import StreamingDataset

    out: dict[str, Any] = {"name": ds.name, "kind": ds.kind, "task": ds.task}
    if isinstance(ds, StreamingDataset):
        out["rows"] = len(ds)
        ds = ds.head(STREAM_SAMPLE)
        out["sampled_rows"] = len(ds)
    else:
        out["rows"] = len(ds)
    info = ds.info
    out["source"] = (
        f"{info['package']}=={info.get('version')}"
        if info.get("source") == "registry"
        else info.get("path", "")
    )
    out["sha256"] = info.get("sha256")
    if info.get("skipped"):
        out["skipped"] = info["skipped"]
    if ds.targets is not None:
        out["targets"] = _target_stats(ds)
    keys = compound_keys(ds.inputs, ds.kind)
    out["duplicates"] = _duplicates(keys, ds, conflict_tol, top)
    if ds.kind == "composition":
        out["elements"] = _element_coverage(ds.inputs, top)
    else:
        out["scaffolds"] = _scaffold_coverage(ds.inputs, ds.kind, top)
    return out


def _target_stats(ds) -> dict[str, Any]:
    t = np.asarray(ds.targets)
    if ds.task == "classification":
        names = ds.info.get("classes")
        counts = Counter(int(v) for v in t)
        return {
            "count": int(len(t)),
            "classes": {
                (names[k] if names and k < len(names) else str(k)): counts[k] for k in sorted(counts)
            },
        }
    q = np.quantile(t, [0.25, 0.5, 0.75]) if len(t) else [np.nan] * 3
    return {
        "count": int(len(t)),
        "mean": float(np.mean(t)),
        "std": float(np.std(t, ddof=1)) if len(t) > 1 else 0.0,
        "min": float(np.min(t)),
        "25%": float(q[0]),
        "50%": float(q[1]),
        "75%": float(q[2]),
        "max": float(np.max(t)),
    }


def _duplicates(keys: list[str], ds, tol: float, top: int) -> dict[str, Any]:
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    repeated = {k: g for k, g in groups.items() if len(g) > 1}
    out: dict[str, Any] = {
        "key": KEY_NAMES[ds.kind],
        "distinct": len(groups),
        "repeated_compounds": len(repeated),
        "rows_in_repeats": sum(len(g) for g in repeated.values()),
        "examples": list(repeated)[:top],
    }
    if ds.targets is not None:
        t = np.asarray(ds.targets, dtype=np.float64)
        spreads = {k: float(np.ptp(t[g])) for k, g in repeated.items()}
        conflicting = {k: s for k, s in spreads.items() if s > tol}
        out["conflicting_compounds"] = len(conflicting)
        out["max_target_spread"] = max(spreads.values(), default=0.0)
        out["conflicting_examples"] = sorted(conflicting, key=lambda k: -conflicting[k])[:top]
    return out


def _element_coverage(formulas: list[str], top: int) -> dict[str, Any]:
    from chemtl.chem.composition import parse_composition

    counts: Counter[str] = Counter()
    per_formula: Counter[int] = Counter()
    for f in formulas:
        elements = parse_composition(f).elements
        counts.update(set(elements))
        per_formula[len(set(elements))] += 1
    return {
        "distinct": len(counts),
        "top": [[el, n] for el, n in counts.most_common(top)],
        "rare": [[el, n] for el, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))[:top]],
        "per_formula": {str(k): per_formula[k] for k in sorted(per_formula)},
    }


def _scaffold_coverage(inputs: list[str], kind: str, top: int) -> dict[str, Any]:
    from chemtl.chem.smiles import murcko_scaffold

    if kind == "selfies":
        from chemtl.chem.selfies import selfies_to_smiles

        inputs = [selfies_to_smiles(s) for s in inputs]
    counts = Counter(murcko_scaffold(s) for s in inputs)
    n = max(len(inputs), 1)
    largest = counts.most_common(1)[0] if counts else ("", 0)
    return {
        "distinct": len(counts),
        "acyclic": counts.get("", 0),
        "singletons": sum(1 for c in counts.values() if c == 1),
        "top": [[s, c] for s, c in counts.most_common(top)],
        "largest_share": round(largest[1] / n, 4),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Plain text for the terminal."""
    lines = [
        f"{summary['name']}: {summary['rows']} rows, {summary['kind']}, {summary['task']}",
        f"source: {summary.get('source', '')}",
        f"sha256: {summary.get('sha256')}",
    ]
    if "sampled_rows" in summary:
        lines.append(f"(statistics below on the first {summary['sampled_rows']} rows)")
    if summary.get("skipped"):
        lines.append(f"skipped invalid rows: {summary['skipped']}")
    t = summary.get("targets")
    if t and "classes" in t:
        lines.append("classes: " + ", ".join(f"{k} {v}" for k, v in t["classes"].items()))
    elif t:
        lines.append(
            "target: "
            + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in t.items())
        )
    d = summary["duplicates"]
    dup = (
        f"duplicates by {d['key']}: {d['distinct']} distinct, {d['repeated_compounds']} repeated "
        f"({d['rows_in_repeats']} rows)"
    )
    if "conflicting_compounds" in d:
        dup += (
            f", {d['conflicting_compounds']} with different targets (max spread {d['max_target_spread']:.4g})"
        )
    lines.append(dup)
    if d["examples"]:
        lines.append("  e.g. " + ", ".join(d["examples"][:5]))
    if "elements" in summary:
        e = summary["elements"]
        lines.append(
            f"elements: {e['distinct']} distinct; most common: " + ", ".join(f"{a} {b}" for a, b in e["top"])
        )
        lines.append("elements per formula: " + ", ".join(f"{k}: {v}" for k, v in e["per_formula"].items()))
    if "scaffolds" in summary:
        s = summary["scaffolds"]
        lines.append(
            f"scaffolds: {s['distinct']} distinct, {s['singletons']} singletons, {s['acyclic']} acyclic; "
            f"largest group {s['largest_share']:.1%} of rows"
        )
        lines.append("  top: " + ", ".join(f"{k or '(acyclic)'} {v}" for k, v in s["top"][:5]))
    return "\n".join(lines)
