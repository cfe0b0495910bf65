"""Manifest pieces: split hashes, versions, peak memory, seeds."""

from __future__ import annotations

from chemtl.training.manifest import build_manifest, indices_sha256, versions
from chemtl.training.resources import peak_rss_mb
from chemtl.training.seeding import derive_seed


def test_split_hash_depends_on_rows_and_sides():
    assert indices_sha256([1, 2], [3]) == indices_sha256([1, 2], [3])
    assert indices_sha256([1, 2], [3]) != indices_sha256([1], [2, 3])


def test_manifest_records_versions_command_and_machine():
    m = build_manifest(
        kind="finetune",
        command=["chemtl", "finetune"],
        started="t0",
        finished="t1",
        data={"sha256": "abc"},
        split={"method": "random"},
    )
    assert m["command"] == ["chemtl", "finetune"] and m["data"]["sha256"] == "abc"
    assert {"python", "torch", "transformers", "lightning", "peft", "chemtl"} <= set(m["versions"])
    assert m["git_commit"] is None or len(m["git_commit"]) == 40
    assert m["machine"]["cpu_count"] >= 1
    assert set(versions()) >= {"python", "numpy"}


def test_peak_rss_is_megabytes():
    assert 10 < peak_rss_mb() < 100_000


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(0, "batch", 1, 2, 0) == derive_seed(0, "batch", 1, 2, 0)
    assert len({derive_seed(0, "batch", e, j, 0) for e in range(5) for j in range(50)}) == 250
