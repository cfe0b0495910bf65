"""The unlabelled inorganic corpus: deduplication by reduced formula, the sha256-keyed cache."""

from __future__ import annotations

import pytest

from chemtl.data import corpus, load_dataset
from chemtl.data.keys import composition_key


@pytest.fixture
def small_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMTL_CACHE", str(tmp_path / "cache"))
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("formula,target\nFe2O3,1\nNaN,2\nFe4O6,3\nCu1.8S1,4\n", encoding="utf-8")
    b.write_text("formula,target\nXx2,1\nCu9S5,2\nNaCl,3\nFe2O3,4\n", encoding="utf-8")
    monkeypatch.setattr(corpus, "corpus_sources", lambda: [("x/a.csv", a), ("x/b.csv", b)])
    return a, b


pytestmark = pytest.mark.filterwarnings("ignore:inorganic_corpus. built")


def test_corpus_dedupes_by_reduced_formula(small_sources):
    ds = corpus.load_corpus(workers=1)
    assert ds.inputs == ["Fe2O3", "NaN", "Cu1.8S1", "NaCl"]
    assert ds.targets is None and ds.task == "unlabelled" and ds.kind == "composition"
    info = ds.info
    assert (info["raw_rows"], info["distinct_strings"], info["invalid_strings"]) == (8, 7, 1)
    assert info["invalid_examples"] == ["Xx2"]
    assert info["cache_hit"] is False
    assert [f["path"] for f in info["files"]] == ["x/a.csv", "x/b.csv"]


def test_corpus_cache_is_keyed_by_the_files(small_sources, tmp_path):
    a, _ = small_sources
    first = corpus.load_corpus(workers=1)
    again = corpus.load_corpus(workers=1)
    assert again.info["cache_hit"] is True and again.inputs == first.inputs
    assert again.info["sha256"] == first.info["sha256"]
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cached == [
        f"inorganic_corpus-{first.info['sha256'][:16]}.csv",
        f"inorganic_corpus-{first.info['sha256'][:16]}.json",
    ]
    a.write_text("formula,target\nLiF,1\n", encoding="utf-8")
    changed = corpus.load_corpus(workers=1)
    assert changed.info["cache_hit"] is False and changed.info["sha256"] != first.info["sha256"]
    assert changed.inputs == ["LiF", "Cu9S5", "NaCl", "Fe2O3"]
    assert corpus.load_corpus(workers=1, limit=2).inputs == ["LiF", "Cu9S5"]


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CHEMTL_CACHE", str(tmp_path / "c"))
    assert corpus.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CHEMTL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert corpus.cache_dir() == tmp_path / "x" / "chemtl"


def test_corpus_sources_are_the_crabnet_csvs():
    sources = corpus.corpus_sources()
    assert len(sources) == 267
    assert [rel for rel, _ in sources] == sorted(rel for rel, _ in sources)
    assert not any("element_properties" in rel for rel, _ in sources)
    assert "crabnet/data/matbench/expt_gap.csv" in [rel for rel, _ in sources]


@pytest.mark.slow
def test_full_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMTL_CACHE", str(tmp_path))
    ds = load_dataset("inorganic_corpus")
    assert len(ds) == 416149
    assert ds.info["raw_rows"] == 3811133 and ds.info["distinct_strings"] == 565988
    assert ds.info["invalid_strings"] == 0
    assert len(ds.info["files"]) == 267
    keys = {composition_key(f) for f in ds.inputs}
    assert len(keys) == len(ds)
    assert "NaN" in keys  # sodium nitride, from the files that spell it NaN
    assert load_dataset("inorganic_corpus").info["cache_hit"] is True
