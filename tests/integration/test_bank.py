"""Prompt banks (``chemtl.pipelines.bank``): `chemtl finetune --bank`, `chemtl predict --task`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from chemtl.data.files import sha256_file

FAST = ("--epochs", "2", "--batch-size", "8", "--patience", "0", "--no-progress",
        "--split-param", "frac=0.6,0.2,0.2", "--num-virtual-tokens", "3")  # fmt: skip
LORA_FAST = ("--epochs", "2", "--batch-size", "8", "--patience", "0", "--no-progress",
             "--split-param", "frac=0.6,0.2,0.2", "--lora-r", "2")  # fmt: skip


def add(cli_main, model, data, target, strategy, *, bank=None, task=None, out=None, extra=()):
    args = ["finetune", "--model", model, "--data", data, "--target", target, "--strategy", strategy]
    args += list(FAST if strategy != "lora" else LORA_FAST) + list(extra)
    if bank is not None:
        args += ["--bank", bank, "--task-name", task]
    if out is not None:
        args += ["--out", out]
    return cli_main(*args)


@pytest.fixture(scope="module")
def bank(tiny_model, data_dir, tmp_path_factory, cli_main):
    """A bank of a prompt task (gap), a prefix task (metal, classification) and a lora task
    (e_form), and plain run directories trained the same way (the prompt one kept by --out)."""
    root = tmp_path_factory.mktemp("bank")
    b = root / "bank"
    assert (
        add(
            cli_main,
            tiny_model,
            data_dir / "gap.csv",
            "gap",
            "prompt",
            bank=b,
            task="gap",
            out=root / "gap-run",
        )
        == 0
    )
    assert add(cli_main, tiny_model, data_dir / "metal.csv", "is_metal", "prefix", bank=b, task="metal") == 0
    assert add(cli_main, tiny_model, data_dir / "e_form.csv", "e_form", "lora", bank=b, task="e_form") == 0
    assert (
        add(cli_main, tiny_model, data_dir / "metal.csv", "is_metal", "prefix", out=root / "metal-run") == 0
    )
    assert add(cli_main, tiny_model, data_dir / "e_form.csv", "e_form", "lora", out=root / "e_form-run") == 0
    return root


def run_predict(cli_main, capsys, model, data, out, *extra):
    capsys.readouterr()
    code = cli_main("predict", "--model", model, "--data", data, "--out", out, *extra)
    return code, capsys.readouterr()


def test_bank_files_have_the_usual_permissions(bank):
    import os

    umask = os.umask(0)
    os.umask(umask)
    b = bank / "bank"
    modes = {(p.is_dir(), p.stat().st_mode & 0o777) for p in b.rglob("*")}
    # the base model and each task folder were staged in mkdtemp (0700), the weights by safetensors (0600)
    assert modes == {(True, 0o777 & ~umask), (False, 0o666 & ~umask)}
    assert (b / "base" / "model.safetensors").is_file()


def test_bank_json_after_three_tasks(bank, tiny_model):
    b = bank / "bank"
    info = json.loads((b / "bank.json").read_text())
    metrics = {
        t: json.loads((b / "tasks" / t / "metrics.json").read_text()) for t in ("gap", "metal", "e_form")
    }
    assert info == {
        "format": "chemtl-bank",
        "version": 1,
        "kind": "composition",
        "base": {"dir": "base", "source": str(tiny_model), "weights_sha256": sha256_file(tiny_model / "model.safetensors")},
        "tasks": {
            "gap": {"dir": "tasks/gap", "strategy": "prompt", "task": "regression", "target": "gap",
                    "units": None, "classes": None, "trainable_params": metrics["gap"]["trainable_params"]},
            "metal": {"dir": "tasks/metal", "strategy": "prefix", "task": "classification", "target": "is_metal",
                      "units": None, "classes": ["0", "1"], "trainable_params": metrics["metal"]["trainable_params"]},
            "e_form": {"dir": "tasks/e_form", "strategy": "lora", "task": "regression", "target": "e_form",
                       "units": None, "classes": None, "trainable_params": metrics["e_form"]["trainable_params"]},
        },
    }  # fmt: skip
    # tiny: hidden 32, head 32*32+32 + 32*K+K; prompt 3 x 32; prefix 3 x (2 layers * 2 * 32)
    assert [metrics[t]["trainable_params"] for t in ("gap", "metal")] == [1056 + 33 + 96, 1056 + 66 + 384]
    # the base once; per task only its own parts and its record; the work directory is gone
    assert sorted(p.name for p in b.iterdir()) == ["bank.json", "base", "tasks"]
    assert sha256_file(b / "base" / "model.safetensors") == info["base"]["weights_sha256"]
    record = [
        "chemtl.json",
        "head.safetensors",
        "manifest.json",
        "metrics.json",
        "strategy.json",
        "train_config.json",
    ]
    assert sorted(p.name for p in (b / "tasks" / "gap").iterdir()) == sorted(record + ["adapter"])
    assert sorted(p.name for p in (b / "tasks" / "metal").iterdir()) == sorted(
        record + ["prefix_encoder.safetensors"]
    )
    assert sorted(p.name for p in (b / "tasks" / "e_form").iterdir()) == sorted(record + ["adapter"])
    meta = json.loads((b / "tasks" / "gap" / "chemtl.json").read_text())
    assert (meta["target"], meta["task"], len(meta["target_mean"])) == ("gap", "regression", 1)
    # --out kept the prompt run as a plain model directory too
    assert (bank / "gap-run" / "model.safetensors").is_file()


def test_tasks_in_one_call_equal_each_alone_and_the_plain_runs(bank, data_dir, cli_main, capsys, tmp_path):
    from chemtl.pipelines.bank import predict_bank
    from chemtl.pipelines.predict import predict

    b = bank / "bank"
    ef_inputs = pd.read_csv(data_dir / "e_form.csv")["formula"].tolist()[:12]
    inputs = pd.read_csv(data_dir / "gap.csv")["formula"].tolist()[:13] + ef_inputs
    together = predict_bank(b, inputs)
    assert list(together.columns) == ["input", "prediction_gap", "prediction_metal", "prob_metal_0",
                                      "prob_metal_1", "prediction_e_form"]  # fmt: skip
    for task in ("gap", "metal", "e_form"):
        alone = predict_bank(b, inputs, tasks=[task])
        for col in alone.columns[1:]:
            assert alone[col].tolist() == together[col].tolist()
    # prompt and prefix: exactly the plain fine-tuned directories' numbers
    plain_gap = predict(bank / "gap-run", inputs)
    assert together["prediction_gap"].tolist() == plain_gap["prediction"].tolist()
    plain_metal = predict(bank / "metal-run", inputs)
    assert together["prob_metal_1"].tolist() == plain_metal["prob_1"].tolist()
    assert together["prediction_metal"].tolist() == plain_metal["prediction"].tolist()
    # lora: the bank runs the adapter unmerged, as in training, so it gives exactly the run's own
    # predictions.csv; the plain directory's merged weights agree to float rounding
    run = pd.read_csv(bank / "e_form-run" / "predictions.csv")
    run = run.set_index("input").loc[ef_inputs]
    assert [float(f"{x:.10g}") for x in together["prediction_e_form"][13:]] == run["prediction"].tolist()
    merged = predict(bank / "e_form-run", inputs)["prediction"].to_numpy()
    np.testing.assert_allclose(together["prediction_e_form"].to_numpy(), merged, rtol=0, atol=1e-5)

    # the CLI: two tasks in one call, columns in the order asked
    code, (out, err) = run_predict(
        cli_main, capsys, b, data_dir / "gap.csv", tmp_path / "p.csv", "--task", "e_form,gap"
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(table.columns) == ["gap", "input", "prediction_e_form", "prediction_gap"]
    assert out == "60 predictions -> " + str(tmp_path / "p.csv") + "\n"
    lib = predict_bank(b, table["input"].tolist(), tasks=["e_form", "gap"])
    for col in ("prediction_e_form", "prediction_gap"):
        assert table[col].tolist() == [float(f"{x:.10g}") for x in lib[col]]


def test_embeddings_differ_between_task_prompts(bank, data_dir):
    from chemtl.pipelines.bank import bank_embeddings

    inputs = pd.read_csv(data_dir / "gap.csv")["formula"].tolist()[:5]
    emb = bank_embeddings(bank / "bank", inputs, tasks=["gap", "metal"])
    assert list(emb) == ["gap", "metal"] and emb["gap"].shape == (5, 32)
    assert not np.array_equal(emb["gap"], emb["metal"])


def test_bank_refusals(bank, tiny_model, data_dir, cli_main, capsys, tmp_path):
    b = bank / "bank"
    before = (b / "bank.json").read_text()
    capsys.readouterr()
    # a task name already in the bank
    assert add(cli_main, tiny_model, data_dir / "gap.csv", "gap", "prompt", bank=b, task="gap") == 2
    assert capsys.readouterr().err == (
        f"error: task 'gap' is already in bank '{b}'; pass --overwrite to replace it\n"
    )
    # another base model
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import load_model_dir, save_model_dir

    other = tmp_path / "other"
    torch.manual_seed(1)
    loaded = load_model_dir(tiny_model)
    save_model_dir(other, ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition")).save_pretrained,
                   loaded.tokenizer, loaded.meta)  # fmt: skip
    assert add(cli_main, other, data_dir / "gap.csv", "gap", "prompt", bank=b, task="gap2") == 2
    sha, base_sha = sha256_file(other / "model.safetensors"), sha256_file(tiny_model / "model.safetensors")
    assert capsys.readouterr().err == (
        f"error: model '{other}' (weights sha256 {sha[:12]}) is not the base of bank '{b}' "
        f"('{tiny_model}', sha256 {base_sha[:12]}); a bank holds tasks of one base model\n"
    )
    # a strategy that trains the encoder; a task name that cannot be a column
    full = ("--strategy", "full", "--bank", b, "--task-name", "x")
    assert (
        cli_main("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", "--target", "gap", *full)
        == 2
    )
    assert capsys.readouterr().err == (
        "error: --bank needs strategy prompt, prefix or lora, not 'full': a bank shares one frozen encoder "
        "between its tasks\n"
    )
    assert add(cli_main, tiny_model, data_dir / "gap.csv", "gap", "prompt", bank=b, task="band gap") == 2
    assert capsys.readouterr().err == (
        "error: task name 'band gap': use a letter, then letters, digits, '_' or '-' (at most 64 characters)\n"
    )
    assert (b / "bank.json").read_text() == before and sorted(p.name for p in b.iterdir()) == [
        "bank.json",
        "base",
        "tasks",
    ]
    # --bank and --task-name come together
    gap = (
        "finetune",
        "--model",
        tiny_model,
        "--data",
        data_dir / "gap.csv",
        "--target",
        "gap",
        "--strategy",
        "prompt",
    )
    assert cli_main(*gap, "--bank", b) == 2
    assert (
        capsys.readouterr().err
        == f"error: --bank '{b}' needs --task-name NAME (the task's name in the bank)\n"
    )
    assert cli_main(*gap, "--task-name", "gap", "--out", tmp_path / "x") == 2
    assert (
        capsys.readouterr().err == "error: --task-name 'gap' needs --bank DIR (the bank to add the task to)\n"
    )
    assert cli_main(*gap) == 2
    assert capsys.readouterr().err == "error: finetune needs --out DIR (or --bank DIR --task-name NAME)\n"
    # predict: an unknown task, --task on a plain directory
    code, (_, err) = run_predict(
        cli_main, capsys, b, data_dir / "gap.csv", tmp_path / "p.csv", "--task", "gap,e_gap"
    )
    assert (code, err) == (2, f"error: bank '{b}' has no task 'e_gap'; it holds gap, metal, e_form\n")
    code, (_, err) = run_predict(
        cli_main, capsys, bank / "gap-run", data_dir / "gap.csv", tmp_path / "p.csv", "--task", "gap"
    )
    assert (code, err) == (
        2, f"error: --task needs a bank (a directory with bank.json); '{bank / 'gap-run'}' is a model directory\n"
    )  # fmt: skip
    assert not (tmp_path / "p.csv").exists()


def test_overwrite_replaces_a_task(tiny_model, data_dir, cli_main, tmp_path):
    from chemtl.pipelines.bank import predict_bank

    b = tmp_path / "bank"
    assert add(cli_main, tiny_model, data_dir / "gap.csv", "gap", "prompt", bank=b, task="gap") == 0
    assert add(cli_main, tiny_model, data_dir / "e_form.csv", "e_form", "prompt", bank=b, task="ef") == 0
    first = predict_bank(b, ["NaCl", "Fe2O3"])
    extra = ("--seed", "1")
    assert (
        add(
            cli_main,
            tiny_model,
            data_dir / "gap.csv",
            "gap",
            "prompt",
            bank=b,
            task="gap",
            extra=(*extra, "--overwrite"),
        )
        == 0
    )
    info = json.loads((b / "bank.json").read_text())
    assert list(info["tasks"]) == ["ef", "gap"]  # the replaced task moves to the end
    assert json.loads((b / "tasks" / "gap" / "train_config.json").read_text())["train"]["seed"] == 1
    second = predict_bank(b, ["NaCl", "Fe2O3"])
    assert second["prediction_ef"].tolist() == first["prediction_ef"].tolist()
    assert second["prediction_gap"].tolist() != first["prediction_gap"].tolist()
    assert sorted(p.name for p in (b / "tasks").iterdir()) == ["ef", "gap"]  # no temporary left


def test_frozen_prompt_trains_only_the_head(tiny_model, data_dir, tmp_path):
    import torch

    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.pipelines.finetune import finetune
    from chemtl.training.config import DataConfig, TrainConfig
    from chemtl.transfer import StrategyConfig, apply_strategy, trainable_parameter_names
    from chemtl.transfer.prompt import prompt_parameters

    strategy = StrategyConfig("prompt", num_virtual_tokens=3, prompt_init="vocab", freeze_prompt=True)
    assert strategy.to_dict()["freeze_prompt"] is True
    assert "freeze_prompt" not in StrategyConfig("prompt").to_dict()  # old configs read back unchanged
    torch.manual_seed(0)
    wrapped = apply_strategy(ChemtlForPropertyPrediction.from_pretrained(tiny_model, num_labels=1), strategy)
    assert sorted(trainable_parameter_names(wrapped)) == [
        "base_model.classifier.modules_to_save.default.out.bias",
        "base_model.classifier.modules_to_save.default.out.weight",
        "base_model.classifier.modules_to_save.default.transform.bias",
        "base_model.classifier.modules_to_save.default.transform.weight",
    ]
    data = DataConfig(dataset=str(data_dir / "gap.csv"), target_col="gap", split="random",
                      split_params={"frac": [0.6, 0.2, 0.2]})  # fmt: skip
    train = TrainConfig(max_epochs=2, batch_size=8, patience=None, seed=0, progress_bar=False)
    result = finetune(tiny_model, data, train, strategy, tmp_path / "fixed")
    assert result.metrics["trainable_params"] == 1056 + 33  # the head only
    # the prompt is what vocab init drew at the run's seed: rerun the init under the same seed
    from chemtl.training.seeding import seed_run

    seed_run(0, train.deterministic)
    again = apply_strategy(ChemtlForPropertyPrediction.from_pretrained(tiny_model, num_labels=1), strategy)
    assert torch.equal(prompt_parameters(result.model), prompt_parameters(again))
    learned = finetune(tiny_model, data, train, StrategyConfig("prompt", num_virtual_tokens=3, prompt_init="vocab"),
                       tmp_path / "learned")  # fmt: skip
    assert learned.metrics["trainable_params"] == 1056 + 33 + 96
    assert not torch.equal(prompt_parameters(learned.model), prompt_parameters(again))
