"""`chemtl finetune` flags of the training recipe: --augment, --jitter, --batch-size auto."""

from __future__ import annotations

import pytest

from chemtl.cli.main import build_parser, main

BASE = ["finetune", "--model", "composition-small", "--data", "matbench_expt_gap", "--out", "o"]


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_defaults_are_unchanged():
    args = parse(*BASE)
    assert (args.batch_size, args.augment, args.jitter) == (32, "none", 0.02)


def test_batch_size_takes_a_number_or_auto():
    assert parse(*BASE, "--batch-size", "auto").batch_size == "auto"
    assert parse(*BASE, "--batch-size", "64").batch_size == 64
    compare = ["compare", "--model", "composition-small", "--data", "matbench_expt_gap", "--out", "o"]
    assert parse(*compare, "--batch-size", "auto").batch_size == "auto"


def test_augment_flags_parse():
    args = parse(*BASE, "--augment", "auto", "--jitter", "0.05")
    assert (args.augment, args.jitter) == ("auto", 0.05)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--batch-size", "0"],
            "error: chemtl finetune: argument --batch-size: '0' is not an integer >= 1 or 'auto' "
            "(see chemtl finetune --help)\n",
        ),
        (
            ["--batch-size", "half"],
            "error: chemtl finetune: argument --batch-size: 'half' is not an integer >= 1 or 'auto' "
            "(see chemtl finetune --help)\n",
        ),
    ],
)
def test_bad_batch_size_is_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*BASE, *argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message


def test_pretrain_batch_size_stays_a_number(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--out", "o", "--batch-size", "auto"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and "invalid int value: 'auto'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--augment", "random-smiles", "--kind", "composition"],
            "error: augment 'random-smiles' applies to smiles and selfies inputs, not composition\n",
        ),
        (
            ["--augment", "jitter", "--jitter", "1.5"],
            "error: jitter must be a number in (0, 1), got 1.5\n",
        ),
        (["--jitter", "0.05"], "error: jitter 0.05 needs augment 'jitter' or 'auto', not 'none'\n"),
    ],
)
def test_bad_augment_values_are_one_line_errors(capsys, argv, message):
    code = main([*BASE, *argv])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", message)


def test_recipe_sets_defaults_and_given_flags_win():
    from chemtl.cli.finetune import train_config_from_args
    from chemtl.cli.main import parse_args

    base = ["finetune", "--model", "m", "--data", "d.csv", "--out", "o"]
    plain = parse_args(build_parser(), base)
    assert (plain.loss, plain.scheduler, plain.swa, plain.augment, plain.epochs) == (
        "mse",
        "constant",
        False,
        "none",
        50,
    )
    args = parse_args(build_parser(), [*base, "--recipe", "converge"])
    cfg = train_config_from_args(args)
    assert (cfg.loss, cfg.output_gate, cfg.scheduler, cfg.lr, cfg.head_lr, cfg.swa) == (
        "l1",
        True,
        "cyclic",
        5e-4,
        5e-3,
        True,
    )
    assert (cfg.max_epochs, cfg.patience, args.augment) == (20, None, "auto")
    # molecule: the choice of `chemtl benchmark molecule_recipe` (one-cycle, L1, no augmentation)
    args = parse_args(build_parser(), [*base, "--recipe", "molecule"])
    mol = train_config_from_args(args)
    assert (mol.loss, mol.output_gate, mol.scheduler, mol.lr, mol.head_lr, mol.swa) == (
        "l1",
        False,
        "onecycle",
        5e-4,
        5e-3,
        False,
    )
    assert (mol.max_epochs, mol.patience, args.augment) == (20, None, "none")
    # molecule-long: the same over 30 epochs
    args = parse_args(build_parser(), [*base, "--recipe", "molecule-long"])
    long = train_config_from_args(args)
    assert (long.loss, long.scheduler, long.lr, long.head_lr, long.max_epochs, long.patience) == (
        "l1",
        "onecycle",
        5e-4,
        5e-3,
        30,
        None,
    )
    assert args.augment == "none"
    # a flag given on the command line wins over the recipe, before or after it
    args = parse_args(build_parser(), [*base, "--epochs", "50", "--recipe", "converge", "--loss", "mse"])
    assert (args.epochs, args.loss, args.scheduler) == (50, "mse", "cyclic")
    # compare takes the same recipe, loss and gate included
    cmp = parse_args(
        build_parser(), ["compare", "--model", "m", "--data", "d.csv", "--out", "o", "--recipe", "converge"]
    )
    assert (cmp.loss, cmp.output_gate, cmp.swa, cmp.epochs, cmp.augment) == ("l1", True, True, 20, "auto")
    # the optimizer: fused by default, the loop on request (to resume a run from before it)
    assert (cfg.optimizer, cfg.head) == ("adamw-fused", "pooled")
    loop = train_config_from_args(
        parse_args(build_parser(), [*base, "--optimizer", "adamw", "--head", "elementwise"])
    )
    assert (loop.optimizer, loop.head) == ("adamw", "elementwise")
    # --features: none by default, morgan or rdkit on request, anything else a usage error
    assert (
        cfg.features,
        train_config_from_args(parse_args(build_parser(), [*base, "--features", "rdkit"])).features,
    ) == (
        "none",
        "rdkit",
    )


def test_unknown_recipe_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["finetune", "--model", "m", "--data", "d.csv", "--out", "o", "--recipe", "fast"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--recipe" in err and "'fast'" in err and len(err.splitlines()) == 1


def test_unknown_features_value_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["finetune", "--model", "m", "--data", "d.csv", "--out", "o", "--features", "ecfp"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    # argparse's own words (their quoting of the choices differs between Python versions)
    assert err.startswith("error: chemtl finetune: argument --features: invalid choice: 'ecfp' (choose from ")
    assert len(err.splitlines()) == 1
