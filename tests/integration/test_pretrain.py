"""Pretraining a tiny encoder on compositions and on SMILES, saved and reloaded with AutoModel."""

from __future__ import annotations

import json

import pytest
import torch

from chemtl.training.config import ModelConfig, PretrainConfig, TrainConfig

TRAIN = TrainConfig(
    batch_size=8,
    max_epochs=1,
    max_steps=4,
    warmup_steps=0,
    scheduler="linear",
    checkpoint_every_n_steps=2,
    patience=None,
    progress_bar=False,
    lr=1e-3,
)


def encoder_inputs(tokenizer, strings):
    enc = tokenizer(strings, padding=True, return_tensors="pt")
    batch = {k: torch.as_tensor(enc[k]) for k in ("input_ids", "attention_mask", "fractions") if k in enc}
    if "fractions" in batch:
        batch["fractions"] = batch["fractions"].float()
    return batch


@pytest.mark.parametrize(
    ("kind", "corpus", "mask", "probe"),
    [
        ("composition", "corpus.txt", "element-group", ["Fe2O3", "LiCoO2"]),
        ("smiles", "smiles.txt", "span", ["CCO", "c1ccccc1N"]),
    ],
)
def test_pretrain_save_and_reload_with_automodel(kind, corpus, mask, probe, data_dir, tmp_path):
    import chemtl  # noqa: F401  (the lead wires the Auto registration into `import chemtl`)
    from chemtl.models import register_auto_classes
    from chemtl.pipelines.pretrain import pretrain
    from chemtl.tokenizers import load_tokenizer

    result = pretrain(
        str(data_dir / corpus),
        ModelConfig(size="tiny", kind=kind),
        TRAIN,
        PretrainConfig(mask=mask, val_rows=16),
        tmp_path,
    )
    assert result.metrics["global_step"] == 4 and result.metrics["val_loss"] > 0
    register_auto_classes()
    from transformers import AutoModel

    loaded = AutoModel.from_pretrained(tmp_path).eval()
    batch = encoder_inputs(load_tokenizer(tmp_path), probe)
    with torch.no_grad():
        ours = result.model.eval().chemtl(**batch).last_hidden_state
        theirs = loaded(**batch).last_hidden_state
    assert type(loaded).__name__ == "ChemtlModel"
    assert torch.allclose(ours, theirs, atol=1e-6)
    meta = json.loads((tmp_path / "chemtl.json").read_text())
    assert meta["kind"] == kind and meta["objectives"] == ["mlm"] and meta["mask"] == mask


def test_pretrain_cli_with_the_summed_contrastive_objective(data_dir, tmp_path, cli_main):
    assert (
        cli_main(
            "pretrain",
            "--corpus",
            data_dir / "smiles.txt",
            "--kind",
            "smiles",
            "--size",
            "tiny",
            "--objective",
            "mlm,contrastive",
            "--max-steps",
            "3",
            "--batch-size",
            "8",
            "--val-rows",
            "8",
            "--warmup-steps",
            "0",
            "--no-progress",
            "--out",
            tmp_path,
        )
        == 0
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["objectives"] == ["mlm", "contrastive"] and metrics["global_step"] == 3
    header = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()[0]
    assert "train_contrastive_loss_step" in header and "train_mlm_loss_step" in header


def test_pretraining_resumes_to_the_same_weights(data_dir, tmp_path, monkeypatch):
    from chemtl.pipelines.pretrain import pretrain
    from chemtl.training import engine

    config = PretrainConfig(val_rows=16)
    cfg = TrainConfig(
        batch_size=8,
        max_epochs=2,
        warmup_steps=2,
        checkpoint_every_n_steps=3,
        patience=None,
        progress_bar=False,
    )
    whole = pretrain(str(data_dir / "corpus.txt"), ModelConfig(size="tiny"), cfg, config, tmp_path / "whole")

    class Interrupt(Exception):
        pass

    class Stop(engine.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 17:  # mid-epoch 2 (13 batches per epoch)
                raise Interrupt

    build = engine.build_trainer
    monkeypatch.setattr(engine, "build_trainer", lambda c, d, cbs: build(c, d, [Stop(), *cbs]))
    with pytest.raises(Interrupt):
        pretrain(str(data_dir / "corpus.txt"), ModelConfig(size="tiny"), cfg, config, tmp_path / "cut")
    monkeypatch.undo()
    resumed = pretrain(
        str(data_dir / "corpus.txt"), ModelConfig(size="tiny"), cfg, config, tmp_path / "cut", resume=True
    )
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed.metrics["val_loss"] == whole.metrics["val_loss"]


def test_supervised_multitask_stage_then_finetune(tiny_model, data_dir, tmp_path, cli_main):
    import pandas as pd

    stage = tmp_path / "multitask"
    assert (
        cli_main(
            "pretrain",
            "--supervised",
            f"{data_dir / 'gap.csv'}:gap,{data_dir / 'e_form.csv'}:e_form",
            "--init",
            tiny_model,
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--no-progress",
            "--out",
            stage,
        )
        == 0
    )
    metrics = json.loads((stage / "metrics.json").read_text())
    assert metrics["targets"] == ["gap:gap", "e_form:e_form"] and metrics["n_train"] + metrics["n_val"] == 90
    assert all(v is None or v["mae"] >= 0 for v in metrics["val"].values())
    assert (
        cli_main("predict", "--model", stage, "--data", data_dir / "gap.csv", "--out", tmp_path / "p.csv")
        == 0
    )
    assert {"prediction_gap:gap", "prediction_e_form:e_form"} <= set(pd.read_csv(tmp_path / "p.csv").columns)
    assert (
        cli_main(
            "finetune",
            "--model",
            stage,
            "--data",
            data_dir / "gap.csv",
            "--target",
            "gap",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--no-progress",
            "--out",
            tmp_path / "ft",
        )
        == 0
    )


def test_supervised_stage_excludes_downstream_compounds(tiny_model, data_dir, tmp_path, cli_main):
    """--exclude drops every source row whose compound is in the named data, however it is written."""
    rows = (data_dir / "gap.csv").read_text().splitlines()[1:11]
    formulas = [r.split(",")[0] for r in rows]
    # the same ten compounds, half of them written with doubled amounts
    written = [f"({f})2" if k % 2 else f for k, f in enumerate(formulas)]
    (tmp_path / "downstream.csv").write_text("formula,y\n" + "".join(f"{f},1.0\n" for f in written))
    stage = tmp_path / "multitask"
    args = ["pretrain", "--supervised", f"{data_dir / 'gap.csv'}:gap,{data_dir / 'e_form.csv'}:e_form"]
    args += ["--init", tiny_model, "--max-steps", "2", "--batch-size", "16", "--no-progress", "--out", stage]
    assert cli_main(*args, "--exclude", tmp_path / "downstream.csv") == 0
    metrics = json.loads((stage / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_val"] == 80
    assert metrics["excluded"] == {
        "datasets": [{"dataset": "downstream", "rows": 10, "compounds": 10}],
        "rows": {"gap": 10, "e_form": 0},
    }
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["data"]["exclude"] == metrics["excluded"]["datasets"]


def test_exclude_without_supervised_is_refused(data_dir, tmp_path, cli_main, capsys):
    out = tmp_path / "m"
    code = cli_main("pretrain", "--corpus", data_dir / "corpus.txt", "--exclude", "x.csv", "--out", out)
    assert code == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: --exclude applies to --supervised sources, not to a --data corpus"
    )
    assert not out.exists()


def test_init_takes_a_shipped_model_name(data_dir, tmp_path, cli_main):
    stage = tmp_path / "stage"
    args = ["pretrain", "--supervised", f"{data_dir / 'gap.csv'}:gap", "--init", "composition-small"]
    assert cli_main(*args, "--max-steps", "1", "--batch-size", "8", "--no-progress", "--out", stage) == 0
    config = json.loads((stage / "train_config.json").read_text())
    assert config["init_from"].endswith("resources/models/composition-small")
    assert json.loads((stage / "metrics.json").read_text())["global_step"] == 1


def test_pretrain_refuses_an_auto_batch_size(data_dir, tmp_path):
    from chemtl.pipelines.pretrain import pretrain
    from chemtl.training.config import ConfigError, ModelConfig, PretrainConfig, TrainConfig

    with pytest.raises(ConfigError) as info:
        pretrain(str(data_dir / "corpus.txt"), ModelConfig(size="tiny"), TrainConfig(batch_size="auto"),
                 PretrainConfig(), tmp_path / "run")  # fmt: skip
    assert (
        str(info.value) == "batch_size 'auto' is for fine-tuning; pretraining needs a number (--batch-size N)"
    )
    assert not (tmp_path / "run").exists()


MTR_ARGS = (
    "--kind",
    "smiles",
    "--size",
    "tiny",
    "--batch-size",
    "8",
    "--val-rows",
    "8",
    "--warmup-steps",
    "0",
)


def test_mlm_with_descriptors_writes_its_targets_and_finetunes(data_dir, tmp_path, cli_main):
    import numpy as np
    from safetensors import safe_open

    from chemtl.data.features import PRETRAIN_DESCRIPTORS, DescriptorTargets

    out = tmp_path / "mtr"
    corpus = data_dir / "smiles.txt"
    common = ("pretrain", "--corpus", corpus, *MTR_ARGS, "--no-progress")
    assert (
        cli_main(
            *common,
            "--objective",
            "mlm,descriptors",
            "--descriptor-weight",
            "0.5",
            "--max-steps",
            "3",
            "--out",
            out,
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["objectives"] == ["mlm", "descriptors"] and metrics["n_val"] == 6  # a tenth of 60 rows
    assert metrics["descriptor_targets"] == {
        "file": "descriptor_targets.json",
        "descriptors": 178,
        "fit_rows": 6,
        "fit_on": "the held-out head rows (val_rows)",
    }
    # the statistics are those of the 6 head rows (held out), not of the rows trained on
    rows = corpus.read_text().split()
    saved = DescriptorTargets.load(out / "descriptor_targets.json")
    head = DescriptorTargets.fit(rows[:6], PRETRAIN_DESCRIPTORS)
    assert saved.names == PRETRAIN_DESCRIPTORS
    assert np.array_equal(saved.scaling.mean, head.scaling.mean) and np.array_equal(
        saved.scaling.std, head.scaling.std
    )
    assert not np.array_equal(
        saved.scaling.mean, DescriptorTargets.fit(rows, PRETRAIN_DESCRIPTORS).scaling.mean
    )
    assert json.loads((out / "chemtl.json").read_text())["descriptor_targets"] == "descriptor_targets.json"
    config = json.loads((out / "config.json").read_text())
    assert (config["descriptor_dim"], config["descriptor_loss_weight"]) == (178, 0.5)
    header = (out / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train_descriptor_loss_step", "train_mlm_loss_step"} <= set(header) and metrics["val_loss"] > 0
    with safe_open(out / "model.safetensors", "pt") as f:
        assert {k.split(".")[0] for k in f.keys()} == {
            "chemtl",
            "lm_head",
            "projection_head",
            "descriptor_head",
        }

    # the encoder fine-tunes like any pretrained one; the pretraining heads stay behind
    labelled = tmp_path / "mols.csv"
    labelled.write_text("smiles,y\n" + "".join(f"{s},{len(s) / 10:.1f}\n" for s in rows[:30]))
    tuned = tmp_path / "tuned"
    fast = ("--epochs", "1", "--batch-size", "8", "--patience", "1", "--no-progress")
    assert (
        cli_main("finetune", "--model", out, "--data", labelled, "--target", "y", *fast, "--out", tuned) == 0
    )
    with safe_open(tuned / "model.safetensors", "pt") as f:
        assert {k.split(".")[0] for k in f.keys()} == {"chemtl", "classifier"}


def test_pure_descriptor_regression_resumes_to_the_same_weights(
    data_dir, tmp_path, cli_main, kill_at_checkpoint
):
    from safetensors.torch import load_file

    common = (
        "pretrain", "--corpus", data_dir / "smiles.txt", *MTR_ARGS, "--objective", "descriptors",
        "--epochs", "2", "--checkpoint-every", "2", "--no-progress",
    )  # fmt: skip
    assert cli_main(*common, "--out", tmp_path / "whole") == 0
    killed = tmp_path / "killed"
    ckpt = killed / "checkpoints" / "last.ckpt"
    kill_at_checkpoint([*common, "--out", killed], ckpt)
    assert not (killed / "metrics.json").exists()
    step = torch.load(ckpt, weights_only=True)["global_step"]
    assert 0 < step < 14  # 7 steps per epoch
    assert cli_main(*common, "--out", killed, "--resume") == 0
    whole, resumed = (json.loads((d / "metrics.json").read_text()) for d in (tmp_path / "whole", killed))
    assert resumed["global_step"] == whole["global_step"] == 14
    assert resumed["mask"] is None  # no masked-token objective: no masking to record
    meta = json.loads((killed / "chemtl.json").read_text())
    assert meta["objectives"] == ["descriptors"] and meta["mask"] is None
    assert resumed["val_loss"] == whole["val_loss"] and resumed["best_val_loss"] == whole["best_val_loss"]
    a, b = load_file(tmp_path / "whole" / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (killed / "descriptor_targets.json").read_bytes() == (
        tmp_path / "whole" / "descriptor_targets.json"
    ).read_bytes()
    header = (killed / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "train_descriptor_loss_step" in header and "train_mlm_loss_step" not in header


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--kind", "composition", "--objective", "mlm,descriptors"),
            "objective descriptors predicts RDKit descriptors of molecules: it needs --kind smiles or "
            "selfies, not composition",
        ),
        (
            ("--kind", "smiles", "--objective", "causal,descriptors"),
            "objective causal trains a generator and cannot be combined: 'causal,descriptors'",
        ),
    ],
)
def test_descriptors_refused_for_compositions_and_with_causal(
    data_dir, tmp_path, cli_main, capsys, args, message
):
    corpus = data_dir / ("corpus.txt" if "composition" in args else "smiles.txt")
    assert (
        cli_main(
            "pretrain", "--corpus", corpus, *args, "--size", "tiny", "--max-steps", "1", "--out", tmp_path
        )
        == 2
    )
    assert capsys.readouterr().err == f"error: {message}\n"
