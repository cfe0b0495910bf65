"""`chemtl finetune --features morgan|rdkit`: the hybrid head (classic features beside the pooled
embedding), its scaling fitted on the training rows only and stored with the model, `chemtl
predict` reading it back, and the one-line refusals where it cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ("--epochs", "1", "--batch-size", "8", "--patience", "1", "--no-progress", "--seed", "0")
SMILES = [("C" * n) + tail for n in range(1, 6) for tail in ("", "O", "N", "Cl", "C(=O)O", "c1ccccc1")]


@pytest.fixture(scope="module")
def molecules(tmp_path_factory):
    path = tmp_path_factory.mktemp("mols") / "mols.csv"
    path.write_text("smiles,y\n" + "".join(f"{s},{0.3 * k % 2.1:.3f}\n" for k, s in enumerate(SMILES)))
    return path


def _finetune(cli_main, model, data, out, *extra, target="y"):
    return cli_main(
        "finetune", "--model", model, "--data", data, "--target", target, *FAST, *extra, "--out", out
    )


def test_rdkit_hybrid_run_scales_on_train_rows_and_predicts_back(
    tiny_smiles_model, molecules, tmp_path, cli_main
):
    from chemtl.data.features import rdkit_descriptor_matrix

    out = tmp_path / "run"
    assert _finetune(cli_main, tiny_smiles_model, molecules, out, "--features", "rdkit") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["features"], metrics["n_features"]) == ("rdkit", 217)
    assert json.loads((out / "train_config.json").read_text())["train"]["features"] == "rdkit"
    config = json.loads((out / "config.json").read_text())
    assert (config["extra_features"], config["extra_features_dim"], len(config["extra_feature_names"])) == (
        "rdkit",
        217,
        217,
    )
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.pkl"))
    table = pd.read_csv(out / "predictions.csv")
    train = table[table.split == "train"]
    assert len(train) == metrics["n_train"] < len(table)
    raw = rdkit_descriptor_matrix(list(train.input))
    std = np.std(raw, axis=0)
    assert np.allclose(config["extra_feature_mean"], np.mean(raw, axis=0), rtol=1e-12, atol=0)
    assert np.allclose(config["extra_feature_std"], np.where(std > 0, std, 1.0), rtol=1e-12, atol=0)
    # with every row the statistics would differ: validation and test rows are left out
    assert not np.allclose(config["extra_feature_mean"], np.mean(rdkit_descriptor_matrix(SMILES), axis=0))
    # `chemtl predict` recomputes the features with the stored scaling: the run's predictions
    assert cli_main("predict", "--model", out, "--data", molecules, "--out", tmp_path / "p.csv") == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.input) == list(table.input)
    assert np.allclose(preds.prediction, table.prediction, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("model", "extra", "message"),
    [
        (
            "COMPOSITION",
            ("--features", "morgan"),
            "error: --features morgan needs a SMILES or SELFIES model; 'COMPOSITION' reads compositions",
        ),
        (
            "SMILES",
            ("--features", "rdkit", "--strategy", "lora", "--bank", "BANK", "--task-name", "y"),
            "error: --features rdkit widens the head with molecule features that a bank's task heads do not "
            "read: use it without --bank",
        ),
        (
            "SMILES",
            ("--features", "morgan", "--head", "elementwise"),
            "error: features 'morgan' join the pooled embedding; head 'elementwise' reads every element's "
            "hidden state: use head pooled",
        ),
    ],
)
def test_refusals(
    tiny_model, tiny_smiles_model, molecules, data_dir, tmp_path, cli_main, capsys, model, extra, message
):
    path = {"COMPOSITION": tiny_model, "SMILES": tiny_smiles_model}[model]
    data = data_dir / "gap.csv" if model == "COMPOSITION" else molecules
    target = "gap" if model == "COMPOSITION" else "y"
    extra = tuple(str(tmp_path / "bank") if e == "BANK" else e for e in extra)
    out = tmp_path / "run"
    assert _finetune(cli_main, path, data, out, *extra, target=target) == 2
    assert capsys.readouterr().err.strip() == message.replace("COMPOSITION", str(tiny_model))
    assert not out.exists() and not (tmp_path / "bank").exists()
