"""`chemtl finetune --augment ... --batch-size auto` end to end on a tiny model."""

from __future__ import annotations

import json

import pytest
import torch

from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS as DROP

FAST = ("--epochs", "2", "--patience", "2", "--no-progress", "--split-param", "frac=0.6,0.2,0.2")


def finetune(cli_main, tiny_model, data_dir, out, *extra) -> int:
    return cli_main(
        "finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", "--target", "gap",
        *FAST, *extra, "--out", out,
    )  # fmt: skip


def test_auto_batch_size_and_jitter_are_resolved_and_recorded(tiny_model, data_dir, tmp_path, cli_main):
    out = tmp_path / "run"
    assert finetune(cli_main, tiny_model, data_dir, out, "--batch-size", "auto", "--augment", "auto") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "train_config.json").read_text())
    # 36 training rows: 2**round(log2(36) - 4) = 2, clamped up to 128
    assert (metrics["n_train"], metrics["batch_size"], metrics["augment"]) == (36, 128, "jitter")
    assert (config["train"]["batch_size"], config["batch_size_auto"]) == (128, True)
    assert (config["data"]["augment"], config["data"]["jitter"]) == ("auto", 0.02)
    # the jitter follows --seed: the same command gives the same numbers
    again = tmp_path / "again"
    assert finetune(cli_main, tiny_model, data_dir, again, "--batch-size", "auto", "--augment", "auto") == 0
    first = {k: v for k, v in metrics.items() if k not in DROP}
    second = {k: v for k, v in json.loads((again / "metrics.json").read_text()).items() if k not in DROP}
    assert first == second


def test_default_run_records_its_batch_size_and_no_augmentation(tiny_model, data_dir, tmp_path, cli_main):
    out = tmp_path / "run"
    assert finetune(cli_main, tiny_model, data_dir, out, "--batch-size", "8") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "train_config.json").read_text())
    assert (metrics["batch_size"], metrics["augment"]) == (8, "none")
    assert config["train"]["batch_size"] == 8 and "batch_size_auto" not in config


def test_randomised_smiles_are_refused_for_a_composition_model(
    tiny_model, data_dir, tmp_path, cli_main, capsys
):
    out = tmp_path / "run"
    assert finetune(cli_main, tiny_model, data_dir, out, "--augment", "random-smiles") == 2
    assert capsys.readouterr().err == (
        "error: augment 'random-smiles' applies to smiles and selfies inputs, not composition\n"
    )
    assert not out.exists()


@pytest.mark.slow
def test_a_jittered_run_killed_and_resumed_ends_with_the_uninterrupted_numbers(
    tiny_model, data_dir, tmp_path, kill_at_checkpoint, cli_main
):
    common = (
        "finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", "--target", "gap",
        "--strategy", "full", "--epochs", "4", "--patience", "3", "--batch-size", "8",
        "--checkpoint-every", "2", "--split-param", "frac=0.6,0.2,0.2", "--no-progress",
        "--augment", "jitter",
    )  # fmt: skip
    assert cli_main(*common, "--out", tmp_path / "whole") == 0
    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    assert 0 < torch.load(ckpt, weights_only=True)["global_step"] < 20
    assert cli_main(*common, "--out", killed, "--resume") == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    resumed = json.loads((killed / "metrics.json").read_text())
    assert {k: v for k, v in resumed.items() if k not in DROP} == {
        k: v for k, v in whole.items() if k not in DROP
    }
    assert resumed["augment"] == "jitter"
