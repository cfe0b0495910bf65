"""Descriptions from labelled composition sets: exact text, read-back, the seeded compound split."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from chemtl.data.dataset import Dataset
from chemtl.data.descriptions import (
    Facts,
    collect_facts,
    describe_facts,
    description_table,
    read_description,
    split_side,
)
from chemtl.errors import ChemtlError


def _table(name: str, rows: dict[str, list[float]] | list[tuple[str, float]], task: str = "regression"):
    pairs = rows if isinstance(rows, list) else [(k, v) for k, vs in rows.items() for v in vs]
    return Dataset(
        name=name,
        inputs=[p[0] for p in pairs],
        targets=np.asarray([p[1] for p in pairs], dtype=np.float64 if task == "regression" else np.int64),
        kind="composition",
        task=task,
    )


@pytest.fixture
def tables():
    return {
        # Fe4O6 is Fe2O3: its two measurements average to 2.1
        "expt_gap": _table("g", [("Fe2O3", 2.2), ("Fe4O6", 2.0), ("Cu", 0.0), ("MgO", 7.83)]),
        "expt_is_metal": _table("m", [("Fe2O3", 0), ("Cu", 1), ("Au", 1), ("ZnO", 0)], "classification"),
        # two polymorphs of TiO2; ZnO's DFT gap is used (experiment says non-metal, no expt gap)
        "mp_gap": _table("mg", [("TiO2", 1.8), ("TiO2", 2.2), ("TiO2", 2.1), ("ZnO", 0.73), ("NiAl", 0.0)]),
        "mp_is_metal": _table(
            "mm", [("TiO2", 0), ("TiO2", 0), ("TiO2", 0), ("ZnO", 0), ("NiAl", 1)], "classification"
        ),
        "mp_e_form": _table("e", [("Fe2O3", -1.71), ("Fe2O3", -1.65), ("TiO2", -3.51), ("LiF", -3.1)]),
    }


def test_descriptions_of_hand_picked_compounds(tables):
    table = description_table(tables)
    text = dict(zip(table["formula"], table["description"]))
    assert text == {
        "Au": "metal, band gap 0.0 eV (experimental).",
        "Cu": "metal, band gap 0.0 eV (experimental).",
        "Fe2O3": "non-metal semiconductor, band gap 2.1 eV (experimental), formation energy -1.7 eV/atom (DFT).",
        "MgO": "non-metal insulator, band gap 7.8 eV (experimental).",
        "AlNi": "metal, band gap 0.0 eV (DFT).",  # the key: pymatgen orders by electronegativity
        "TiO2": "non-metal semiconductor, band gap 2.1 eV (DFT), formation energy -3.5 eV/atom (DFT).",
        "ZnO": "non-metal semiconductor, band gap 0.7 eV (DFT).",
    }
    # LiF has a formation energy but no band gap from any source: no description
    assert "LiF" not in text
    assert list(table.columns) == [
        "formula",
        "description",
        "band_gap",
        "gap_source",
        "metal",
        "e_form",
        "split",
    ]
    row = table.set_index("formula").loc["Fe2O3"]
    assert (row["band_gap"], row["gap_source"], bool(row["metal"]), row["e_form"]) == (
        pytest.approx(2.1),
        "experimental",
        False,
        -1.71,
    )


def test_collect_facts_sorted_and_typed(tables):
    facts = collect_facts(tables)
    assert [f.key for f in facts] == ["AlNi", "Au", "Cu", "Fe2O3", "MgO", "TiO2", "ZnO"]
    assert facts[5] == Facts("TiO2", 2.1, "DFT", False, -3.51)


def test_unknown_source_is_refused(tables):
    with pytest.raises(ChemtlError, match="unknown description source\\(s\\) stability"):
        collect_facts({"stability": tables["mp_gap"]})


@pytest.mark.parametrize(
    "facts",
    [
        Facts("X", 0.0, "DFT", True, None),
        Facts("X", 2.96, "experimental", False, -0.04),
        Facts("X", 3.04, "DFT", False, 1.25),
        Facts("X", 11.5, "experimental", False, -4.0),
    ],
)
def test_read_description_round_trips(facts):
    text = describe_facts(facts)
    assert read_description(text) == {"band_gap": round(facts.band_gap, 1), "metal": facts.metal}


def test_rounding_edges():
    assert describe_facts(Facts("X", 2.96, "DFT", False, -0.04)) == (
        "non-metal insulator, band gap 3.0 eV (DFT), formation energy 0.0 eV/atom (DFT)."
    )


def test_read_description_of_other_text():
    assert read_description("a metal alloy") == {"band_gap": None, "metal": True}
    assert read_description("band gap 1.25 eV, a metalloid") == {"band_gap": 1.25, "metal": None}
    assert read_description("") == {"band_gap": None, "metal": None}


def test_split_is_seeded_and_disjoint_by_key():
    keys = [f"Li{n}O" for n in range(1, 400)]
    sides = [split_side(k, seed=0) for k in keys]
    assert sides == [split_side(k, seed=0) for k in keys]  # a pure function of (seed, key)
    assert [split_side(k, seed=1) for k in keys] != sides
    counts = {s: sides.count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 323, "val": 36, "test": 40}
    # by hand: the first 8 bytes of sha256("0:Fe2O3") as a fraction of 2**64
    u = int.from_bytes(hashlib.sha256(b"0:Fe2O3").digest()[:8], "big") / 2**64
    assert split_side("Fe2O3", 0) == ("train" if u < 0.8 else "val" if u < 0.9 else "test")


def test_table_split_is_by_compound_key(tables):
    table = description_table(tables, seed=0)
    assert table["formula"].is_unique  # one row per compound: a key is on exactly one side
    assert list(table["split"]) == [split_side(k, 0) for k in table["formula"]]
