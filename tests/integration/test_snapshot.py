"""`chemtl snapshot`: a pretraining run's checkpoint as a model directory, the run left untouched."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from chemtl.training.config import ModelConfig, PretrainConfig, TrainConfig

MTR = PretrainConfig(objectives="mlm,descriptors", mask="span", val_rows=8)
# 5 steps of the 7 an epoch has (54 training rows of 60, 8 a batch): the run ends mid-epoch, before
# any validation at an epoch end, so its model is the weights of its last step
TRAIN = TrainConfig(
    batch_size=8,
    max_epochs=1,
    max_steps=5,
    warmup_steps=0,
    checkpoint_every_n_steps=2,
    patience=None,
    progress_bar=False,
)
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def tree(d) -> dict[str, str]:
    """sha256 of every file under ``d``, by relative path."""
    return {
        p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 0
    assert all(torch.equal(a[k], b[k]) for k in a)


def checkpoint_weights(path) -> dict:
    sd = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return {k.removeprefix("model."): v for k, v in sd.items()}


@pytest.fixture(scope="module")
def finished(data_dir, tmp_path_factory):
    """A finished tiny SMILES run (masked spans + descriptors, 5 steps) and its files' hashes."""
    from chemtl.pipelines.pretrain import pretrain

    run = tmp_path_factory.mktemp("mtr") / "run"
    pretrain(str(data_dir / "smiles.txt"), ModelConfig(size="tiny", kind="smiles"), TRAIN, MTR, run)
    return run, tree(run)


def test_a_snapshot_of_a_finished_run_is_its_model_directory(finished, tmp_path):
    from chemtl.pipelines.snapshot import snapshot

    run, hashes = finished
    out = tmp_path / "snap"
    result = snapshot(run, out, command=["chemtl", "snapshot"])
    assert (result.global_step, result.epoch, result.weights) == (5, 0, "last")
    assert tree(run) == hashes  # the run directory is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]  # no temporary left beside it
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*MODEL_FILES, "model.safetensors", "chemtl.json", "descriptor_targets.json", "manifest.json"]
    )
    # the finished run's model is written from the state of its last checkpoint (no validation ran
    # at an epoch end, so no best weights replaced it): every tensor is equal
    assert_same_weights(load_file(out / "model.safetensors"), load_file(run / "model.safetensors"))
    for name in (*MODEL_FILES, "descriptor_targets.json"):
        assert (out / name).read_bytes() == (run / name).read_bytes(), name
    ckpt = run / "checkpoints" / "last.ckpt"
    meta = json.loads((out / "chemtl.json").read_text())
    assert meta == {
        **json.loads((run / "chemtl.json").read_text()),
        "snapshot": {
            "global_step": 5,
            "epoch": 0,
            "weights": "last",
            "run": str(run.resolve()),
            "checkpoint": str(ckpt.resolve()),
            "checkpoint_sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest(),
        },
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"] == "snapshot" and manifest["command"] == ["chemtl", "snapshot"]
    assert manifest["snapshot"]["run_config"] == json.loads((run / "train_config.json").read_text())
    assert manifest["snapshot"]["global_step"] == 5 and manifest["model_source"] == str(run.resolve())


def test_the_snapshot_fine_tunes_from_the_cli(finished, data_dir, tmp_path, cli_main, capsys):
    run, hashes = finished
    snap = tmp_path / "snap"
    capsys.readouterr()
    assert cli_main("snapshot", run, "--out", snap) == 0
    ckpt = run / "checkpoints" / "last.ckpt"
    assert capsys.readouterr().out == (
        f"snapshot of {run} at step 5 (epoch 1, last weights, {ckpt}) -> {snap}\n"
    )
    rows = (data_dir / "smiles.txt").read_text().split()
    labelled = tmp_path / "mols.csv"
    labelled.write_text("smiles,y\n" + "".join(f"{s},{len(s) / 10:.1f}\n" for s in rows[:30]))
    tuned = tmp_path / "tuned"
    fast = ("--epochs", "1", "--batch-size", "8", "--patience", "1", "--no-progress")
    assert (
        cli_main("finetune", "--model", snap, "--data", labelled, "--target", "y", *fast, "--out", tuned) == 0
    )
    assert json.loads((tuned / "metrics.json").read_text())["epochs_run"] == 1
    tuned_meta = json.loads((tuned / "chemtl.json").read_text())
    assert tuned_meta["kind"] == "smiles" and tuned_meta["source"] == str(snap)
    assert {k.split(".")[0] for k in load_file(tuned / "model.safetensors")} == {"chemtl", "classifier"}
    assert tree(run) == hashes


RESUME_ARGS = (
    "--kind", "smiles", "--size", "tiny", "--batch-size", "8", "--val-rows", "8", "--warmup-steps", "0",
    "--objective", "mlm,descriptors", "--mask", "span", "--epochs", "2", "--checkpoint-every", "2",
    "--no-progress",
)  # fmt: skip


def test_a_run_resumed_after_a_snapshot_ends_as_an_uninterrupted_one(
    data_dir, tmp_path, cli_main, kill_at_checkpoint, capsys
):
    common = ("pretrain", "--corpus", data_dir / "smiles.txt", *RESUME_ARGS)
    whole = tmp_path / "whole"
    assert cli_main(*common, "--out", whole) == 0
    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    step = torch.load(ckpt, weights_only=True)["global_step"]
    assert 0 < step < 14  # 7 steps per epoch, 2 epochs

    before = tree(killed)
    assert cli_main("snapshot", killed, "--out", tmp_path / "snap") == 0
    assert tree(killed) == before  # the run directory is untouched (file by file)
    assert json.loads((tmp_path / "snap" / "chemtl.json").read_text())["snapshot"]["global_step"] == step
    assert_same_weights(load_file(tmp_path / "snap" / "model.safetensors"), checkpoint_weights(ckpt))

    assert cli_main(*common, "--out", killed, "--resume") == 0
    assert_same_weights(load_file(killed / "model.safetensors"), load_file(whole / "model.safetensors"))

    # A run that validated at epoch ends writes its best epoch's weights: --weights best is that
    # model; --weights last the weights of the checkpoint's last step.
    best = tmp_path / "best"
    assert cli_main("snapshot", whole, "--out", best, "--weights", "best") == 0
    assert_same_weights(load_file(best / "model.safetensors"), load_file(whole / "model.safetensors"))
    assert cli_main("snapshot", whole, "--out", tmp_path / "last") == 0
    assert_same_weights(
        load_file(tmp_path / "last" / "model.safetensors"),
        checkpoint_weights(whole / "checkpoints" / "last.ckpt"),
    )


def refused(cli_main, capsys, args, out, message: str) -> None:
    capsys.readouterr()
    assert cli_main("snapshot", *args, "--out", out) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_bad_runs_and_checkpoints_are_one_line_errors_and_write_nothing(finished, tmp_path, cli_main, capsys):
    run, hashes = finished
    out = tmp_path / "out" / "snap"
    ckpt = run / "checkpoints" / "last.ckpt"
    whole = ckpt.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()

    missing = tmp_path / "nope"
    refused(cli_main, capsys, [missing], out, f"run directory {str(missing)!r} does not exist")
    refused(
        cli_main,
        capsys,
        [bad],
        out,
        f"{str(bad)!r} is not a chemtl run directory (it has no train_config.json)",
    )
    shutil.copy(run / "train_config.json", bad / "train_config.json")
    refused(
        cli_main,
        capsys,
        [bad],
        out,
        f"run directory {str(bad)!r} has no checkpoint yet ({str(bad / 'checkpoints' / 'last.ckpt')!r} "
        "does not exist; a run writes it every --checkpoint-every steps)",
    )
    refused(
        cli_main,
        capsys,
        [run, "--checkpoint", bad / "x.ckpt"],
        out,
        f"checkpoint {str(bad / 'x.ckpt')!r} does not exist",
    )

    # files that are not a checkpoint of this run, given with --checkpoint
    other = bad / "other.ckpt"
    torch.save({"weights": torch.zeros(2)}, other)
    refused(
        cli_main, capsys, [run, "--checkpoint", other], out,
        f"training checkpoint {str(other)!r} is not a chemtl training checkpoint; no snapshot was written",
    )  # fmt: skip
    torch.save(
        {"global_step": 3, "state_dict": {"model.classifier.weight": torch.zeros(2, 2)}, "loops": {}}, other
    )
    refused(
        cli_main, capsys, [run, "--checkpoint", other], out,
        f"checkpoint {str(other)!r} does not hold the weights of this run's model (52 missing, the first "
        "'chemtl.embeddings.word_embeddings.weight'; 1 not in the model, the first 'classifier.weight')",
    )  # fmt: skip
    state = torch.load(ckpt, weights_only=True)
    state["state_dict"]["model.descriptor_head.out.bias"] = torch.zeros(3)
    torch.save(state, other)
    refused(
        cli_main, capsys, [run, "--checkpoint", other], out,
        f"checkpoint {str(other)!r} does not hold the weights of this run's model "
        "('descriptor_head.out.bias' of shape [3] where the model's is [178])",
    )  # fmt: skip
    for data, what in [
        (b"", "empty"),
        (whole[: len(whole) // 2], "truncated or damaged"),
        (b"other bytes " * 100, "not a checkpoint chemtl wrote (overwritten or damaged)"),
    ]:
        other.write_bytes(data)
        refused(
            cli_main, capsys, [run, "--checkpoint", other], out,
            f"training checkpoint {str(other)!r} is {what}; no snapshot was written",
        )  # fmt: skip
    # a damaged last.ckpt in a (copied) run directory
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "last.ckpt").write_bytes(whole[:1000])
    refused(
        cli_main, capsys, [copy], out,
        f"training checkpoint {str(copy / 'checkpoints' / 'last.ckpt')!r} is truncated or damaged; "
        "no snapshot was written",
    )  # fmt: skip
    # not a pretraining run
    (bad / "train_config.json").write_text(json.dumps({"run": "finetune"}))
    refused(
        cli_main, capsys, [bad], out,
        f"{str(bad)!r} holds a 'finetune' run, not a `chemtl pretrain` corpus run; a snapshot is taken of a "
        "pretraining run",
    )  # fmt: skip
    # no best weights before validation ran at an epoch end
    refused(
        cli_main, capsys, [run, "--weights", "best"], out,
        f"checkpoint {str(ckpt)!r} (step 5) holds no best weights yet: they are kept once validation has "
        "run at an epoch end; take --weights last",
    )  # fmt: skip
    # never into the run
    inside = run / "snap"
    refused(
        cli_main, capsys, [run], inside,
        f"--out {str(inside)!r} is the run directory {str(run)!r}, inside it or around it; a snapshot never "
        "writes into the run: give another directory",
    )  # fmt: skip
    assert not (tmp_path / "out").exists()
    assert tree(run) == hashes


def test_an_existing_output_is_refused_unless_overwrite_replaces_a_model_directory(
    finished, tmp_path, cli_main, capsys
):
    run, hashes = finished
    out = tmp_path / "snap"
    out.mkdir()  # an empty directory is fine
    assert cli_main("snapshot", run, "--out", out) == 0
    first = tree(out)
    refused(
        cli_main,
        capsys,
        [run],
        out,
        f"output {str(out)!r} exists and is not empty; pass --overwrite to replace it",
    )
    assert cli_main("snapshot", run, "--out", out, "--overwrite") == 0
    assert tree(out).keys() == first.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("mine")
    refused(
        cli_main, capsys, [run, "--overwrite"], notes,
        f"output {str(notes)!r} is not a model directory (no config.json); --overwrite replaces only a model "
        "directory",
    )  # fmt: skip
    other_run = tmp_path / "other"
    shutil.copytree(run, other_run)
    refused(
        cli_main, capsys, [run, "--overwrite"], other_run,
        f"output {str(other_run)!r} holds a run (train_config.json or checkpoints/); --overwrite replaces only "
        "a model directory",
    )  # fmt: skip
    assert (notes / "a.txt").read_text() == "mine" and tree(other_run) == hashes
    assert tree(run) == hashes
