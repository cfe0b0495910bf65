"""`datasets show`: target statistics, duplicates, element and scaffold coverage."""

from __future__ import annotations

import time

import pytest

from chemtl.data import load_dataset
from chemtl.data.summary import format_summary, summarize


def test_expt_gap_summary():
    start = time.perf_counter()
    s = summarize(load_dataset("matbench_expt_gap"), top=5)
    assert time.perf_counter() - start < 20  # a few seconds; generous for a loaded machine
    assert s["rows"] == 4604 and s["source"] == "crabnet==2.0.8"
    assert s["sha256"].startswith("3de82c37f1db")
    t = s["targets"]
    assert t["count"] == 4604 and t["min"] == 0.0 and t["max"] == 11.7
    assert t["mean"] == pytest.approx(0.9759513466550827)
    assert t["std"] == pytest.approx(1.4450343278963889)
    assert (t["25%"], t["50%"], t["75%"]) == (0.0, 0.0, 1.8125)
    assert s["duplicates"] == {
        "key": "reduced formula",
        "distinct": 4601,
        "repeated_compounds": 3,
        "rows_in_repeats": 6,
        "examples": ["Cu9S5", "In3CuSe5", "TeSe"],
        "conflicting_compounds": 3,
        "max_target_spread": pytest.approx(2.3),
        "conflicting_examples": ["Cu9S5", "In3CuSe5", "TeSe"],
    }
    assert s["elements"] == {
        "distinct": 81,
        "top": [["O", 1090], ["Se", 676], ["S", 652], ["Te", 418], ["Cu", 390]],
        "rare": [["Xe", 1], ["Pm", 22], ["Tc", 25], ["Be", 31], ["Th", 47]],
        "per_formula": {"2": 1041, "3": 2287, "4": 1276},
    }
    text = format_summary(s)
    assert text.splitlines()[0] == "matbench_expt_gap: 4604 rows, composition, regression"
    assert (
        "duplicates by reduced formula: 4601 distinct, 3 repeated (6 rows), 3 with different targets" in text
    )


def test_esol_summary():
    s = summarize(load_dataset("esol"), top=3)
    assert s["duplicates"]["distinct"] == 1117
    assert s["duplicates"]["repeated_compounds"] == 11
    assert s["duplicates"]["conflicting_compounds"] == 6
    assert s["duplicates"]["max_target_spread"] == pytest.approx(1.03)
    assert s["scaffolds"] == {
        "distinct": 269,
        "acyclic": 317,
        "singletons": 194,
        "top": [["", 317], ["c1ccccc1", 254], ["c1ccc(-c2ccccc2)cc1", 39]],
        "largest_share": 0.281,
    }
    assert s["targets"]["min"] == -11.6 and s["targets"]["max"] == 1.58
    assert (
        "scaffolds: 269 distinct, 194 singletons, 317 acyclic; largest group 28.1% of rows"
        in format_summary(s)
    )


def test_classification_summary():
    s = summarize(load_dataset("solubility_classes"))
    assert s["targets"] == {"count": 1282, "classes": {"(A) low": 519, "(B) medium": 517, "(C) high": 246}}
    assert "classes: (A) low 519, (B) medium 517, (C) high 246" in format_summary(s)


def test_stream_summary_samples_the_head():
    s = summarize(load_dataset("moses_test"))
    assert s["rows"] == 176074 and s["sampled_rows"] == 10000
    assert s["duplicates"]["distinct"] == 10000
    assert "targets" not in s
