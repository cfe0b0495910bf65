"""`chemtl describe`: one line per formula in order, --json records, one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest

from chemtl.cli.main import main


@pytest.fixture(scope="module")
def describer(tmp_path_factory):
    """An untrained tiny describer written as `chemtl describe --train` writes it (random weights)."""
    import torch

    from chemtl.models.seq2seq import build_text_tokenizer, new_describer
    from chemtl.pipelines.describe import save_describer

    torch.manual_seed(0)
    tok = build_text_tokenizer(
        ["metal, band gap 0.0 eV (DFT).", "non-metal semiconductor, band gap 1.2 eV (DFT)."]
    )
    d = tmp_path_factory.mktemp("describer")
    save_describer(
        d, new_describer(tok.get_vocab_size(), "tiny").eval(), tok, size="tiny", max_target_length=6
    )
    return d


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_line_per_formula_in_order(capsys, describer):
    from chemtl.pipelines.describe import describe

    formulas = ["Fe2O3", "Cu", "NaCl", "Cu"]
    code, out, err = run(capsys, "describe", "--model", describer, *formulas)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    expected = describe(describer, formulas)
    assert lines == [f"{f}\t{t}" for f, t in zip(formulas, expected)]
    assert lines[1] == lines[3]  # the same formula, the same greedy description


def test_json_records(capsys, describer):
    from chemtl.data.descriptions import read_description
    from chemtl.pipelines.describe import describe

    code, out, err = run(capsys, "describe", "--model", describer, "--json", "--beams", "2", "GaAs", "MgO")
    assert (code, err) == (0, "")
    texts = describe(describer, ["GaAs", "MgO"], beams=2)
    assert json.loads(out) == [
        {"formula": f, "description": t, **read_description(t)} for f, t in zip(["GaAs", "MgO"], texts)
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Fe2O3", "Xx2"], "error: argument 2: invalid formula 'Xx2': unknown element 'Xx'\n"),
        (
            ["H100Cl"],
            "error: argument 1: formula 'H100Cl' (reduced 'H100Cl') cannot be written with whole amounts "
            "up to 99; the describer reads such formulas only\n",
        ),
        (["--beams", "0", "Cu"], "error: --beams must be >= 1, got 0\n"),
        ([], "error: give at least one FORMULA to describe\n"),
    ],
)
def test_bad_input_is_one_line(capsys, describer, argv, message):
    code, out, err = run(capsys, "describe", "--model", describer, *argv)
    assert (code, out, err) == (2, "", message)


def test_an_encoder_is_not_a_describer(capsys):
    from chemtl.shipped import resolve_model_dir

    code, out, err = run(capsys, "describe", "--model", "composition-small", "Fe2O3")
    assert (code, out) == (2, "")
    assert err == (
        f"error: model directory {str(resolve_model_dir('composition-small'))!r} holds a 'chemtl' model "
        "(a chemtl encoder), not a describer (a T5 trained by `chemtl describe --train`)\n"
    )


def test_a_describer_is_not_an_encoder(capsys, describer, tmp_path):
    code, out, err = run(
        capsys, "embed", "--model", describer, "--data", "matbench_expt_gap", "--out", tmp_path / "e.npy"
    )
    assert (code, out) == (2, "")
    assert err == (
        f"error: model directory {str(describer)!r} holds a 't5' model (a describer: a T5 for "
        "`chemtl describe`), not a chemtl encoder\n"
    )


def test_usage_errors(capsys, describer):
    assert run(capsys, "describe", "Cu")[::2] == (
        2,
        "error: name a describer with --model NAME|DIR (or train one with --train --out DIR)\n",
    )
    assert run(capsys, "describe", "--train")[::2] == (
        2,
        "error: --train needs --out DIR (the describer directory to write)\n",
    )
    assert run(capsys, "describe", "--train", "--out", "x", "Cu")[::2] == (
        2,
        "error: --train takes no FORMULA and no --model (it trains a new describer into --out)\n",
    )


def test_the_shipped_describer_states_a_band_gap_and_metal_or_not(capsys):
    import re

    from chemtl.data.descriptions import read_description

    code, out, err = run(capsys, "describe", "--model", "composition-t5-small", "NaCl", "Cu", "Fe2O3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["NaCl", "Cu", "Fe2O3"]  # in the order given
    for line in lines:
        text = line.split("\t")[1]
        assert re.search(r"band gap \d+\.\d eV", text)
        read = read_description(text)
        assert read["band_gap"] is not None and read["metal"] in (True, False)
    assert read_description(lines[1].split("\t")[1])["metal"] is True  # copper
