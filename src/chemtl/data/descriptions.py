"""Short text descriptions of compositions, built from the labelled composition datasets.

One description per compound (``chemtl.data.keys.composition_key``: ``Fe4O6`` and ``Fe2O3`` are
one compound), from these sources, joined by compound key:

    matbench_expt_gap       experimental band gap (eV)
    matbench_expt_is_metal  experimental metal (1) / non-metal (0)
    matbench_mp_gap         DFT (PBE) band gap (eV), one row per polymorph
    matbench_mp_is_metal    DFT metal / non-metal, one row per polymorph
    matbench_mp_e_form      DFT formation energy (eV/atom), one row per polymorph

Facts per compound (``collect_facts``), experiment first:

- band gap and metal: from the experimental sets when the compound is in them: the mean of its
  ``expt_gap`` rows, metal by the majority of its ``expt_is_metal`` rows (a tie counts as metal;
  without ``expt_is_metal`` rows, metal means a gap of 0). A compound only in ``expt_is_metal``
  that is a metal gets the band gap 0.0 (experimental), as ``matbench_expt_gap`` writes metals;
  a non-metal there takes its gap from DFT. Otherwise both come from DFT: metal by the majority
  of its ``mp_is_metal`` rows (ties: metal; without those rows, a gap of 0 is a metal), the band
  gap 0.0 for a metal, else the median gap of its non-metal polymorphs.
- formation energy: the lowest of its ``mp_e_form`` rows (the lowest-energy polymorph).
- a compound with no band gap from any source gets no description (they must all state one).
  Stability (energy above the hull) is in none of these sets, so descriptions do not claim it.

The template (``describe_facts``) is fixed, so the same facts give the same text::

    non-metal semiconductor, band gap 2.1 eV (experimental), formation energy -1.7 eV/atom (DFT).
    metal, band gap 0.0 eV (DFT).

The band gap is always written "band gap X.X eV" (one decimal) and the class always "metal" or
"non-metal" (with "semiconductor" below a written gap of 3.0 eV, "insulator" from 3.0 eV), so
``read_description`` reads both back from any text that follows the template. Words are
separated by single spaces with punctuation attached, so a word-level tokenizer that splits on
whitespace round-trips the text exactly.

The split (``split_side``): each compound's side is a pure function of ``(seed, key)``: the first
8 bytes of ``sha256(f"{seed}:{key}")`` as a fraction of 2**64, train below 0.8, val below 0.9,
test above. It is disjoint by compound key by construction, and a compound keeps its side when
the sources grow or shrink.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SOURCES = {
    "expt_gap": "matbench_expt_gap",
    "expt_is_metal": "matbench_expt_is_metal",
    "mp_gap": "matbench_mp_gap",
    "mp_is_metal": "matbench_mp_is_metal",
    "mp_e_form": "matbench_mp_e_form",
}
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
SIDES = ("train", "val", "test")
INSULATOR_GAP = 3.0  # eV: the written gap from which a non-metal is called an insulator
EXPERIMENTAL, DFT = "experimental", "DFT"

_GAP = re.compile(r"\bband gap (-?\d+(?:\.\d+)?) eV\b")
_NON_METAL = re.compile(r"(?<![\w-])non-metal\b")
_METAL = re.compile(r"(?<![\w-])metal\b")


@dataclass(frozen=True)
class Facts:
    """What the sources say about one compound (``key``: its compound key)."""

    key: str
    band_gap: float
    gap_source: str  # EXPERIMENTAL or DFT
    metal: bool
    e_form: float | None = None


def _one_decimal(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def describe_facts(facts: Facts) -> str:
    """The description of ``facts`` (see the module docstring for the template)."""
    gap = _one_decimal(facts.band_gap)
    if facts.metal:
        head = "metal"
    else:
        head = "non-metal " + ("insulator" if float(gap) >= INSULATOR_GAP else "semiconductor")
    text = f"{head}, band gap {gap} eV ({facts.gap_source})"
    if facts.e_form is not None:
        text += f", formation energy {_one_decimal(facts.e_form)} eV/atom (DFT)"
    return text + "."


def read_description(text: str) -> dict[str, Any]:
    """``{"band_gap": float | None, "metal": bool | None}`` read back from a description.

    The band gap is the number of the first "band gap X eV"; metal is False where "non-metal"
    appears, else True where "metal" appears as a word, else None (a text that says neither).
    """
    found = _GAP.search(text)
    if _NON_METAL.search(text):
        metal: bool | None = False
    elif _METAL.search(text):
        metal = True
    else:
        metal = None
    return {"band_gap": float(found.group(1)) if found else None, "metal": metal}


def split_side(key: str, seed: int = 0) -> str:
    """The side ("train", "val" or "test") of compound ``key`` under ``seed`` (module docstring)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    train, val, _ = SPLIT_FRACTIONS
    return "train" if u < train else "val" if u < train + val else "test"


def _rows_by_key(ds) -> dict[str, list[float]]:
    from chemtl.data.keys import compound_keys

    out: dict[str, list[float]] = defaultdict(list)
    for key, value in zip(compound_keys(ds.inputs, "composition"), ds.targets.tolist()):
        out[key].append(float(value))
    return out


def _metal_vote(labels: Sequence[float]) -> bool:
    return sum(labels) * 2 >= len(labels)  # a tie counts as metal


def load_sources(names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The source datasets (``SOURCES``, or ``names``: role -> dataset name), loaded."""
    from chemtl.data import load_dataset

    return {role: load_dataset(name) for role, name in (names or SOURCES).items()}


def collect_facts(tables: Mapping[str, Any] | None = None) -> list[Facts]:
    """Facts of every compound with a band gap, sorted by key. ``tables`` maps roles of
    ``SOURCES`` (any subset) to ``chemtl.data.Dataset``s; None loads all five registered sets."""
    tables = load_sources() if tables is None else tables
    unknown = sorted(set(tables) - set(SOURCES))
    if unknown:
        from chemtl.errors import ChemtlError

        raise ChemtlError(f"unknown description source(s) {', '.join(unknown)}; use {', '.join(SOURCES)}")
    by = {role: _rows_by_key(ds) for role, ds in tables.items()}
    expt_gap, expt_metal = by.get("expt_gap", {}), by.get("expt_is_metal", {})
    mp_gap, mp_metal, e_form = by.get("mp_gap", {}), by.get("mp_is_metal", {}), by.get("mp_e_form", {})

    def dft(key: str) -> tuple[float, bool] | None:
        gaps = mp_gap.get(key)
        if key in mp_metal:
            metal = _metal_vote(mp_metal[key])
        elif gaps:
            metal = _metal_vote([1.0 if g == 0 else 0.0 for g in gaps])
        else:
            return None
        if metal:
            return 0.0, True
        if not gaps:
            return None
        positive = [g for g in gaps if g > 0] or gaps
        return float(statistics.median(positive)), False

    out = []
    for key in sorted(set(expt_gap) | set(expt_metal) | set(mp_gap) | set(mp_metal)):
        gap: float | None = None
        source = EXPERIMENTAL
        if key in expt_gap:
            gap = statistics.fmean(expt_gap[key])
            metal = _metal_vote(expt_metal[key]) if key in expt_metal else gap == 0
        elif key in expt_metal:
            metal = _metal_vote(expt_metal[key])
            if metal:
                gap = 0.0
            else:
                found = dft(key)
                if found is not None and not found[1]:
                    gap, source = found[0], DFT
        else:
            found = dft(key)
            if found is not None:
                (gap, metal), source = found, DFT
        if gap is None:
            continue
        energies = e_form.get(key)
        out.append(Facts(key, gap, source, metal, min(energies) if energies else None))
    return out


def description_table(tables: Mapping[str, Any] | None = None, seed: int = 0):
    """A DataFrame, one row per described compound, sorted by key: ``formula`` (the compound
    key), ``description``, ``band_gap``, ``gap_source``, ``metal``, ``e_form``, ``split``."""
    import pandas as pd

    facts = collect_facts(tables)
    return pd.DataFrame(
        {
            "formula": [f.key for f in facts],
            "description": [describe_facts(f) for f in facts],
            "band_gap": [f.band_gap for f in facts],
            "gap_source": [f.gap_source for f in facts],
            "metal": [f.metal for f in facts],
            "e_form": [f.e_form for f in facts],
            "split": [split_side(f.key, seed) for f in facts],
        }
    )


__all__ = [
    "DFT",
    "EXPERIMENTAL",
    "SOURCES",
    "Facts",
    "collect_facts",
    "describe_facts",
    "description_table",
    "load_sources",
    "read_description",
    "split_side",
]
