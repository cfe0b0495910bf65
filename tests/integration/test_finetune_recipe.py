"""`chemtl finetune --augment ... --batch-size auto` end to end on a tiny model."""

from __future__ import annotations

import json

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
    drop = ("train_seconds", "peak_rss_mb", "peak_rss_mb_per_rank")
    first = {k: v for k, v in metrics.items() if k not in drop}
    second = {k: v for k, v in json.loads((again / "metrics.json").read_text()).items() if k not in drop}
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
