"""`chemtl finetune` on a user's file that writes one compound two ways: the default split
groups compounds (and says so); an explicit --split random keeps its refusal."""

from __future__ import annotations

import json

import pandas as pd

from chemtl.data.keys import composition_key

from .conftest import formulas, gap_value

FAST = ("--epochs", "1", "--batch-size", "16", "--no-progress")


def write_duplicates(path):
    rows = formulas(40) + [f"({f})2" for f in formulas(12)] + ["As2", "As4"]
    path.write_text("formula,gap\n" + "".join(f"{f},{gap_value(k, f)}\n" for k, f in enumerate(rows)))
    return path


def test_default_split_of_a_file_is_random_by_compound(tiny_model, tmp_path, cli_main, capsys):
    data = write_duplicates(tmp_path / "dups.csv")
    out = tmp_path / "run"
    code = cli_main("finetune", "--model", tiny_model, "--data", data, "--target", "gap", *FAST, "--out", out)
    out_text = capsys.readouterr().out
    assert code == 0
    assert out_text.endswith(
        "split: grouped (default), random by compound, so no compound lands on two sides "
        "(--split random for a row-wise split)\n"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"]["method"] == "composition_grouped"
    assert json.loads((out / "train_config.json").read_text())["data"]["split"] == "grouped"
    preds = pd.read_csv(out / "predictions.csv", keep_default_na=False)
    sides = preds.groupby(preds["input"].map(composition_key))["split"].nunique()
    assert sides.max() == 1
    assert sorted(preds.loc[preds["input"].isin(["As2", "As4"]), "split"].unique().tolist()) in (
        ["train"],
        ["val"],
        ["test"],
    )


def test_explicit_random_split_still_refuses_a_compound_on_two_sides(tiny_model, tmp_path, cli_main, capsys):
    data = write_duplicates(tmp_path / "dups.csv")
    args = ("finetune", "--model", tiny_model, "--data", data, "--target", "gap", "--split", "random")
    assert cli_main(*args, *FAST, "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: split 'random' puts the same compound on two sides"), err
    assert "\n" not in err
    assert not (tmp_path / "run").exists()
