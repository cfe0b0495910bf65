"""`chemtl chain`: a tiny pretrain -> finetune chain runs, reports every stage, skips finished
stages, refuses a changed one, resumes a stage killed in the middle to the uninterrupted numbers."""

from __future__ import annotations

import json

import pandas as pd
import torch

from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS

CHAIN = """\
[[stage]]
name = "mlm"
kind = "pretrain"
data = "{corpus}"
size = "tiny"
max-steps = 4
batch-size = 8
val-rows = 8
warmup-steps = 0
checkpoint-every = 2
progress = false

[[stage]]
name = "ft"
kind = "finetune"
init = "stage:mlm"
data = "{gap}"
target = "gap"
split = "random"
split-param = {{frac = [0.6, 0.2, 0.2]}}
epochs = 4
patience = 3
batch-size = 8
checkpoint-every = 2
lr = {lr}
progress = false
"""


def write_chain(path, data_dir, lr="1e-4"):
    path.write_text(CHAIN.format(corpus=data_dir / "corpus.txt", gap=data_dir / "gap.csv", lr=lr))
    return path


def numbers(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def test_a_tiny_chain_runs_reports_every_stage_and_its_model_predicts(data_dir, tmp_path, cli_main, capsys):
    config = write_chain(tmp_path / "chain.toml", data_dir)
    out = tmp_path / "chain"
    assert cli_main("chain", "--config", config, "--out", out) == 0
    printed = capsys.readouterr().out.splitlines()
    state = json.loads((out / "chain.json").read_text())
    assert [(s["name"], s["dir"], s["status"], s["resumed"]) for s in state["stages"]] == [
        ("mlm", "stages/01-mlm", "finished", False),
        ("ft", "stages/02-ft", "finished", False),
    ]
    assert state["final_model"] == "stages/02-ft"
    assert state["stages"][1]["init"] == "stage:mlm" and state["stages"][1]["settings"]["lr"] == 1e-4
    ft = json.loads((out / "stages" / "02-ft" / "metrics.json").read_text())
    assert state["stages"][1]["metrics"]["val"] == ft["val"]
    assert ft["model_source"] == str(out / "stages" / "01-mlm")
    assert (ft["n_train"], ft["n_val"], ft["n_test"]) == (36, 12, 12)

    report = json.loads((out / "report.json").read_text())
    assert report["target"]["stage"] == "02-ft"
    assert (report["target"]["target"], report["target"]["n_train"], report["target"]["n_val"]) == (
        "gap",
        36,
        12,
    )
    assert report["metric"] == "mae"
    mlm_row, ft_row = report["stages"]
    assert (mlm_row["name"], mlm_row["head"]) == ("mlm", None)
    assert mlm_row["head_note"] == f"no head for {ft['dataset']}:gap (a pretraining stage)"
    assert ft_row["head"] == ft["val"]  # the target stage's own validation metrics
    assert set(mlm_row["probe"]) == set(ft_row["probe"]) == {"mae", "rmse", "r2"}
    assert mlm_row["probe"] != ft_row["probe"]  # a probe per stage's own encoder
    assert printed[-5].split() == ["stage", "kind", "head", "val", "mae", "probe", "val", "mae"]
    assert printed[-4].split() == ["01-mlm", "pretrain", "-", f"{mlm_row['probe']['mae']:.4g}"]
    assert printed[-3].split() == [
        "02-ft",
        "finetune",
        f"{ft['val']['mae']:.4g}",
        f"{ft_row['probe']['mae']:.4g}",
    ]
    assert printed[-2].startswith(
        f"target: {ft['dataset']}:gap (regression), 12 validation rows of stage 02-ft;"
    )
    assert printed[-1] == f"final model: {out / 'stages' / '02-ft'} (report: {out / 'report.json'})"

    # the final model is a plain chemtl model
    preds = tmp_path / "preds.csv"
    assert (
        cli_main(
            "predict", "--model", out / "stages" / "02-ft", "--data", data_dir / "gap.csv", "--out", preds
        )
        == 0
    )
    assert len(pd.read_csv(preds)) == 60
    capsys.readouterr()

    # a second run skips every stage and changes nothing
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    assert cli_main("chain", "--config", config, "--out", out) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        f"stage 1/2 'mlm' (pretrain): finished earlier, skipped -> {out / 'stages' / '01-mlm'}",
        f"stage 2/2 'ft' (finetune): finished earlier, skipped -> {out / 'stages' / '02-ft'}",
    ]
    changed = [p for p, t in stamps.items() if p.stat().st_mtime_ns != t and p.name != "chain.json"]
    assert changed == []

    # a changed stage is refused, in one line naming it and the setting
    write_chain(config, data_dir, lr="3e-4")
    assert cli_main("chain", "--config", config, "--out", out) == 2
    assert capsys.readouterr().err == (
        f"error: stage 'ft' differs from the one run in {str(out)!r} (lr); pass --overwrite to run the "
        "chain afresh, or choose another --out\n"
    )
    # --overwrite runs it afresh
    assert cli_main("chain", "--config", config, "--out", out, "--overwrite") == 0
    capsys.readouterr()
    state = json.loads((out / "chain.json").read_text())
    assert [s["status"] for s in state["stages"]] == ["finished", "finished"]
    assert state["stages"][1]["settings"]["lr"] == 3e-4
    assert numbers(out / "stages" / "02-ft")["best_epoch"] is not None


def test_a_non_chain_directory_is_refused(data_dir, tmp_path, cli_main, capsys):
    config = write_chain(tmp_path / "chain.toml", data_dir)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert cli_main("chain", "--config", config, "--out", tmp_path / "busy") == 2
    assert capsys.readouterr().err == (
        f"error: {str(tmp_path / 'busy')!r} is not empty and holds no chain (chain.json); choose another "
        "--out or pass --overwrite\n"
    )


def test_a_chain_killed_in_its_second_stage_resumes_there_to_the_uninterrupted_numbers(
    data_dir, tmp_path, kill_at_checkpoint, cli_main, capsys
):
    config = write_chain(tmp_path / "chain.toml", data_dir)
    whole = tmp_path / "whole"
    assert cli_main("chain", "--config", config, "--out", whole) == 0
    capsys.readouterr()

    killed = tmp_path / "killed"
    ckpt = killed / "stages" / "02-ft" / "checkpoints" / "last.ckpt"
    kill_at_checkpoint(
        ["chain", "--config", config, "--out", killed], ckpt, "no checkpoint appeared in stage 2"
    )
    state = json.loads((killed / "chain.json").read_text())
    assert [s["status"] for s in state["stages"]] == ["finished", "running"]
    assert not (killed / "stages" / "02-ft" / "metrics.json").exists()
    step = torch.load(ckpt, weights_only=True)["global_step"]
    assert 0 < step < 20  # 5 steps per epoch, 4 epochs
    first = (killed / "stages" / "01-mlm" / "metrics.json").stat().st_mtime_ns

    assert cli_main("chain", "--config", config, "--out", killed) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("finished earlier, skipped -> " + str(killed / "stages" / "01-mlm"))
    assert lines[1] == f"stage 2/2 'ft' (finetune): resuming -> {killed / 'stages' / '02-ft'}"
    assert (killed / "stages" / "01-mlm" / "metrics.json").stat().st_mtime_ns == first
    for stage in ("01-mlm", "02-ft"):
        assert numbers(killed / "stages" / stage) == {
            **numbers(whole / "stages" / stage),
            **({"model_source": str(killed / "stages" / "01-mlm")} if stage == "02-ft" else {}),
        }
    manifest = json.loads((killed / "stages" / "02-ft" / "manifest.json").read_text())
    assert manifest["resumed_from_step"] == step
    state = json.loads((killed / "chain.json").read_text())
    assert [(s["status"], s["resumed"]) for s in state["stages"]] == [("finished", False), ("finished", True)]
    a = json.loads((whole / "report.json").read_text())
    b = json.loads((killed / "report.json").read_text())
    assert [(r["head"], r["probe"]) for r in a["stages"]] == [(r["head"], r["probe"]) for r in b["stages"]]
