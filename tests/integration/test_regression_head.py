"""`chemtl finetune --loss l1|robust-l1 --output-gate`: the loss that trains is the loss that
selects, robust-l1's per-row standard deviation reaches predictions.csv and `chemtl predict`, and
the options are refused where they cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ("--epochs", "3", "--batch-size", "8", "--patience", "2", "--no-progress", "--seed", "0")


def _finetune(cli_main, model, data, out, *extra, target="gap"):
    return cli_main(
        "finetune", "--model", model, "--data", data, "--target", target, *FAST, *extra, "--out", out
    )


@pytest.fixture(scope="module")
def robust_run(tiny_model, data_dir, tmp_path_factory, cli_main):
    out = tmp_path_factory.mktemp("robust")
    assert (
        _finetune(cli_main, tiny_model, data_dir / "gap.csv", out, "--loss", "robust-l1", "--output-gate")
        == 0
    )
    return out


def test_robust_gated_run_reports_its_std(robust_run, data_dir, tmp_path, cli_main):
    m = json.loads((robust_run / "metrics.json").read_text())
    assert (m["loss"], m["output_gate"]) == ("robust-l1", True)
    config = json.loads((robust_run / "config.json").read_text())
    assert (config["regression_loss"], config["output_gate"]) == ("robust-l1", True)
    # the gate's zero is 0 eV in standardised units
    assert config["gate_zero"] == [pytest.approx(-m["target_mean"] / m["target_std"])]
    table = pd.read_csv(robust_run / "predictions.csv")
    assert list(table.columns) == ["row", "split", "input", "target", "prediction", "predicted_std"]
    assert (table.predicted_std > 0).all()
    test = table[table.split == "test"]
    calib = m["test_predicted_std"]
    assert calib["mean_std"] == pytest.approx(test.predicted_std.mean(), rel=1e-6)
    assert calib["rmse"] == pytest.approx(m["test"]["rmse"], rel=1e-6)
    assert set(calib) == {"mean_std", "implied_rmse", "rmse", "spearman_std_abs_error"}
    # the gate keeps predictions on the target's side of 0 eV... at most as far from 0 as mu
    assert (
        cli_main(
            "predict", "--model", robust_run, "--data", data_dir / "gap.csv", "--out", tmp_path / "p.csv"
        )
        == 0
    )
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["input", "target", "prediction", "predicted_std"]
    assert np.allclose(preds.prediction, table.prediction, rtol=1e-6, atol=1e-9)
    assert np.allclose(preds.predicted_std, table.predicted_std, rtol=1e-6, atol=1e-9)


def test_l1_validation_loss_is_the_standardised_mae(tiny_model, data_dir, tmp_path, cli_main):
    assert _finetune(cli_main, tiny_model, data_dir / "gap.csv", tmp_path, "--loss", "l1") == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    log = pd.read_csv(tmp_path / "logs" / "metrics.csv")
    val = log["val_loss"].dropna().to_numpy()
    # the best epoch's weights are kept, and its validation loss is the validation MAE divided by
    # the training rows' std: the loss that selects is the metric that is scored
    assert m["best_epoch"] == int(np.argmin(val)) + 1
    assert val.min() == pytest.approx(m["val"]["mae"] / m["target_std"], rel=1e-5)
    assert "predicted_std" not in pd.read_csv(tmp_path / "predictions.csv").columns


def test_gate_can_predict_exact_zero():
    import torch

    from chemtl.models import ChemtlConfig
    from chemtl.models.prediction import split_head_output

    mean, std = 1.2, 0.8
    cfg = ChemtlConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       output_gate=True, gate_zero=[-mean / std])  # fmt: skip
    z, _ = split_head_output(cfg, torch.tensor([[3.0, -1e4], [3.0, 1e4]], dtype=torch.float64))
    user = z.numpy()[:, 0] * std + mean
    assert user[0] == pytest.approx(0.0, abs=1e-12) and user[1] == pytest.approx(3.0 * std + mean)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--loss", "l1"), "error: loss 'l1' needs a regression target; this one is classification"),
        (("--output-gate",), "error: output_gate True needs a regression target; this one is classification"),
    ],
)
def test_regression_options_refused_for_classification(
    tiny_model, data_dir, tmp_path, cli_main, capsys, extra, message
):
    out = tmp_path / "run"
    code = _finetune(cli_main, tiny_model, data_dir / "metal.csv", out, "--task", "classification", *extra,
                     target="is_metal")  # fmt: skip
    assert code == 2 and capsys.readouterr().err.strip() == message
    assert not out.exists()


def test_robust_loss_refused_in_a_bank(tiny_model, data_dir, tmp_path, cli_main, capsys):
    code = cli_main("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", "--target", "gap",
                    "--strategy", "lora", "--bank", tmp_path / "bank", "--task-name", "gap", "--loss", "robust-l1",
                    *FAST)  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --loss robust-l1 adds head outputs that a bank's task heads do not hold; use it without --bank"
    )
    assert not (tmp_path / "bank").exists()
