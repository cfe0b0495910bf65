"""One flag, one meaning: the aliases of every verb parse to the same destination and value."""

from __future__ import annotations

import pytest

from chemtl.cli.main import build_parser

# the required flags of each verb, so that the flag under test parses on its own
BASE = {
    "datasets show": ["datasets", "show"],
    "datasets export": ["datasets", "export", "--out", "x.csv"],
    "split": ["split", "--data", "esol", "--method", "random"],
    "finetune": ["finetune", "--model", "composition-small", "--data", "d.csv", "--out", "o"],
    "predict": ["predict", "--model", "runs/x", "--data", "d.csv", "--out", "p.csv"],
    "embed": ["embed", "--model", "composition-small", "--data", "d.csv", "--out", "e.npy"],
    "pretrain": ["pretrain", "--out", "o"],
    "vocab build": ["vocab", "build", "--data", "d.csv", "--out", "tok"],
}


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "verb", ["datasets show", "datasets export", "split", "finetune", "predict", "embed"]
)
def test_target_col_is_an_alias_of_target(verb):
    new = parse(*BASE[verb], "--target", "gap")
    old = parse(*BASE[verb], "--target-col", "gap")
    assert new.target == old.target == "gap"
    assert not hasattr(new, "target_col")


def test_pretrain_corpus_is_an_alias_of_data():
    new = parse(*BASE["pretrain"], "--data", "moses")
    old = parse(*BASE["pretrain"], "--corpus", "moses")
    assert new.data == old.data == "moses"
    assert not hasattr(new, "corpus")


@pytest.mark.parametrize("verb", ["datasets show", "split", "finetune", "predict", "embed", "vocab build"])
def test_data_is_the_flag_that_reads_data(verb):
    argv = [a for a in BASE[verb]]
    if "--data" in argv:
        i = argv.index("--data")
        del argv[i : i + 2]
    assert parse(*argv, "--data", "esol").data == "esol"


@pytest.mark.parametrize("verb", ["pretrain", "finetune"])
def test_progress_on_by_default_and_off_with_no_progress(verb):
    assert parse(*BASE[verb]).progress is True
    assert parse(*BASE[verb], "--progress").progress is True
    assert parse(*BASE[verb], "--no-progress").progress is False


@pytest.mark.parametrize("verb", ["finetune", "split"])
def test_fold_is_a_fold_number(verb):
    assert parse(*BASE[verb], "--fold", "3").fold == 3
    assert parse(*BASE[verb]).fold is None


@pytest.mark.parametrize("verb", ["predict", "embed"])
def test_predict_and_embed_take_the_data_flags(verb):
    args = parse(
        *BASE[verb], "--kind", "smiles", "--skip-invalid", "--skipped-out", "bad.csv", "--max-length", "64"
    )
    assert (args.kind, args.skip_invalid, args.skipped_out, args.max_length) == (
        "smiles",
        True,
        "bad.csv",
        64,
    )
    plain = parse(*BASE[verb])
    assert (plain.kind, plain.skip_invalid, plain.skipped_out, plain.max_length) == (None, False, None, None)


def test_predict_models_repeat_for_an_ensemble():
    args = parse("predict", "--model", "a", "--model", "b", "--data", "d.csv", "--out", "p.csv")
    assert args.model == ["a", "b"] and args.mc_dropout == 0


@pytest.mark.parametrize("verb", ["finetune", "embed"])
def test_model_help_lists_the_shipped_names(verb, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([verb, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--model NAME|DIR" in out
    assert (
        "a shipped model name (composition-small, composition-small-mp, smiles-small) or a model directory"
        in out
    )


def test_predict_model_help_says_the_shipped_models_need_fine_tuning(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "--model DIR a fine-tuned model directory (the --out of `chemtl finetune`; the shipped models, "
        in out
    )
    assert (
        "composition-small, composition-small-mp, smiles-small, are pretrained encoders to fine-tune first)"
        in out
    )
