"""`chemtl adapt` end to end on a tiny model: DANN trains with its domain classifier in the
checkpoint, the output is a model `chemtl predict` reads, a killed run resumes to the same
numbers, and bad input is a one-line error with nothing written."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
import torch

from chemtl.pipelines.finetune import NONDETERMINISTIC_KEYS
from chemtl.training.config import TrainConfig
from chemtl.transfer.adapt import AdaptConfig
from chemtl.transfer.adapt.grl import ganin_lambda

from .conftest import formulas, gap_value

FAST = ("--epochs", "2", "--batch-size", "8", "--checkpoint-every", "2", "--no-progress", "--no-diagnostics")


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    d = tmp_path_factory.mktemp("domains")
    rows = formulas(90)
    (d / "source.csv").write_text(
        "formula,gap\n" + "".join(f"{f},{gap_value(k, f)}\n" for k, f in enumerate(rows[:50]))
    )
    (d / "target.csv").write_text(
        "formula,gap\n" + "".join(f"{f},{gap_value(k, f) + 1.0}\n" for k, f in enumerate(rows[50:80]))
    )
    return d


def adapt_args(model, domains, out, *extra):
    return (
        "adapt",
        "--model",
        model,
        "--source",
        domains / "source.csv",
        "--target",
        domains / "target.csv",
        "--target-col",
        "gap",
        *FAST,
        "--out",
        out,
        *extra,
    )


def numbers(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


@pytest.fixture(scope="module")
def dann_run(tiny_model, domains, tmp_path_factory, cli_main):
    out = tmp_path_factory.mktemp("dann")
    assert cli_main(*adapt_args(tiny_model, domains, out, "--evaluate", "--overwrite")) == 0
    return out


def test_dann_trains_and_checkpoints_the_domain_classifier(dann_run):
    m = json.loads((dann_run / "metrics.json").read_text())
    assert (m["method"], m["selection"], m["selected_by"]) == ("dann", "source-val", "val_loss")
    # grouped split of 50 source rows: 40 train, 5 val, 5 test; 5 batches of 8 a epoch
    assert (m["n_source_train"], m["n_source_val"], m["n_source_test"]) == (40, 5, 5)
    assert (m["n_target"], m["n_target_labelled"], m["n_target_in_source"]) == (30, 0, 0)
    assert (m["global_step"], m["epochs_run"]) == (10, 2)
    assert m["target"]["n"] == 30 and set(m["target"]) == {"mae", "rmse", "r2", "n"}
    assert m["domain_classifier_params"] == 2145  # 32 -> 32 -> 32 -> 1
    state = torch.load(dann_run / "checkpoints" / "last.ckpt", weights_only=True)
    names = [k for k in state["state_dict"] if k.startswith("objective.classifier.")]
    assert names == [f"objective.classifier.net.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    torch.manual_seed(0)  # the classifier's initial weights, as adapt draws them
    from chemtl.transfer.adapt.objective import DomainClassifier

    initial = DomainClassifier(32).state_dict()
    assert not torch.equal(initial["net.0.weight"], state["state_dict"]["objective.classifier.net.0.weight"])
    assert state["callbacks"]["StreamPosition[target]"] == {"epoch": 2, "consumed": 2}  # 10 = 4 * 2 + 2
    # lambda follows Ganin's schedule over the 10 steps
    log = pd.read_csv(dann_run / "logs" / "metrics.csv")
    lam = log.dropna(subset=["train_lambda_step"])
    assert lam["step"].tolist() == list(range(10))
    assert np.allclose(lam["train_lambda_step"], [ganin_lambda(s / 10) for s in range(10)], rtol=0, atol=1e-7)
    assert {"train_task_loss_step", "train_domain_loss_step", "train_domain_acc_step"} <= set(log.columns)
    manifest = json.loads((dann_run / "manifest.json").read_text())
    assert manifest["run"] == "adapt" and set(manifest["data"]) == {"source", "target"}
    assert manifest["data"]["target"]["sha256"] and manifest["versions"]["torch"]


def test_chemtl_predict_reads_the_adapted_model(dann_run, domains, tmp_path, cli_main):
    assert (
        cli_main(
            "predict", "--model", dann_run, "--data", domains / "target.csv", "--out", tmp_path / "p.csv"
        )
        == 0
    )
    predicted = pd.read_csv(tmp_path / "p.csv")
    saved = pd.read_csv(dann_run / "predictions.csv")
    target = saved[saved["domain"] == "target"]
    assert predicted["input"].tolist() == target["input"].tolist()
    assert np.allclose(predicted["prediction"], target["prediction"], rtol=1e-8, atol=0)


def test_source_only_with_dev_selection_and_target_labels(tiny_model, domains, tmp_path, cli_main):
    out = tmp_path / "so"
    args = ("--method", "source-only", "--selection", "dev", "--target-labels", "5", "--evaluate")
    assert cli_main(*adapt_args(tiny_model, domains, out, *args)) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert (m["method"], m["selected_by"], m["n_target_labelled"]) == ("source-only", "val_dev", 5)
    assert m["target"]["n"] == 25  # the 5 training rows are not scored
    log = pd.read_csv(out / "logs" / "metrics.csv")
    assert log["val_dev"].dropna().iloc[m["best_epoch"] - 1] == pytest.approx(m["best_val_loss"])
    saved = pd.read_csv(out / "predictions.csv")
    assert (saved["split"] == "target_train").sum() == 5
    rows = json.loads((out / "manifest.json").read_text())["target_labelled_rows"]
    assert (
        len(rows) == 5 and saved.loc[saved["domain"] == "target", "split"].iloc[rows].eq("target_train").all()
    )


def test_domain_gap_numbers_only_where_the_diagnostics_exist(tiny_model, domains, tmp_path):
    from chemtl.pipelines.adapt import adapt

    config = AdaptConfig(
        source=str(domains / "source.csv"),
        target=str(domains / "target.csv"),
        target_col="gap",
        diagnostics_rows=20,
    )
    train = TrainConfig(batch_size=8, max_epochs=1, max_steps=2, progress_bar=False)
    gap = adapt(tiny_model, config, train, tmp_path / "o").metrics["domain_gap"]
    if importlib.util.find_spec("chemtl.evaluate.domain_gap") is None:
        assert gap == {"before": "unavailable: chemtl.evaluate.domain_gap is not installed"} | {
            "after": "unavailable: chemtl.evaluate.domain_gap is not installed"
        }
    else:
        assert (
            set(gap) == {"before", "after"} and gap["before"]["n_source"] == gap["before"]["n_target"] == 20
        )


def test_sigkill_then_resume_gives_the_uninterrupted_numbers(
    tiny_model, domains, tmp_path, kill_at_checkpoint, cli_main
):
    common = adapt_args(tiny_model, domains, "OUT", "--epochs", "4", "--evaluate")
    at = common.index("OUT")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert cli_main(*common[:at], whole, *common[at + 1 :]) == 0
    ckpt = killed / "checkpoints" / "last.ckpt"
    argv = [str(a) for a in (*common[:at], killed, *common[at + 1 :])]
    kill_at_checkpoint(argv, ckpt)
    assert not (killed / "metrics.json").exists()
    step = int(torch.load(ckpt, weights_only=True)["global_step"])
    assert 0 < step < 20  # 5 steps per epoch, 4 epochs
    assert cli_main(*common[:at], killed, *common[at + 1 :], "--resume") == 0
    assert numbers(killed) == numbers(whole)
    assert json.loads((killed / "manifest.json").read_text())["resumed_from_step"] == step
    a, b = pd.read_csv(whole / "predictions.csv"), pd.read_csv(killed / "predictions.csv")
    assert a.equals(b)


@pytest.fixture()
def bad_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "smiles.csv").write_text("smiles,gap\nCCO,1.0\nCCN,2.0\nc1ccccc1,3.0\n")
    return tmp_path


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        (
            "--target",
            "{bad}/smiles.csv",
            "target {value!r} holds smiles inputs but source {source!r} holds composition inputs; "
            "both domains must be of one kind",
        ),
        ("--target", "{bad}/empty.csv", "{value}: the file is empty"),
        (
            "--target",
            "{source}",
            "target {source!r} holds exactly the compounds of source {source!r}; there is no domain shift "
            "to adapt to",
        ),
        ("--method", "coral", "method 'coral' is not one of source-only, dann"),
        ("--selection", "target", "selection 'target' is not one of source-val, dev"),
        (
            "--target-labels",
            "31",
            "--target-labels 31 is more than the 30 labelled rows of target {target!r}",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tiny_model, domains, bad_inputs, cli_main, capsys, flag, value, message
):
    names = {
        "bad": str(bad_inputs),
        "source": str(domains / "source.csv"),
        "target": str(domains / "target.csv"),
    }
    value = value.format(**names)
    args = [str(a) for a in adapt_args(tiny_model, domains, bad_inputs / "out")]
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    capsys.readouterr()
    assert cli_main(*args) == 2
    assert capsys.readouterr().err == f"error: {message.format(value=value, **names)}\n"
    assert not (bad_inputs / "out").exists()
