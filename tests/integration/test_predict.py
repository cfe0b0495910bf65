"""`chemtl predict` / `embed` on a user's file: kept columns, target labels, skipped rows, MC dropout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ROWS = ["NaCl", "KCl", "LiF", "MgO", "CaO", "K2O", "Na2S", "ZnO"]
QUICK = ("--epochs", "1", "--batch-size", "16", "--patience", "0", "--no-progress")
QUICK += ("--split-param", "frac=0.6,0.2,0.2")


@pytest.fixture(scope="module")
def gap_model(tiny_model, data_dir, tmp_path_factory, cli_main):
    out = tmp_path_factory.mktemp("gap-model")
    args = ("finetune", "--model", tiny_model, "--data", data_dir / "gap.csv", "--target", "gap")
    assert cli_main(*args, *QUICK, "--out", out, "--overwrite") == 0
    return out


@pytest.fixture(scope="module")
def label_model(tiny_model, data_dir, tmp_path_factory, cli_main):
    """A classifier trained on text labels (metal / insulator)."""
    d = tmp_path_factory.mktemp("label-model")
    rows = [line.split(",")[0] for line in (data_dir / "gap.csv").read_text().splitlines()[1:41]]
    (d / "labels.csv").write_text(
        "formula,kind\n" + "".join(f"{f},{'metal' if k % 2 else 'insulator'}\n" for k, f in enumerate(rows))
    )
    args = ("finetune", "--model", tiny_model, "--data", d / "labels.csv", "--target", "kind")
    assert cli_main(*args, "--task", "classification", *QUICK, "--out", d / "run") == 0
    return d / "run"


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)  # "NaN" is sodium nitride


def library_predictions(model, inputs, **kw) -> pd.DataFrame:
    from chemtl.pipelines.predict import predict

    return predict([model], inputs, **kw)


def as_written(values) -> list[str]:
    return [f"{float(v):.10g}" for v in values]


def test_predict_keeps_every_column_but_the_input(gap_model, tmp_path, cli_main, capsys):
    rows = ROWS[:6]
    gaps = [0.5, 1.25, 2.0, 3.5, 4.0, 0.75]
    (tmp_path / "new.csv").write_text(
        "id,name,formula,gap\n" + "".join(f"00{k},compound {k},{f},{gaps[k]}\n" for k, f in enumerate(rows))
    )
    code = cli_main(
        "predict", "--model", gap_model, "--data", tmp_path / "new.csv", "--out", tmp_path / "p.csv"
    )
    assert code == 0 and capsys.readouterr().err == ""
    table = read(tmp_path / "p.csv")
    assert list(table.columns) == ["id", "name", "input", "target", "prediction"]
    assert table.id.tolist() == ["000", "001", "002", "003", "004", "005"]  # as written, not 0..5
    assert table.name.tolist() == [f"compound {k}" for k in range(6)]
    assert table.input.tolist() == rows
    assert table.target.tolist() == ["0.5", "1.25", "2", "3.5", "4", "0.75"]
    assert table.prediction.tolist() == as_written(library_predictions(gap_model, rows).prediction)
    # the layout of finetune's predictions.csv where the two overlap
    ours = read(gap_model / "predictions.csv").columns.tolist()
    assert [c for c in ours if c in table.columns] == ["input", "target", "prediction"]


def test_target_named_by_flag_and_by_alias(gap_model, tmp_path, cli_main):
    (tmp_path / "new.csv").write_text("formula,measured\nNaCl,1.5\nKCl,\n")
    for flag in ("--target", "--target-col"):
        out = tmp_path / f"p{flag}.csv"
        assert (
            cli_main(
                "predict",
                "--model",
                gap_model,
                "--data",
                tmp_path / "new.csv",
                flag,
                "measured",
                "--out",
                out,
            )
            == 0
        )
        table = read(out)
        assert list(table.columns) == ["input", "target", "prediction"]
        assert table.target.tolist() == ["1.5", ""]  # a missing known value stays missing


def test_text_labels_pass_through_a_regression_model(gap_model, tmp_path, cli_main, capsys):
    (tmp_path / "new.csv").write_text("formula,gap\nNaCl,high\nKCl,low\n")
    code = cli_main(
        "predict", "--model", gap_model, "--data", tmp_path / "new.csv", "--out", tmp_path / "p.csv"
    )
    assert code == 0
    assert (
        capsys.readouterr().err
        == "note: column 'gap' does not hold numbers; it is copied as a plain column\n"
    )
    table = read(tmp_path / "p.csv")
    assert list(table.columns) == ["gap", "input", "prediction"]
    assert table.gap.tolist() == ["high", "low"]


def test_a_classifier_compares_its_own_labels_only(label_model, tmp_path, cli_main, capsys):
    (tmp_path / "new.csv").write_text("formula,kind\nNaCl,insulator\nCu,metal\n")
    out = tmp_path / "p.csv"
    assert cli_main("predict", "--model", label_model, "--data", tmp_path / "new.csv", "--out", out) == 0
    table = read(out)
    assert list(table.columns) == ["input", "target", "prediction", "prob_insulator", "prob_metal"]
    assert table.target.tolist() == ["insulator", "metal"]
    assert set(table.prediction) <= {"insulator", "metal"}
    capsys.readouterr()
    (tmp_path / "other.csv").write_text("formula,kind\nNaCl,yes\nCu,no\n")
    assert cli_main("predict", "--model", label_model, "--data", tmp_path / "other.csv", "--out", out) == 0
    assert capsys.readouterr().err == (
        "note: column 'kind' does not hold the model's classes ('insulator', 'metal'); "
        "it is copied as a plain column\n"
    )
    assert list(read(out).columns) == ["kind", "input", "prediction", "prob_insulator", "prob_metal"]


def test_a_column_named_like_an_output_is_refused(gap_model, tmp_path, cli_main, capsys):
    (tmp_path / "new.csv").write_text("formula,prediction\nNaCl,1\n")
    code = cli_main(
        "predict", "--model", gap_model, "--data", tmp_path / "new.csv", "--out", tmp_path / "p.csv"
    )
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'new.csv'}: column 'prediction' has the name of a column predict writes; "
        "rename it (predict writes input, prediction)\n"
    )
    assert not (tmp_path / "p.csv").exists()


BAD = "id,formula\na,NaCl\nb,Xx3\nc,KCl\n"


def test_predict_skip_invalid_leaves_bad_rows_out(gap_model, tmp_path, cli_main, capsys):
    (tmp_path / "new.csv").write_text(BAD)
    args = ("predict", "--model", gap_model, "--data", tmp_path / "new.csv", "--out", tmp_path / "p.csv")
    assert cli_main(*args) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'new.csv'}: row 2, column 'formula': invalid formula 'Xx3': unknown element "
        "'Xx' (1 of 3 rows invalid; fix them or pass --skip-invalid to skip them)\n"
    )
    assert cli_main(*args, "--skip-invalid", "--skipped-out", tmp_path / "bad.csv") == 0
    assert capsys.readouterr().err == f"skipped 1 invalid row(s); listed in {tmp_path / 'bad.csv'}\n"
    table = read(tmp_path / "p.csv")
    assert table.id.tolist() == ["a", "c"] and table.input.tolist() == ["NaCl", "KCl"]
    assert (tmp_path / "bad.csv").read_text() == (
        "row,column,value,reason\n2,formula,Xx3,invalid formula 'Xx3': unknown element 'Xx'\n"
    )


def test_embed_skip_invalid_and_max_length(gap_model, tmp_path, cli_main, capsys):
    from chemtl.pipelines.predict import embed

    (tmp_path / "new.csv").write_text(BAD)
    args = ("embed", "--model", gap_model, "--data", tmp_path / "new.csv", "--out", tmp_path / "e.npy")
    assert cli_main(*args, "--skip-invalid", "--skipped-out", tmp_path / "bad.csv", "--max-length", "3") == 0
    emb = np.load(tmp_path / "e.npy")
    assert emb.shape == (2, 32)
    assert np.array_equal(emb, embed(gap_model, ["NaCl", "KCl"], max_length=3))
    assert not np.array_equal(emb, embed(gap_model, ["NaCl", "KCl"]))  # NaCl is 4 tokens, cut to 3
    assert (tmp_path / "bad.csv").read_text().splitlines()[1].startswith("2,formula,Xx3,")


def test_predict_max_length_and_kind(gap_model, tmp_path, cli_main, capsys):
    (tmp_path / "new.csv").write_text("x\nNaCl\nK2O\n")
    out = tmp_path / "p.csv"
    args = ("predict", "--model", gap_model, "--data", tmp_path / "new.csv", "--input-col", "x")
    assert cli_main(*args, "--kind", "composition", "--max-length", "3", "--out", out) == 0
    expected = library_predictions(gap_model, ["NaCl", "K2O"], max_length=3).prediction
    assert read(out).prediction.tolist() == as_written(expected)
    capsys.readouterr()
    assert cli_main(*args, "--kind", "smiles", "--out", out) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'new.csv'}: all 2 rows are invalid; is --kind smiles right? (first: row 1, "
        "column 'x': invalid SMILES 'NaCl': syntax error at position 2)\n"
    )
    (tmp_path / "mols.csv").write_text("x\nCCO\nCCN\n")  # SMILES that also read as formulas
    args = ("predict", "--model", gap_model, "--data", tmp_path / "mols.csv", "--input-col", "x")
    assert cli_main(*args, "--kind", "smiles", "--out", out) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'mols.csv'} holds smiles inputs but the model reads composition inputs\n"
    )


def test_mc_dropout_keeps_the_eval_prediction(gap_model, tmp_path, cli_main):
    from chemtl.pipelines.finetune import forward_outputs, to_user_units
    from chemtl.pipelines.predict import _load_finetuned, predict

    rows = ROWS
    plain = library_predictions(gap_model, rows)
    mc = library_predictions(gap_model, rows, mc_dropout=4, seed=3)
    assert list(mc.columns) == ["input", "prediction", "uncertainty"]
    assert np.array_equal(mc.prediction.to_numpy(), plain.prediction.to_numpy())
    model, loaded = _load_finetuned(gap_model)
    _, samples = forward_outputs(model, loaded.tokenizer, rows, 256, 256, 4, 3)
    spread = np.stack([to_user_units(s, loaded.meta)[:, 0] for s in samples]).std(axis=0)
    assert np.array_equal(mc.uncertainty.to_numpy(), spread)
    assert (spread > 0).all()
    # an ensemble: the mean of the members' eval predictions (two copies: the same numbers)
    both = predict([gap_model, gap_model], rows, mc_dropout=2)
    assert np.array_equal(both.prediction.to_numpy(), plain.prediction.to_numpy())
    # the CLI writes the same eval prediction with and without --mc-dropout
    (tmp_path / "new.csv").write_text("formula\n" + "".join(f"{f}\n" for f in rows))
    for name, extra in (("plain", ()), ("mc", ("--mc-dropout", "4"))):
        assert (
            cli_main(
                "predict",
                "--model",
                gap_model,
                "--data",
                tmp_path / "new.csv",
                *extra,
                "--out",
                tmp_path / f"{name}.csv",
            )
            == 0
        )
    assert read(tmp_path / "mc.csv").prediction.tolist() == read(tmp_path / "plain.csv").prediction.tolist()


def test_mc_dropout_on_a_classifier_is_the_entropy_of_the_mean_pass(label_model):
    from chemtl.pipelines.finetune import forward_outputs, softmax
    from chemtl.pipelines.predict import _load_finetuned, predict

    rows = ROWS[:5]
    plain = predict(label_model, rows)
    mc = predict(label_model, rows, mc_dropout=3)
    assert mc.prediction.tolist() == plain.prediction.tolist()
    assert np.array_equal(mc.prob_metal.to_numpy(), plain.prob_metal.to_numpy())
    model, loaded = _load_finetuned(label_model)
    _, samples = forward_outputs(model, loaded.tokenizer, rows, 256, 256, 3, 0)
    p = np.stack([softmax(s.astype(np.float64)) for s in samples]).mean(axis=0)
    assert np.array_equal(mc.uncertainty.to_numpy(), -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=1))


def test_one_dropout_pass_is_refused(gap_model):
    from chemtl.errors import ChemtlError
    from chemtl.pipelines.predict import predict

    with pytest.raises(ChemtlError) as info:
        predict(gap_model, ["NaCl"], mc_dropout=1)
    assert str(info.value) == "mc_dropout must be 0 (off) or at least 2 passes, got 1"


def test_predict_on_a_registered_dataset_sets_its_target_beside(gap_model, tmp_path, cli_main):
    out = tmp_path / "p.csv"
    assert (
        cli_main("predict", "--model", gap_model, "--data", "matbench_expt_gap", "--limit", "3", "--out", out)
        == 0
    )
    table = read(out)
    assert list(table.columns) == ["input", "target", "prediction"]
    assert table.input.tolist() == ["Ag(AuS)2", "Ag(W3Br7)2", "Ag0.5Ge1Pb1.75S4"]
    assert table.target.tolist() == ["0", "0", "1.83"]


def test_embed_takes_a_shipped_model_name(tmp_path, cli_main):
    (tmp_path / "new.csv").write_text("formula\nNaCl\nK2O\nFe2O3\n")
    out = tmp_path / "e.npy"
    assert (
        cli_main("embed", "--model", "composition-small", "--data", tmp_path / "new.csv", "--out", out) == 0
    )
    assert np.load(out).shape == (3, 256)
