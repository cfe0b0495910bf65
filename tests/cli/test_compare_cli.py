"""`chemtl compare`: flags -> CompareConfig, one-line errors, and one quick run end to end."""

from __future__ import annotations

import argparse

import pytest

from chemtl.cli import compare as compare_cli
from chemtl.cli import main as cli_main


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chemtl")
    compare_cli.register(parser.add_subparsers())
    return parser.parse_args(["compare", *argv])


@pytest.fixture
def chemtl(capsys):
    """`chemtl ARGS` in this process -> (status, out, err)."""

    def run(*argv) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_flags_build_the_config():
    cfg = compare_cli.config_from_args(
        parse("--model", "m", "--data", "matbench_expt_gap", "--target", "target", "--out", "o")
    )
    assert (cfg.data.split, cfg.data.fold, cfg.folds) == ("matbench", 0, None)
    assert cfg.strategies == ("full", "feature", "partial", "prompt", "lora", "scratch")
    assert cfg.train_sizes == ("all",) and cfg.seeds == (0,)
    assert (cfg.train.max_epochs, cfg.train.patience, cfg.train.progress_bar) == (20, 5, False)

    cfg = compare_cli.config_from_args(
        parse(
            "--model", "m", "--data", "my.csv", "--target", "gap", "--out", "o",
            "--strategies", "full,lora", "--train-sizes", "all,100,50", "--seeds", "3",
            "--size-cap", "80", "--epochs", "4", "--patience", "0", "--split-param", "frac=0.6,0.2,0.2",
        )
    )  # fmt: skip
    assert cfg.data.split == "grouped" and cfg.data.split_params == {"frac": [0.6, 0.2, 0.2]}
    assert cfg.strategies == ("full", "lora") and cfg.train_sizes == (50, 100, "all")
    assert cfg.seeds == (0, 1, 2) and cfg.size_cap == 80
    assert cfg.train.max_epochs == 4 and cfg.train.patience is None

    cfg = compare_cli.config_from_args(
        parse("--model", "m", "--data", "matbench_expt_gap", "--out", "o", "--fold", "0,1,2", "--seeds", "7,")
    )
    assert cfg.folds == (0, 1, 2) and cfg.data.fold is None and cfg.seeds == (7,)


def test_bad_flags_are_one_line_errors(chemtl, tmp_path):
    code, out, err = chemtl(
        "compare", "--model", tmp_path, "--data", "matbench_expt_gap", "--out", tmp_path / "o",
        "--train-sizes", "10,ten",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err == "error: train size 'ten' must be an integer >= 2 or 'all'\n"
    code, _, err = chemtl(
        "compare", "--model", tmp_path, "--data", "x.csv", "--out", "o", "--strategies", "full,nope"
    )
    assert code == 2 and err.startswith("error: unknown strategy 'nope'; choose from full, ")
    code, _, err = chemtl("compare", "--model", "no-such-model", "--data", "x.csv", "--out", tmp_path / "o")
    assert code == 2 and err.startswith("error: model ") and "'no-such-model'" in err
    assert len(err.splitlines()) == 1


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    assert "examples:\n  chemtl compare --model" in capsys.readouterr().out


def test_quick_compare_prints_table_and_report(chemtl, tmp_path):
    import torch

    from chemtl.data import load_dataset
    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    torch.manual_seed(0)
    model_dir = tmp_path / "tiny"
    net = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        model_dir, net.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition")
    )
    ds = load_dataset("matbench_expt_gap")
    data = tmp_path / "gap.csv"
    data.write_text(
        "formula,gap\n" + "".join(f"{f},{t!r}\n" for f, t in zip(ds.inputs[:40], ds.targets[:40].tolist()))
    )
    out = tmp_path / "cmp"
    code, stdout, err = chemtl(
        "compare", "--model", model_dir, "--data", data, "--target", "gap", "--out", out,
        "--strategies", "feature", "--epochs", "1", "--batch-size", "16",
        "--split-param", "frac=0.6,0.2,0.2",
    )  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].split()[:5] == ["strategy", "n_train", "runs", "test", "MAE"]
    assert lines[1].split()[:3] == ["feature", "24", "1"]
    assert lines[3].startswith("With 24 training rows, feature gives the lowest test MAE")
    assert lines[-1] == f"report: {out / 'report.html'}"
    assert "[1/1] feature n=24 seed 0: test MAE" in err
    assert (out / "summary.csv").is_file() and (out / "report.html").is_file()
