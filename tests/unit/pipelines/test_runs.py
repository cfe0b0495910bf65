"""Claiming a run directory: resume only with the interrupted run's options."""

from __future__ import annotations

import json

import pytest

from chemtl.pipelines.runs import RunDirError, prepare_run_dir

OLD = {"run": "pretrain", "train": {"lr": 0.001, "progress_bar": False}, "pretrain": {"bins": 6}}


def test_a_field_added_later_resumes_at_the_value_old_runs_ran_with(tmp_path):
    (tmp_path / "train_config.json").write_text(json.dumps(OLD))
    new = {**OLD, "pretrain": {"bins": 6, "condition_repeat": 1}}
    prepare_run_dir(tmp_path, new, resume=True, overwrite=False)  # no error: the old run ran with 1
    with pytest.raises(
        RunDirError, match=r"option\(s\) pretrain\.condition_repeat differ from the interrupted run"
    ):
        prepare_run_dir(
            tmp_path, {**OLD, "pretrain": {"bins": 6, "condition_repeat": 4}}, resume=True, overwrite=False
        )


def test_a_pretraining_run_from_before_the_descriptors_objective_resumes_at_weight_1(tmp_path):
    (tmp_path / "train_config.json").write_text(json.dumps(OLD))
    prepare_run_dir(
        tmp_path, {**OLD, "pretrain": {"bins": 6, "descriptor_weight": 1.0}}, resume=True, overwrite=False
    )
    with pytest.raises(RunDirError, match=r"option\(s\) pretrain\.descriptor_weight differ"):
        prepare_run_dir(
            tmp_path, {**OLD, "pretrain": {"bins": 6, "descriptor_weight": 2.0}}, resume=True, overwrite=False
        )


def test_a_changed_option_is_named_and_the_progress_bar_is_free(tmp_path):
    (tmp_path / "train_config.json").write_text(json.dumps(OLD))
    prepare_run_dir(
        tmp_path, {**OLD, "train": {"lr": 0.001, "progress_bar": True}}, resume=True, overwrite=False
    )
    with pytest.raises(RunDirError, match=r"option\(s\) train\.lr differ from the interrupted run"):
        prepare_run_dir(
            tmp_path, {**OLD, "train": {"lr": 0.01, "progress_bar": False}}, resume=True, overwrite=False
        )


def test_a_finetune_run_from_before_augmentation_resumes_without_it(tmp_path):
    old = {"run": "finetune", "data": {"dataset": "x"}, "train": {"batch_size": 32}}
    (tmp_path / "train_config.json").write_text(json.dumps(old))
    unaugmented = {**old, "data": {"dataset": "x", "augment": "none", "jitter": 0.02}}
    prepare_run_dir(tmp_path, unaugmented, resume=True, overwrite=False)
    with pytest.raises(RunDirError, match=r"option\(s\) data\.augment differ from the interrupted run"):
        augmented = {**old, "data": {"dataset": "x", "augment": "jitter", "jitter": 0.02}}
        prepare_run_dir(tmp_path, augmented, resume=True, overwrite=False)


def test_a_run_from_before_the_fused_optimizer_resumes_only_with_the_loop(tmp_path):
    (tmp_path / "train_config.json").write_text(json.dumps(OLD))
    fused = {**OLD, "train": {**OLD["train"], "optimizer": "adamw-fused"}}
    with pytest.raises(RunDirError, match=r"option\(s\) train\.optimizer differ from the interrupted run"):
        prepare_run_dir(tmp_path, fused, resume=True, overwrite=False)
    loop = {**OLD, "train": {**OLD["train"], "optimizer": "adamw", "head": "pooled"}}
    prepare_run_dir(tmp_path, loop, resume=True, overwrite=False)  # what it ran with
