"""The CLI verbs of the foundation: exact output, one-line errors, exit codes, no partial files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chemtl.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for verb in ("tokenize", "datasets", "split", "vocab", "demo"):
        assert f"    {verb} " in out


@pytest.mark.parametrize("verb", ["tokenize", "datasets", "split", "vocab", "demo"])
def test_each_verb_help_has_examples(capsys, verb):
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    out = capsys.readouterr().out
    assert "examples:\n  chemtl " + verb in out


def test_tokenize_composition_text(capsys):
    code, out, err = run(capsys, "tokenize", "--kind", "composition", "Fe2O3", "(Ba0.5Sr0.5)TiO3")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "Fe2O3\t[CLS] Fe:0.4 O:0.6 [SEP]\t2 30 12 3",
        "(Ba0.5Sr0.5)TiO3\t[CLS] Ba:0.1 Sr:0.1 Ti:0.2 O:0.6 [SEP]\t2 60 42 26 12 3",
    ]


def test_tokenize_composition_json(capsys):
    code, out, _ = run(capsys, "tokenize", "--kind", "composition", "Li3Fe2(PO4)3", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "input": "Li3Fe2(PO4)3",
            "tokens": ["[CLS]", "Li", "Fe", "P", "O", "[SEP]"],
            "ids": [2, 7, 30, 19, 12, 3],
            "fractions": [0.0, 0.15, 0.1, 0.15, 0.6, 0.0],
            "elements": {"Li": 0.15, "Fe": 0.1, "P": 0.15, "O": 0.6},
        }
    ]


def test_tokenize_repeat_mode(capsys):
    code, out, _ = run(capsys, "tokenize", "--kind", "composition", "--mode", "repeat", "Fe2O3", "--json")
    assert code == 0
    assert json.loads(out)[0]["tokens"] == ["[CLS]", "Fe", "Fe", "O", "O", "O", "[SEP]"]


def test_tokenize_smiles_detected_and_unknown_reported(capsys):
    code, out, err = run(capsys, "tokenize", "ClCBr", "C[Xe@@]")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("\t")[1] == "[CLS] Cl C Br [SEP]"
    assert lines[1].split("\t")[1] == "[CLS] C [UNK] [SEP]"
    assert err == "warning: 1 out-of-vocabulary token(s) encoded as [UNK] in 1 string(s): '[Xe@@]' x1\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["tokenize", "--kind", "composition", "Xx2O"],
            "error: argument 1: invalid formula 'Xx2O': unknown element 'Xx'\n",
        ),
        (
            ["tokenize", "--kind", "composition", "Fe2O3", "Xx3"],
            "error: argument 2: invalid formula 'Xx3': unknown element 'Xx'\n",
        ),
        (
            ["tokenize", "--kind", "composition", "H2O0"],
            "error: argument 1: invalid formula 'H2O0': zero amount '0'\n",
        ),
        (
            ["tokenize", "--kind", "smiles", "CCO", "CCCCCCCCC", "--max-length", "5"],
            "error: argument 2 'CCCCCCCCC' has more than 5 tokens with [CLS] and [SEP]; "
            "pass --truncation or a larger --max-length\n",
        ),
        (
            ["datasets", "show", "esol", "--input-col", "nope"],
            "error: dataset 'esol': no column 'nope'; the columns are 'Compound ID', "
            "'ESOL predicted log solubility in mols per litre', 'Minimum Degree', 'Molecular Weight', "
            "'Number of H-Bond Donors', 'Number of Rings', 'Number of Rotatable Bonds', "
            "'Polar Surface Area', 'measured log solubility in mols per litre', 'smiles'\n",
        ),
        (
            ["datasets", "show", "nope"],
            "error: unknown dataset 'nope' (`chemtl datasets list` shows all; a file needs its path)\n",
        ),
        (
            ["split", "--data", "matbench_expt_gap", "--method", "leave_element_out"],
            "error: --method leave_element_out needs --elements\n",
        ),
    ],
)
def test_user_errors_are_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err == message


def test_bad_flag_value_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tokenize", "--kind", "protein", "AAA"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1
    assert "invalid choice: 'protein'" in err


def test_console_script_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("formula,target\nFe2O3,1.0\nXx2O,2.0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "chemtl", "datasets", "show", "--data", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "row 2" in proc.stderr and "'Xx2O'" in proc.stderr


def test_datasets_list_has_the_registry(capsys):
    code, out, _ = run(capsys, "datasets", "list", "--json")
    names = {row["name"] for row in json.loads(out)}
    required = {
        "matbench_expt_gap",
        "matbench_mp_gap",
        "matbench_mp_e_form",
        "matbench_expt_is_metal",
        "matbench_glass",
        "matbench_steels",
        "castelli_perovskites",
        "oqmd_bandgap",
        "inorganic_corpus",
        "esol",
        "freesolv",
        "lipophilicity",
        "moses",
        "solubility_classes",
    }
    assert code == 0
    assert required <= names
    assert sum(name.startswith("moleculeace_CHEMBL") for name in names) == 30


def test_datasets_show_expt_gap(capsys):
    code, out, _ = run(capsys, "datasets", "show", "matbench_expt_gap", "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["rows"] == 4604
    assert summary["sha256"] == "3de82c37f1db3ab9bbd92366c96633f131913ded5db0969eb36216bdd11cef2f"
    assert summary["elements"]["distinct"] == 81


def test_export_then_skip_invalid(capsys, tmp_path):
    data = tmp_path / "mixed.csv"
    data.write_text("formula,gap\nFe2O3,2.1\nXx2O,1.0\nNaN,0.5\n")
    out_csv = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "datasets", "export", "--data", str(data), "--target-col", "gap", "--out", str(out_csv)
    )
    assert code == 2 and not out_csv.exists()
    assert "row 2" in err and "Xx2O" in err
    skipped = tmp_path / "skipped.csv"
    code, out, err = run(
        capsys,
        "datasets",
        "export",
        "--data",
        str(data),
        "--target-col",
        "gap",
        "--skip-invalid",
        "--skipped-out",
        str(skipped),
        "--out",
        str(out_csv),
    )
    assert code == 0
    assert out_csv.read_text().splitlines()[1:] == ["Fe2O3,2.1", "NaN,0.5"]
    assert skipped.exists()
    assert err == f"skipped 1 invalid row(s); listed in {skipped}\n"


def test_split_matbench_fold_sizes(capsys, tmp_path):
    out_json = tmp_path / "folds.json"
    code, out, _ = run(
        capsys, "split", "--data", "matbench_expt_gap", "--method", "matbench", "--out", str(out_json)
    )
    assert code == 0
    payload = json.loads(out_json.read_text())
    assert [s["sizes"]["test"] for s in payload["splits"]] == [921, 921, 921, 921, 920]
    assert out.splitlines()[-1] == f"wrote {out_json}"


def test_split_refuses_leakage_and_writes_nothing(capsys, tmp_path):
    out_json = tmp_path / "split.json"
    code, _, err = run(
        capsys, "split", "--data", "matbench_expt_gap", "--method", "random", "--out", str(out_json)
    )
    assert code == 2
    assert not out_json.exists()
    assert "Cu9S5" in err and "--allow-leakage" in err
    code, _, _ = run(
        capsys,
        "split",
        "--data",
        "matbench_expt_gap",
        "--method",
        "random",
        "--allow-leakage",
        "--out",
        str(out_json),
    )
    assert code == 0 and out_json.exists()


def test_vocab_build_round_trip(capsys, tmp_path):
    corpus = tmp_path / "smiles.csv"
    corpus.write_text("smiles\nCCO\nCCCl\nc1ccccc1Br\n")
    out_dir = tmp_path / "tok"
    code, out, _ = run(capsys, "vocab", "build", "--data", str(corpus), "--out", str(out_dir))
    assert code == 0
    assert out.startswith("smiles vocabulary: 11 tokens (5 special) from 3 strings")
    code, out, _ = run(capsys, "tokenize", "--tokenizer", str(out_dir), "CCCl", "--json")
    assert json.loads(out)[0]["tokens"] == ["[CLS]", "C", "C", "Cl", "[SEP]"]


def test_import_chemtl_is_light():
    code = "import sys, chemtl, chemtl.cli.main; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_demo_compares_strategies_from_the_best_shipped_model_with_the_masked_one_beside():
    from chemtl.cli.demo import compare_argv, demo_runs

    assert compare_argv("runs/x") == [
        "compare",
        "--model",
        "composition-small-mp",
        "--data",
        "matbench_expt_gap",
        "--target",
        "target",
        "--size-cap",
        "500",
        "--out",
        "runs/x",
    ]
    runs = demo_runs("runs/d")
    assert [model for model, _ in runs] == ["composition-small-mp", "composition-small"]
    assert runs[0][1] == compare_argv("runs/d/composition-small-mp")
    assert runs[1][1] == [
        "compare",
        "--model",
        "composition-small",
        "--data",
        "matbench_expt_gap",
        "--target",
        "target",
        "--strategies",
        "full",
        "--size-cap",
        "500",
        "--out",
        "runs/d/composition-small",
    ]


def test_demo_headline_is_computed_from_the_summaries(tmp_path):
    from chemtl.cli.demo import headline, read_summary

    first = tmp_path / "a"
    first.mkdir()
    (first / "summary.csv").write_text(
        "strategy,train_size,mean\nfull,100,0.9\nfull,500,0.5\nscratch,500,0.8\nlora,500,\n"
    )
    second = tmp_path / "b"
    second.mkdir()
    (second / "summary.csv").write_text("strategy,train_size,mean\nfull,500,0.88\n")
    results = {"composition-small-mp": read_summary(first), "composition-small": read_summary(second)}
    assert results["composition-small-mp"] == {"full": 0.5, "scratch": 0.8}
    assert headline(results) == [
        "composition-small-mp, full   0.5000  (37.5% lower than scratch)",
        "composition-small, full      0.8800  (10.0% higher than scratch)",
        "scratch (same architecture)  0.8000",
    ]


def test_training_verbs_default_to_the_published_matbench_split(tmp_path):
    import argparse

    from chemtl.cli._common import default_split, split_params_with_leakage

    assert default_split("matbench_expt_gap") == "matbench"
    assert default_split("esol") == "grouped"
    own = tmp_path / "matbench_mine.csv"
    own.write_text("formula,target\nFe2O3,1\n")
    assert default_split(str(own)) == "grouped"
    assert split_params_with_leakage({"frac": [0.8, 0.1, 0.1]}, argparse.Namespace(allow_leakage=True)) == {
        "frac": [0.8, 0.1, 0.1],
        "allow_leakage": True,
    }
    assert split_params_with_leakage({}, argparse.Namespace(allow_leakage=False)) == {}


def test_split_fold_writes_one_fold(capsys, tmp_path):
    out = tmp_path / "fold1.json"
    code, stdout, _ = run(
        capsys,
        "split",
        "--data",
        "matbench_expt_gap",
        "--method",
        "matbench",
        "--fold",
        "1",
        "--out",
        str(out),
    )
    assert code == 0 and stdout.startswith("matbench fold 1: train/val/test 3683/0/921")
    saved = json.loads(out.read_text())
    assert saved["kfold"] is False and [s["fold"] for s in saved["splits"]] == [1]
    code, _, err = run(capsys, "split", "--data", "matbench_expt_gap", "--method", "matbench", "--fold", "5")
    assert code == 2 and err == "error: fold 5 does not exist: split 'matbench' has folds 0 to 4\n"
    code, _, err = run(capsys, "split", "--data", "esol", "--method", "scaffold", "--fold", "1")
    assert code == 2 and err == "error: --fold 1 needs a k-fold split (matbench, kfold), not 'scaffold'\n"
