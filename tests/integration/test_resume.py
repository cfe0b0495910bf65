"""A fine-tuning run killed with SIGKILL and resumed with --resume ends with the metrics of an
uninterrupted run."""

from __future__ import annotations

import json

import pandas as pd
import torch

from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS

ARGS = (
    "--target",
    "gap",
    "--strategy",
    "full",
    "--epochs",
    "4",
    "--patience",
    "3",
    "--batch-size",
    "8",
    "--checkpoint-every",
    "2",
    "--split-param",
    "frac=0.6,0.2,0.2",
    "--no-progress",
)


def numbers(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def test_sigkill_then_resume_gives_the_uninterrupted_metrics(
    tiny_model, data_dir, tmp_path, kill_at_checkpoint, cli_main
):
    common = ("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", *ARGS)
    assert cli_main(*common, "--out", tmp_path / "whole") == 0

    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    assert not (killed / "metrics.json").exists()
    step = torch.load(ckpt, weights_only=True)["global_step"]
    assert 0 < step < 20  # 5 steps per epoch, 4 epochs

    assert cli_main(*common, "--out", killed, "--resume") == 0
    assert numbers(killed) == numbers(tmp_path / "whole")
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["resumed_from_step"] == step
    # the loss curves cover the whole run, not only the part after the resume
    whole_log = pd.read_csv(tmp_path / "whole" / "logs" / "metrics.csv")
    killed_log = pd.read_csv(killed / "logs" / "metrics.csv")
    assert list(killed_log.columns) == list(whole_log.columns)
    assert killed_log["step"].tolist() == whole_log["step"].tolist()
    assert killed_log["train_loss_step"].equals(whole_log["train_loss_step"])
    assert not (killed / "logs" / "metrics.before-resume.csv").exists()


def test_a_damaged_checkpoint_on_resume_is_one_line(tiny_model, data_dir, tmp_path, cli_main, capsys):
    common = ("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", *ARGS, "--epochs", "1")
    run = tmp_path / "run"
    assert cli_main(*common, "--out", run) == 0
    ckpt = run / "checkpoints" / "last.ckpt"
    whole = ckpt.read_bytes()
    for data, what in [
        (b"other bytes " * 100, "not a checkpoint chemtl wrote (overwritten or damaged)"),
        (whole[: len(whole) // 2], "truncated or damaged"),
    ]:
        ckpt.write_bytes(data)
        capsys.readouterr()
        assert cli_main(*common, "--out", run, "--resume") == 2
        err = capsys.readouterr().err
        assert err == (
            f"error: training checkpoint {str(ckpt)!r} is {what}; chemtl keeps one checkpoint per run, "
            "so the run cannot resume: start it again with --overwrite\n"
        )
        assert "weights_only=False" not in err


def test_sigkill_mid_averaging_then_resume_gives_the_uninterrupted_metrics(
    tiny_model, data_dir, tmp_path, kill_at_checkpoint, cli_main
):
    # cyclic lr, a cycle every epoch, weights averaged at every cycle minimum from the start
    swa = ("--scheduler", "cyclic", "--cycle-epochs", "1", "--swa", "--swa-start", "0", "--patience", "0")
    common = ("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", *ARGS, *swa)
    assert cli_main(*common, "--out", tmp_path / "whole") == 0
    whole = numbers(tmp_path / "whole")
    assert (whole["swa_snapshots"], whole["swa_epochs"]) == (4, [1, 2, 3, 4])

    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    assert 0 < torch.load(ckpt, weights_only=True)["global_step"] < 20
    assert cli_main(*common, "--out", killed, "--resume") == 0
    assert numbers(killed) == whole
