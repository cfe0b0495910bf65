"""`chemtl finetune --head elementwise` (CrabNet's per-element residual head) and
`--strategy scratch --element-init mat2vec`: what the run records, that `chemtl predict` reads the
model back, and the one-line refusals where they cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ("--epochs", "2", "--batch-size", "8", "--patience", "2", "--no-progress", "--seed", "0")


def _finetune(cli_main, model, data, out, *extra, target="gap"):
    return cli_main(
        "finetune", "--model", model, "--data", data, "--target", target, *FAST, *extra, "--out", out
    )


def test_elementwise_head_run_predicts_back(tiny_model, data_dir, tmp_path, cli_main):
    out = tmp_path / "run"
    assert (
        _finetune(cli_main, tiny_model, data_dir / "gap.csv", out, "--head", "elementwise", "--loss", "l1")
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["head"] == "elementwise"
    config = json.loads((out / "config.json").read_text())
    assert (config["head_type"], config["regression_loss"]) == ("elementwise", "l1")
    assert json.loads((out / "train_config.json").read_text())["train"]["head"] == "elementwise"
    table = pd.read_csv(out / "predictions.csv")
    assert (
        cli_main("predict", "--model", out, "--data", data_dir / "gap.csv", "--out", tmp_path / "p.csv") == 0
    )
    preds = pd.read_csv(tmp_path / "p.csv")
    assert np.allclose(preds.prediction, table.prediction, rtol=1e-6, atol=1e-9)
    # fine-tuning that run again without --head gives the pooled head back
    again = tmp_path / "again"
    assert _finetune(cli_main, out, data_dir / "gap.csv", again) == 0
    assert json.loads((again / "config.json").read_text())["head_type"] == "pooled"


def test_scratch_from_mat2vec_records_its_start(tiny_model, data_dir, tmp_path, cli_main):
    out = tmp_path / "run"
    code = _finetune(cli_main, tiny_model, data_dir / "gap.csv", out, "--strategy", "scratch",
                     "--element-init", "mat2vec")  # fmt: skip
    assert code == 0
    assert json.loads((out / "config.json").read_text())["element_init"] == "mat2vec"
    assert json.loads((out / "strategy.json").read_text())["element_init"] == "mat2vec"


def test_elementwise_head_refused_for_smiles(tmp_path, cli_main, capsys):
    data = tmp_path / "mols.csv"
    data.write_text("smiles,y\n" + "".join(f"{'C' * n}O,{n * 0.5}\n" for n in range(1, 21)))
    out = tmp_path / "run"
    assert _finetune(cli_main, "smiles-small", data, out, "--head", "elementwise", target="y") == 2
    assert capsys.readouterr().err.strip() == (
        "error: head_type 'elementwise' reads one hidden state per element: it needs kind 'composition', "
        "got kind 'smiles'"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ("--strategy", "lora", "--bank", "BANK", "--task-name", "gap", "--head", "elementwise"),
            "error: --head elementwise reads every token's hidden state; a bank's task heads read the pooled "
            "embedding: use it without --bank",
        ),
        (
            ("--element-init", "mat2vec"),
            "error: element_init='mat2vec' only applies to strategy scratch, not 'full'",
        ),
    ],
)
def test_refusals(tiny_model, data_dir, tmp_path, cli_main, capsys, extra, message):
    extra = tuple(str(tmp_path / "bank") if e == "BANK" else e for e in extra)
    out = tmp_path / "run"
    assert _finetune(cli_main, tiny_model, data_dir / "gap.csv", out, *extra) == 2
    assert capsys.readouterr().err.strip() == message
    assert not out.exists() and not (tmp_path / "bank").exists()
