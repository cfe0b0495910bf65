"""`chemtl finetune --select kmeans|random --n K`: K training rows chosen, val/test untouched."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ("--epochs", "2", "--batch-size", "8", "--patience", "2", "--no-progress")


@pytest.fixture(scope="module")
def kmeans_run(tiny_model, data_dir, tmp_path_factory, cli_main):
    out = tmp_path_factory.mktemp("select-run")
    args = ("--data", data_dir / "gap.csv", "--target", "gap", "--split", "random")
    code = cli_main(
        "finetune", "--model", tiny_model, *args, "--select", "kmeans", "--n", "8", *FAST, "--out", out
    )
    assert code == 0
    return out


def test_only_the_chosen_training_rows_train(kmeans_run, tiny_model, data_dir):
    from chemtl.data import load_dataset
    from chemtl.data.splits import make_split
    from chemtl.pipelines.predict import embed
    from chemtl.transfer.fewshot.support import kmeans_select

    metrics = json.loads((kmeans_run / "metrics.json").read_text())
    manifest = json.loads((kmeans_run / "manifest.json").read_text())
    ds = load_dataset(data_dir / "gap.csv", target_col="gap")
    split = make_split(ds, "random", seed=0)  # 48/6/6 of the 60 rows
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (8, len(split.val), len(split.test))
    assert metrics["selection"] == {
        "method": "kmeans",
        "n": 8,
        "seed": 0,
        "from_train_rows": len(split.train),
    }
    chosen = manifest["selection"]["rows"]
    expected = split.train[kmeans_select(embed(tiny_model, [ds.inputs[i] for i in split.train]), 8, seed=0)]
    assert chosen == expected.tolist()
    assert manifest["split"]["sizes"] == {"train": 8, "val": len(split.val), "test": len(split.test)}
    preds = pd.read_csv(kmeans_run / "predictions.csv")
    assert sorted(preds.loc[preds["split"] == "train", "row"].tolist()) == sorted(chosen)
    assert int((preds["split"] == "unselected").sum()) == len(split.train) - 8
    assert preds.loc[preds["split"] == "val", "row"].tolist() == split.val.tolist()
    assert preds.loc[preds["split"] == "test", "row"].tolist() == split.test.tolist()


def test_random_selection_and_the_result_line(tiny_model, data_dir, tmp_path, capsys):
    from chemtl.cli.main import main

    out = tmp_path / "r"
    args = ("--data", str(data_dir / "gap.csv"), "--target", "gap", "--split", "random")
    assert (
        main(
            [
                "finetune",
                "--model",
                str(tiny_model),
                *args,
                "--select",
                "random",
                "--n",
                "5",
                *FAST,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.splitlines()[0]
    assert "(regression, 5/6/6 rows; train = 5 of 48 rows chosen by random)" in line
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["selection"]["rows"]
    assert len(set(rows)) == 5
    from chemtl.data import load_dataset
    from chemtl.data.splits import make_split

    train = make_split(load_dataset(data_dir / "gap.csv", target_col="gap"), "random", seed=0).train
    assert rows == train[np.random.default_rng(0).choice(len(train), size=5, replace=False)].tolist()


def test_more_rows_than_the_training_side_is_one_line(tiny_model, data_dir, tmp_path, capsys):
    from chemtl.cli.main import main

    args = ("--data", str(data_dir / "gap.csv"), "--target", "gap", "--split", "random")
    code = main(
        [
            "finetune",
            "--model",
            str(tiny_model),
            *args,
            "--select",
            "kmeans",
            "--n",
            "49",
            *FAST,
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err == "error: --n 49 is more than the 48 training rows of split 'random' of 'gap'\n"
    assert not (tmp_path / "x").exists()
    code = main(
        [
            "finetune",
            "--model",
            str(tiny_model),
            *args,
            "--select",
            "kmeans",
            *FAST,
            "--out",
            str(tmp_path / "y"),
        ]
    )
    assert code == 2
    assert (
        capsys.readouterr().err == "error: select 'kmeans' needs select_n too (--select METHOD with --n K)\n"
    )


def test_a_selection_of_one_class_is_refused_naming_it(tiny_model, data_dir, tmp_path, capsys):
    from chemtl.cli.main import main

    args = ("--data", str(data_dir / "metal.csv"), "--target", "is_metal", "--split", "random")
    code = main(
        [
            "finetune",
            "--model",
            str(tiny_model),
            *args,
            "--select",
            "random",
            "--n",
            "1",
            *FAST,
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: classification target 'is_metal': the training rows of split 'random' hold one class"
    )
    assert err.endswith("(the 1 rows --select random chose; try another --n or --split-seed)\n")
