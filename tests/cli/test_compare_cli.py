"""`chemtl compare`: flags -> CompareConfig, one-line errors, and one quick run end to end."""

from __future__ import annotations

import argparse
import json
import re
import shlex

import pytest

from chemtl.cli import compare as compare_cli
from chemtl.errors import ChemtlError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chemtl")
    compare_cli.register(parser.add_subparsers())
    return parser.parse_args(["compare", *argv])


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
    assert cfg.seeds == (3,) and cfg.size_cap == 80  # --seeds is a list: "3" is the seed 3
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


def base(*extra: str) -> argparse.Namespace:
    return parse("--model", "m", "--data", "matbench_expt_gap", "--out", "o", *extra)


def test_seeds_have_one_meaning():
    assert compare_cli.config_from_args(base()).seeds == (0,)
    assert compare_cli.config_from_args(base("--seeds", "0,1,2")).seeds == (0, 1, 2)
    assert compare_cli.config_from_args(base("--seeds", "3")).seeds == (3,)
    assert compare_cli.config_from_args(base("--n-seeds", "3")).seeds == (0, 1, 2)
    assert compare_cli.config_from_args(base("--seed", "5")).seeds == (5,)
    with pytest.raises(ChemtlError, match=r"^--seeds '1,x': write integers >= 0 separated by commas"):
        compare_cli.config_from_args(base("--seeds", "1,x"))
    with pytest.raises(ChemtlError, match=r"^--n-seeds 0: give a count >= 1$"):
        compare_cli.config_from_args(base("--n-seeds", "0"))


def test_seeds_and_n_seeds_exclude_each_other(chemtl, capsys):
    with pytest.raises(SystemExit) as exit_info:
        base("--seeds", "0,1", "--n-seeds", "2")
    assert exit_info.value.code == 2
    assert "argument --n-seeds: not allowed with argument --seeds" in capsys.readouterr().err


def test_strategy_and_training_options_reach_every_run():
    cfg = compare_cli.config_from_args(
        base(
            "--strategies", "full,partial,lora,prompt,prefix,scratch", "--lora-r", "4", "--lora-alpha", "8",
            "--lora-dropout", "0", "--lora-targets", "query,key", "--num-virtual-tokens", "5",
            "--prompt-init", "vocab", "--prefix-projection", "--prefix-hidden-size", "32",
            "--trainable-layers", "1", "--init-seed", "9", "--lr-decay", "0.8", "--devices", "2",
            "--progress", "--element-init", "mat2vec", "--head", "elementwise",
        )
    )  # fmt: skip
    assert (cfg.train.lr_decay, cfg.train.devices, cfg.train.progress_bar) == (0.8, 2, True)
    lora = cfg.strategy_config("lora", 4)
    assert (lora.lora_r, lora.lora_alpha, lora.lora_dropout, lora.lora_target_modules) == (
        4, 8, 0.0, ("query", "key"),
    )  # fmt: skip
    assert isinstance(lora.lora_alpha, int)
    prompt, prefix = cfg.strategy_config("prompt", 4), cfg.strategy_config("prefix", 4)
    assert (prompt.num_virtual_tokens, prompt.prompt_init) == (5, "vocab")
    assert (prefix.num_virtual_tokens, prefix.prefix_projection, prefix.prefix_hidden_size) == (5, True, 32)
    assert cfg.strategy_config("partial", 4).trainable_layers == 1
    assert cfg.strategy_config("scratch", 4).init_seed == 9
    assert cfg.strategy_config("scratch", 4).element_init == "mat2vec"
    assert cfg.strategy_config("full", 4).element_init is None
    assert cfg.train.head == "elementwise" and cfg.to_dict()["element_init"] == "mat2vec"
    assert "element_init" not in compare_cli.config_from_args(base()).to_dict()
    assert compare_cli.config_from_args(base("--no-progress")).train.progress_bar is False
    assert compare_cli.config_from_args(base("--features", "morgan")).train.features == "morgan"
    assert compare_cli.config_from_args(base()).train.features == "none"


def test_defaults_say_why_they_differ_from_finetune(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    raw = capsys.readouterr().out
    text = " ".join(raw.split())
    unwrapped = " ".join(re.sub(r"-\n\s+", "-", raw).split())  # argparse wraps at hyphens
    assert "most epochs (default 20; finetune's is 50" in text
    assert "(0: off; default 5, finetune's is 10, for the same reason)" in text
    assert (
        "--model NAME|DIR the pretrained model every strategy starts from: a shipped model name "
        "(composition-small, composition-small-mp, smiles-small) or a model directory" in unwrapped
    )


def help_commands(epilog: str) -> list[list[str]]:
    """The example commands of a verb's help, continuation lines joined, comments dropped."""
    text = epilog.split("examples:", 1)[1].replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.strip()]


def test_help_examples_run_as_written_on_a_fresh_install():
    from chemtl.data.registry import is_registered
    from chemtl.pretrained import shipped_models

    parser = argparse.ArgumentParser(prog="chemtl")
    sub = parser.add_subparsers()
    compare_cli.register(sub)
    commands = help_commands(sub.choices["compare"].epilog)
    assert [c[:2] for c in commands] == [["chemtl", "compare"], ["chemtl", "datasets"]] + [
        ["chemtl", "compare"]
    ] * 3
    created: set[str] = set()
    for argv in commands:
        if argv[1] == "datasets":  # creates the csv a later example reads
            assert argv[2:4] == ["export", "matbench_expt_gap"] and is_registered(argv[3])
            created.add(argv[argv.index("--out") + 1])
            continue
        args = parser.parse_args(argv[1:])
        assert args.model in shipped_models()
        assert is_registered(args.data) or args.data in created, args.data
        compare_cli.config_from_args(args)  # every flag turns into a valid config


def test_lr_decay_and_lora_alpha_reach_the_runs(chemtl, tmp_path):
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
        "formula,gap\n" + "".join(f"{f},{t!r}\n" for f, t in zip(ds.inputs[:30], ds.targets[:30].tolist()))
    )
    out = tmp_path / "cmp"
    code, _, err = chemtl(
        "compare", "--model", model_dir, "--data", data, "--target", "gap", "--out", out,
        "--strategies", "lora", "--epochs", "1", "--batch-size", "16", "--split-param", "frac=0.6,0.2,0.2",
        "--lora-alpha", "8", "--lora-r", "2", "--lr-decay", "0.8", "--seed", "4",
    )  # fmt: skip
    assert code == 0, err
    record = json.loads((out / "runs" / "lora" / "n18" / "seed4" / "train_config.json").read_text())
    assert (record["strategy"]["lora_alpha"], record["strategy"]["lora_r"]) == (8, 2)
    assert (record["train"]["lr_decay"], record["train"]["seed"]) == (0.8, 4)
