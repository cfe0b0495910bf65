"""`chemtl finetune` / `predict` / `embed` end to end on a tiny model, and their refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS

FAST = (
    "--epochs",
    "3",
    "--batch-size",
    "8",
    "--patience",
    "2",
    "--checkpoint-every",
    "2",
    "--no-progress",
    "--split-param",
    "frac=0.6,0.2,0.2",
)
REQUIRED = {
    "strategy",
    "task",
    "split",
    "seed",
    "n_train",
    "n_val",
    "n_test",
    "test",
    "trainable_params",
    "total_params",
    "train_seconds",
    "peak_rss_mb",
    "epochs_run",
    "best_epoch",
}


def numbers(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


@pytest.fixture(scope="module")
def gap_run(tiny_model, data_dir, tmp_path_factory, cli_main):
    out = tmp_path_factory.mktemp("gap-run")
    assert (
        cli_main(
            "finetune",
            "--model",
            tiny_model,
            "--data",
            data_dir / "gap.csv",
            "--target",
            "gap",
            "--strategy",
            "partial",
            "--trainable-layers",
            "1",
            *FAST,
            "--out",
            out,
            "--overwrite",
        )
        == 0
    )
    return out


def test_run_directory_holds_the_reports_and_a_model(gap_run):
    names = {p.name for p in gap_run.iterdir()}
    assert {
        "metrics.json",
        "predictions.csv",
        "manifest.json",
        "train_config.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "chemtl.json",
        "strategy.json",
        "logs",
        "checkpoints",
    } <= names
    m = json.loads((gap_run / "metrics.json").read_text())
    assert REQUIRED <= set(m)
    assert (m["strategy"], m["task"], m["n_train"], m["n_val"], m["n_test"]) == (
        "partial",
        "regression",
        36,
        12,
        12,
    )
    assert set(m["test"]) == {"mae", "rmse", "r2"}
    assert 0 < m["trainable_params"] < m["total_params"]
    assert 1 <= m["best_epoch"] <= m["epochs_run"] <= 3
    manifest = json.loads((gap_run / "manifest.json").read_text())
    assert len(manifest["data"]["sha256"]) == 64 and manifest["split"]["sizes"] == {
        "train": 36,
        "val": 12,
        "test": 12,
    }
    assert isinstance(manifest["command"], list) and manifest["versions"]["torch"]
    table = pd.read_csv(gap_run / "predictions.csv")
    assert list(table.columns) == ["row", "split", "input", "target", "prediction"]
    test = table[table.split == "test"]
    assert np.mean(np.abs(test.target - test.prediction)) == pytest.approx(m["test"]["mae"], rel=1e-6)
    assert (gap_run / "logs" / "metrics.csv").is_file() and (gap_run / "checkpoints" / "last.ckpt").is_file()


def test_same_seed_twice_gives_identical_metrics(gap_run, tiny_model, data_dir, tmp_path, cli_main):
    assert (
        cli_main(
            "finetune",
            "--model",
            tiny_model,
            "--data",
            data_dir / "gap.csv",
            "--target",
            "gap",
            "--strategy",
            "partial",
            "--trainable-layers",
            "1",
            *FAST,
            "--out",
            tmp_path,
        )
        == 0
    )
    assert numbers(tmp_path) == numbers(gap_run)
    assert (tmp_path / "predictions.csv").read_text() == (gap_run / "predictions.csv").read_text()


def test_predict_and_embed_read_the_run_directory(gap_run, data_dir, tmp_path, cli_main):
    assert (
        cli_main("predict", "--model", gap_run, "--data", data_dir / "gap.csv", "--out", tmp_path / "p.csv")
        == 0
    )
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["input", "target", "prediction"]
    ours = pd.read_csv(gap_run / "predictions.csv")
    assert np.allclose(preds.prediction, ours.prediction, rtol=1e-6, atol=1e-9)
    assert (
        cli_main(
            "predict",
            "--model",
            gap_run,
            "--model",
            gap_run,
            "--data",
            data_dir / "gap.csv",
            "--mc-dropout",
            "3",
            "--out",
            tmp_path / "u.csv",
        )
        == 0
    )
    assert "uncertainty" in pd.read_csv(tmp_path / "u.csv").columns
    assert (
        cli_main(
            "embed",
            "--model",
            gap_run,
            "--data",
            data_dir / "gap.csv",
            "--out",
            tmp_path / "e.npy",
            "--plot",
            tmp_path / "e.png",
        )
        == 0
    )
    emb = np.load(tmp_path / "e.npy")
    assert emb.shape == (60, 32) and emb.dtype == np.float32
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_classification_reports_auc_accuracy_f1(tiny_model, data_dir, tmp_path, cli_main):
    assert (
        cli_main(
            "finetune",
            "--model",
            tiny_model,
            "--data",
            data_dir / "metal.csv",
            "--target",
            "is_metal",
            "--task",
            "classification",
            "--strategy",
            "feature",
            *FAST,
            "--out",
            tmp_path,
        )
        == 0
    )
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["task"] == "classification" and set(m["test"]) == {"roc_auc", "accuracy", "f1"}
    assert {"prob_0", "prob_1"} <= set(pd.read_csv(tmp_path / "predictions.csv").columns)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err.removeprefix("error: ")


def finetune_args(model, data, out, *extra):
    return ("finetune", "--model", model, "--data", data, *extra, *FAST, "--out", out)


def test_nan_target_is_refused(tiny_model, tmp_path, cli_main, capsys):
    (tmp_path / "d.csv").write_text("formula,gap\nNaCl,1.0\nKCl,nan\nLiF,2.0\n")
    assert cli_main(*finetune_args(tiny_model, tmp_path / "d.csv", tmp_path / "o", "--target", "gap")) == 2
    assert "row 2, column 'gap'" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_nan_target_in_a_dataset_object_is_refused(tiny_model, tmp_path):
    from chemtl.data.dataset import Dataset
    from chemtl.errors import DataError
    from chemtl.pipelines.finetune import finetune
    from chemtl.training.config import DataConfig, TrainConfig
    from chemtl.transfer import StrategyConfig

    ds = Dataset(
        "mine", ["NaCl", "KCl", "LiF"], np.array([1.0, np.nan, 2.0]), "composition", "regression", {}
    )
    with pytest.raises(DataError) as info:
        finetune(
            tiny_model,
            DataConfig(dataset="mine", target_col="gap"),
            TrainConfig(),
            StrategyConfig(),
            tmp_path,
            dataset=ds,
        )
    assert str(info.value) == (
        "target column 'gap' of 'mine' has 1 NaN or infinite value(s) (first at data row 2); "
        "drop those rows or pass --skip-invalid"
    )


def test_one_class_is_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    (tmp_path / "d.csv").write_text(
        "formula,y\n" + "".join(f"{f},1\n" for f in ("NaCl", "KCl", "LiF", "MgO") * 3)
    )
    args = finetune_args(
        tiny_model, tmp_path / "d.csv", tmp_path / "o", "--target", "y", "--task", "classification"
    )
    assert cli_main(*args) == 2
    assert (
        one_line_error(capsys)
        == "classification target 'y' of 'd' has one class ('1'); it needs at least two"
    )


def test_too_small_for_the_split_is_refused(tiny_model, tmp_path, cli_main, capsys):
    (tmp_path / "d.csv").write_text("formula,gap\nNaCl,1.0\nKCl,2.0\nLiF,3.0\n")
    assert cli_main(*finetune_args(tiny_model, tmp_path / "d.csv", tmp_path / "o", "--target", "gap")) == 2
    assert one_line_error(capsys) == (
        "split 'composition_grouped' leaves the test set empty (3 rows); change the fractions or the number "
        "of groups or clusters"
    )
    assert not (tmp_path / "o").exists()


def test_too_small_for_validation_is_refused(tiny_model, tmp_path, cli_main, capsys):
    (tmp_path / "d.csv").write_text("formula,gap\nNaCl,1.0\nKCl,2.0\nLiF,3.0\nMgO,4.0\n")
    args = finetune_args(tiny_model, tmp_path / "d.csv", tmp_path / "o", "--target", "gap")
    assert cli_main(*args, "--split-param", "frac=0.75,0,0.25", "--val-frac", "0") == 2
    assert one_line_error(capsys) == (
        "dataset 'd' has 4 rows, too few for split 'composition_grouped': train/val/test 3/0/1 "
        "(needs at least 2 train, 1 val, 1 test)"
    )


def test_unknown_strategy_is_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    args = finetune_args(
        tiny_model, data_dir / "gap.csv", tmp_path / "o", "--target", "gap", "--strategy", "bogus"
    )
    assert cli_main(*args) == 2
    assert one_line_error(capsys) == (
        "unknown strategy 'bogus'; choose one of full, feature, partial, scratch, prompt, prefix, lora"
    )


def test_too_many_trainable_layers_is_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    args = finetune_args(
        tiny_model,
        data_dir / "gap.csv",
        tmp_path / "o",
        "--target",
        "gap",
        "--strategy",
        "partial",
        "--trainable-layers",
        "5",
    )
    assert cli_main(*args) == 2
    assert one_line_error(capsys) == (
        "trainable_layers 5 is larger than the model's 2 encoder layers (choose 1 to 2)"
    )
    assert not (tmp_path / "o").exists()  # refused before the run directory is claimed


def test_pickle_weights_are_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    import torch
    from safetensors.torch import load_file

    d = tmp_path / "pickled"
    shutil.copytree(tiny_model, d)
    torch.save(load_file(str(d / "model.safetensors")), d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()
    assert cli_main(*finetune_args(d, data_dir / "gap.csv", tmp_path / "o", "--target", "gap")) == 2
    assert one_line_error(capsys) == (
        f"model directory {str(d)!r} holds pickle weights (pytorch_model.bin) and no model.safetensors; "
        "chemtl loads weights only from safetensors"
    )


def test_a_pickle_beside_the_safetensors_is_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    import torch
    from safetensors.torch import load_file

    d = tmp_path / "with-pickle"
    shutil.copytree(tiny_model, d)
    torch.save(load_file(str(d / "model.safetensors")), d / "pytorch_model.bin")
    assert cli_main(*finetune_args(d, data_dir / "gap.csv", tmp_path / "o", "--target", "gap")) == 2
    assert one_line_error(capsys) == (
        f"model directory {str(d)!r} holds pytorch_model.bin, a pickle-format file chemtl never loads; "
        "delete it (convert it to safetensors first if you need it) and load the directory again"
    )


def test_tokenizer_of_another_kind_is_refused(tiny_model, data_dir, tmp_path, cli_main, capsys):
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path / "mismatch"
    shutil.copytree(tiny_model, d)
    get_tokenizer("smiles").save_pretrained(d)
    assert cli_main(*finetune_args(d, data_dir / "gap.csv", tmp_path / "o", "--target", "gap")) == 2
    assert one_line_error(capsys) == (
        f"{d}: the tokenizer is for 'smiles' inputs but the model for 'composition' inputs"
    )


def test_tokenizer_of_another_vocabulary_is_refused(tmp_path):
    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import TokenizerMismatchError, load_model_dir, make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    big = get_tokenizer("smiles")
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "smiles", vocab_size=len(big)))
    small = get_tokenizer("smiles", vocab=["C", "O", "N", "c", "1", "(", ")", "="])
    save_model_dir(tmp_path, model.save_pretrained, small, make_meta(kind="smiles", task=None))
    with pytest.raises(TokenizerMismatchError) as info:
        load_model_dir(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: the tokenizer has {len(small)} tokens but the model's vocabulary has {len(big)}"
    )


def test_an_existing_run_is_not_overwritten_silently(gap_run, tiny_model, data_dir, cli_main, capsys):
    assert cli_main(*finetune_args(tiny_model, data_dir / "gap.csv", gap_run, "--target", "gap")) == 2
    assert one_line_error(capsys) == (
        f"{str(gap_run)!r} already holds a run; pass --resume to continue it or --overwrite to replace it"
    )


def test_predict_refuses_a_pretrained_encoder_and_embed_takes_it(
    tiny_model, data_dir, tmp_path, cli_main, capsys
):
    assert (
        cli_main(
            "predict", "--model", tiny_model, "--data", data_dir / "gap.csv", "--out", tmp_path / "p.csv"
        )
        == 2
    )
    assert one_line_error(capsys) == (
        f"{str(tiny_model)!r} is a pretrained encoder without a property head; fine-tune it first "
        "(chemtl finetune --model ...)"
    )
    assert (
        cli_main("embed", "--model", tiny_model, "--data", data_dir / "gap.csv", "--out", tmp_path / "e.npy")
        == 0
    )
    assert np.load(tmp_path / "e.npy").shape == (60, 32)


@pytest.mark.parametrize(
    "strategy",
    [
        ("full",),
        ("scratch",),
        ("prompt", "--num-virtual-tokens", "3"),
        ("prefix", "--num-virtual-tokens", "3"),
        ("lora", "--lora-r", "2"),
    ],
)
def test_every_strategy_saves_a_directory_that_predicts_the_same(
    strategy, tiny_model, data_dir, tmp_path, cli_main
):
    args = ("--epochs", "1", "--batch-size", "16", "--no-progress", "--split-param", "frac=0.6,0.2,0.2")
    assert (
        cli_main(
            "finetune",
            "--model",
            tiny_model,
            "--data",
            data_dir / "gap.csv",
            "--target",
            "gap",
            "--strategy",
            *strategy,
            *args,
            "--out",
            tmp_path / "run",
        )
        == 0
    )
    assert (
        cli_main(
            "predict",
            "--model",
            tmp_path / "run",
            "--data",
            data_dir / "gap.csv",
            "--out",
            tmp_path / "p.csv",
        )
        == 0
    )
    ours = pd.read_csv(tmp_path / "run" / "predictions.csv", keep_default_na=False)
    again = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(again.input) == list(ours.input)
    assert np.allclose(again.prediction, ours.prediction, rtol=1e-5, atol=1e-6)


def test_smiles_table_is_refused_by_a_composition_model(tiny_model, tmp_path, capsys, cli_main):
    table = tmp_path / "mols.csv"
    table.write_text("smiles,y\n" + "".join(f"{'C' * n}O,{n}\n" for n in range(1, 21)))
    assert (
        cli_main(
            "finetune", "--model", tiny_model, "--data", table, "--target", "y", "--out", tmp_path / "run"
        )
        == 2
    )
    assert capsys.readouterr().err == (
        f"error: dataset {str(table)!r} holds smiles inputs but the model reads composition inputs "
        "(pass --kind composition if the column really holds composition strings)\n"
    )
    assert not (tmp_path / "run").exists()
