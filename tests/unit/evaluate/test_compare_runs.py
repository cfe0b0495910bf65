"""Run identity and reuse (``chemtl.evaluate.compare.runs``) and the shared parsers: from plain
files and numbers, nothing is trained."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.compare import (
    CompareConfig,
    finished_run,
    mean_std,
    model_fingerprint,
    parse_seeds,
    read_json,
    reuse_or_train,
    run_hash,
    seeded_subset,
    strategy_config,
    subset_rows,
)
from chemtl.training.config import DataConfig, TrainConfig


def fake_model(path, weights: bytes):
    path.mkdir()
    (path / "config.json").write_text('{"num_hidden_layers": 4}')
    (path / "model.safetensors").write_bytes(weights)
    return path


def key_for(model_dir) -> str:
    return run_hash(
        model_sha256=model_fingerprint(model_dir),
        dataset="toy",
        dataset_sha256="abc",
        rows="rows-hash",
        data={"dataset": "toy"},
        train=TrainConfig(max_epochs=2),
        strategy=strategy_config("full", 4),
    )


def trainer(calls: list, run_dir):
    def train(resume: bool, overwrite: bool):
        calls.append((resume, overwrite))
        metrics = {"test": {"mae": 0.5 + len(calls)}}
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        return metrics, {"wall_seconds": 1.5}

    return train


def test_reuse_is_keyed_by_the_weights_hash(tmp_path):
    a = fake_model(tmp_path / "a", b"weights-a")
    same_name_other_weights = fake_model(tmp_path / "b", b"weights-b")
    assert key_for(a) != key_for(same_name_other_weights)
    run_dir, calls = tmp_path / "run", []
    first = reuse_or_train(run_dir, key_for(a), trainer(calls, run_dir))
    assert (first.status, first.metrics, calls) == ("trained", {"test": {"mae": 1.5}}, [(False, False)])
    stamp = read_json(run_dir / "compare_run.json")
    assert (stamp["status"], stamp["hash"], stamp["wall_seconds"]) == ("done", key_for(a), 1.5)

    again = reuse_or_train(run_dir, key_for(a), trainer(calls, run_dir))
    assert (again.status, again.metrics, again.stamp["wall_seconds"], len(calls)) == (
        "reused",
        {"test": {"mae": 1.5}},
        1.5,
        1,
    )
    # another model's weights: not reused, the directory is replaced (overwrite)
    other = reuse_or_train(run_dir, key_for(same_name_other_weights), trainer(calls, run_dir))
    assert (other.status, other.metrics, calls[-1]) == ("trained", {"test": {"mae": 2.5}}, (False, True))
    # fresh: never reused
    fresh = reuse_or_train(run_dir, key_for(same_name_other_weights), trainer(calls, run_dir), fresh=True)
    assert (fresh.status, calls[-1]) == ("trained", (False, True))


def test_a_failed_run_is_stamped_and_resumed(tmp_path):
    run_dir = tmp_path / "run"

    def boom(resume, overwrite):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        reuse_or_train(run_dir, "k", boom, stamp_name="bench_run.json")
    stamp = read_json(run_dir / "bench_run.json")
    assert (stamp["status"], stamp["error"]) == ("failed", "RuntimeError: out of memory")
    calls: list = []
    done = reuse_or_train(run_dir, "k", trainer(calls, run_dir), stamp_name="bench_run.json")
    assert done.status == "trained" and calls == [(True, False)]  # same key: resume, do not replace


def test_finished_run_is_what_reuse_or_train_would_reuse(tmp_path):
    run_dir = tmp_path / "run"
    assert finished_run(run_dir, "k", "bench_run.json") is None  # no run

    def boom(resume, overwrite):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        reuse_or_train(run_dir, "k", boom, stamp_name="bench_run.json")
    assert finished_run(run_dir, "k", "bench_run.json") is None  # failed, not done
    reuse_or_train(run_dir, "k", trainer([], run_dir), stamp_name="bench_run.json")
    done = finished_run(run_dir, "k", "bench_run.json")
    assert (done.status, done.metrics, done.stamp["wall_seconds"]) == ("reused", {"test": {"mae": 1.5}}, 1.5)
    assert finished_run(run_dir, "other key", "bench_run.json") is None
    assert finished_run(run_dir, "k") is None  # the stamp is read from the name given
    (run_dir / "metrics.json").unlink()
    assert finished_run(run_dir, "k", "bench_run.json") is None  # done, but its metrics are gone


def test_seeded_subset_is_nested_and_matches_subset_rows():
    pool = np.arange(100, 200)
    small, large = (
        seeded_subset(pool, 10, 3, "compare-train-subset", 0),
        seeded_subset(pool, 40, 3, "compare-train-subset", 0),
    )
    assert len(small) == 10 and set(small) <= set(large) and list(small) == sorted(small)
    assert np.array_equal(subset_rows(pool, 10, 3, 0), small)
    assert np.array_equal(seeded_subset(pool[::-1], None, 3, "x"), pool)  # all of it, sorted
    assert np.array_equal(seeded_subset(pool, 500, 3, "x"), pool)
    assert not np.array_equal(seeded_subset(pool, 10, 4, "compare-train-subset", 0), small)


def test_parse_seeds_one_meaning():
    assert parse_seeds("0,1,2") == (0, 1, 2)
    assert parse_seeds("3") == (3,)
    with pytest.raises(ChemtlError, match=r"^--seeds '0,-1': write integers >= 0 separated by commas"):
        parse_seeds("0,-1")


def test_strategy_config_passes_each_option_to_its_strategy():
    cfg = CompareConfig(
        model="m",
        data=DataConfig("matbench_expt_gap"),
        strategies=("full", "partial", "lora", "prompt", "scratch"),
        lora_r=4,
        lora_alpha=32,
        lora_dropout=0.0,
        lora_target_modules=("query", "key"),
        num_virtual_tokens=5,
        prompt_init="vocab",
        init_seed=7,
    )
    lora = cfg.strategy_config("lora", 4)
    assert (lora.lora_r, lora.lora_alpha, lora.lora_dropout, lora.lora_target_modules) == (
        4,
        32,
        0.0,
        ("query", "key"),
    )
    prompt = cfg.strategy_config("prompt", 4)
    assert (prompt.num_virtual_tokens, prompt.prompt_init) == (5, "vocab")
    assert cfg.strategy_config("scratch", 4).init_seed == 7
    assert cfg.strategy_config("partial", 4).trainable_layers == 2  # default: half the layers
    assert cfg.strategy_config("full", 4).lora_alpha == 16  # not a lora run: its defaults
    assert CompareConfig.from_dict(cfg.to_dict()) == cfg


def test_mean_std_is_the_sample_std():
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
    assert mean_std([4.0]) == (4.0, None)
