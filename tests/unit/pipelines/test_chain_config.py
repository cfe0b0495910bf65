"""Chain configs: parsed and checked before anything runs; one-line errors naming stage and value."""

from __future__ import annotations

import pytest

from chemtl.pipelines.chain_config import (
    FINETUNE_TRAIN,
    ChainError,
    build_call,
    load_chain_config,
    parse_chain,
    plain,
)

PRETRAIN = '[[stage]]\nname = "mlm"\nkind = "pretrain"\ndata = "inorganic_corpus"\n'
FINETUNE = '[[stage]]\nname = "ft"\nkind = "finetune"\ninit = "stage:mlm"\ndata = "matbench_expt_gap"\n'


def load(tmp_path, text: str):
    path = tmp_path / "chain.toml"
    path.write_text(text)
    return load_chain_config(path)


def error(tmp_path, text: str) -> str:
    with pytest.raises(ChainError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_a_valid_chain_fills_in_each_verbs_defaults(tmp_path):
    config = load(tmp_path, PRETRAIN + FINETUNE + 'target = "target"\nmax_length = 64\n')
    mlm, ft = config.stages
    assert (mlm.index, mlm.name, mlm.kind, mlm.init, mlm.dir_name) == (1, "mlm", "pretrain", None, "01-mlm")
    assert (ft.dir_name, ft.init, ft.init_stage) == ("02-ft", "stage:mlm", "mlm")
    # chemtl pretrain's training defaults, chemtl finetune's
    assert {k: mlm.settings[k] for k in ("lr", "batch-size", "epochs", "scheduler", "warmup-steps")} == {
        "lr": 5e-4,
        "batch-size": 64,
        "epochs": 1,
        "scheduler": "linear",
        "warmup-steps": 100,
    }
    assert {k: ft.settings[k] for k in FINETUNE_TRAIN} == FINETUNE_TRAIN
    assert ft.settings["max-length"] == 64  # max_length is max-length
    call = build_call(ft, tmp_path, "runs/x")
    assert call["run"] == "finetune" and call["model_dir"] == "runs/x"
    assert plain(call["data"])["split"] == "matbench"  # the default split of a matbench dataset
    assert plain(call["strategy"])["name"] == "full"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            PRETRAIN.replace('"pretrain"', '"pretrian"'),
            "stage 'mlm': kind 'pretrian' is not one of pretrain, supervised, finetune, adapt",
        ),
        (
            PRETRAIN + "lrr = 0.1\n",
            "stage 'mlm': unknown key 'lrr' for a pretrain stage (did you mean 'lr'?)",
        ),
        (
            PRETRAIN + "devices = 2\n",
            "stage 'mlm': unknown key 'devices' for a pretrain stage (a chain runs each stage in one "
            "process; run a DDP stage with its verb)",
        ),
        (PRETRAIN + 'batch-size = "big"\n', "stage 'mlm': batch-size must be an integer, got 'big'"),
        (PRETRAIN + "lr = -1\n", "stage 'mlm': lr must be a finite number > 0, got -1.0"),
        (PRETRAIN + 'mask = "span"\n', None),  # valid TOML and keys; the kind check is the verb's
        (PRETRAIN + PRETRAIN, "stage 'mlm': name 'mlm' is used by an earlier stage"),
        (
            '[[stage]]\nname = "a b"\nkind = "pretrain"\n',
            "stage 'a b': name must be letters, digits, '_', '.' or '-', got 'a b'",
        ),
        ('[[stage]]\nname = "mlm"\nkind = "pretrain"\n', "stage 'mlm': a pretrain stage needs 'data'"),
        (
            FINETUNE.replace('"stage:mlm"', '"stage:later"') + PRETRAIN.replace('"mlm"', '"later"'),
            "stage 'ft': init 'stage:later' names no earlier stage (earlier stages: none)",
        ),
        (
            PRETRAIN + FINETUNE.replace('"stage:mlm"', '"stage:ft"'),
            "stage 'ft': init 'stage:ft' names no earlier stage (earlier stages: mlm)",
        ),
        (
            PRETRAIN + FINETUNE.replace('init = "stage:mlm"\n', ""),
            "stage 'ft': a finetune stage needs init (a model, a directory or stage:NAME)",
        ),
        (
            PRETRAIN + FINETUNE.replace("matbench_expt_gap", "esoll"),
            "stage 'ft': data: unknown dataset 'esoll'; did you mean 'esol', 'freesolv'? (`chemtl datasets list` shows "
            "all; a file needs its path)",
        ),
        (
            PRETRAIN.replace("inorganic_corpus", "no/such.csv"),
            "stage 'mlm': data: unknown dataset 'no/such.csv' (`chemtl datasets list` shows all; a file needs its path)",
        ),
        (
            PRETRAIN + FINETUNE.replace('"stage:mlm"', '"composition-huge"'),
            "stage 'ft': init 'composition-huge' is neither a shipped model (composition-small, "
            "composition-small-mp, smiles-small), a directory, nor stage:NAME of an earlier stage",
        ),
        (
            '[[stage]]\nname = "mp"\nkind = "supervised"\ndata = ["matbench_mp_gap:target", "mp_e_form"]\n',
            "stage 'mp': data: unknown dataset 'mp_e_form'; did you mean 'matbench_mp_e_form'? "
            "(`chemtl datasets list` shows all; a file needs its path)",
        ),
        (
            PRETRAIN + FINETUNE + 'strategy = "partial"\n',
            "stage 'ft': strategy 'partial' needs trainable_layers (--trainable-layers K)",
        ),
        ("stages = 1\n", "<p>: unknown top-level key 'stages' (a chain is [[stage]] tables)"),
        ('description = "x"\n', "<p>: no [[stage]] tables; a chain lists its stages as [[stage]]"),
        ("[[stage]\n", "<p> is not valid TOML"),
    ],
)
def test_bad_configs_are_refused_in_one_line_naming_the_value(tmp_path, text, message):
    if message is None:
        assert load(tmp_path, text).stages[0].settings["mask"] == "span"
        return
    got = error(tmp_path, text)
    expected = message.replace("<p>", str(tmp_path / "chain.toml"))
    if expected.endswith("is not valid TOML"):
        expected = f"chain config {str(tmp_path / 'chain.toml')!r} is not valid TOML"
        assert got.startswith(expected) and "\n" not in got
    else:
        assert got == expected


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ChainError, match=r"^chain config '.*nope\.toml' does not exist$"):
        load_chain_config(tmp_path / "nope.toml")


def test_comma_lists_and_arrays_and_tables_mean_the_same():
    a = parse_chain(
        {
            "stage": [
                {"name": "m", "kind": "pretrain", "data": "moses", "objective": "mlm,contrastive"},
                {
                    "name": "f",
                    "kind": "finetune",
                    "init": "stage:m",
                    "data": "esol",
                    "split-param": {"frac": [0.8, 0.1, 0.1]},
                },
            ]
        }
    )
    b = parse_chain(
        {
            "stage": [
                {"name": "m", "kind": "pretrain", "corpus": "moses", "objective": ["mlm", "contrastive"]},
                {
                    "name": "f",
                    "kind": "finetune",
                    "model": "stage:m",
                    "data": "esol",
                    "split_param": {"frac": [0.8, 0.1, 0.1]},
                },
            ]
        }
    )
    assert a == b
    assert a.stages[0].settings["objective"] == ["mlm", "contrastive"]
    assert a.stages[1].settings["split-param"] == {"frac": [0.8, 0.1, 0.1]}


def test_an_adapt_stage_builds_the_adapt_config_of_the_command_line(tmp_path):
    text = PRETRAIN + (
        '[[stage]]\nname = "da"\nkind = "adapt"\ninit = "stage:mlm"\nsource = "matbench_mp_gap"\n'
        'target = "matbench_expt_gap"\ntarget-col = "target"\nmethod = "dann"\nseed = 3\n'
    )
    path = tmp_path / "chain.toml"
    path.write_text(text)
    stage = load_chain_config(path).stages[1]
    call = build_call(stage, tmp_path, "runs/mlm")
    assert (call["run"], call["model_dir"]) == ("adapt", "runs/mlm")
    config = plain(call["config"])
    assert (config["source"], config["target"], config["target_col"], config["method"], config["seed"]) == (
        "matbench_mp_gap", "matbench_expt_gap", "target", "dann", 3,
    )  # fmt: skip
    assert call["train"].seed == 3


def test_a_finetune_stage_takes_the_recipe_settings_of_the_command_line(tmp_path):
    text = (
        PRETRAIN
        + FINETUNE
        + (
            'target = "target"\nloss = "l1"\noutput-gate = true\nscheduler = "cyclic"\nswa = true\n'
            'augment = "jitter"\nhead = "elementwise"\noptimizer = "adamw"\nstrategy = "scratch"\nelement-init = "mat2vec"\n'
        )
    )
    mlm, ft = load(tmp_path, text).stages
    call = build_call(ft, tmp_path, "runs/x")
    train = call["train"]
    assert (train.loss, train.output_gate, train.scheduler, train.swa, train.head, train.optimizer) == (
        "l1", True, "cyclic", True, "elementwise", "adamw",
    )  # fmt: skip
    assert (train.cycle_epochs, train.swa_start) == (2, 0.5)
    hybrid = load(tmp_path, PRETRAIN + FINETUNE + 'features = "morgan"\n').stages[1]
    assert build_call(hybrid, tmp_path, "runs/x")["train"].features == "morgan"
    assert hybrid.record()["settings"]["features"] == "morgan"
    assert (call["data"].augment, call["data"].jitter) == ("jitter", 0.02)
    assert call["strategy"].element_init == "mat2vec"
    # a stage's record leaves the later keys out at the value older chains ran with, so their
    # hashes hold; the fused optimizer (today's default) is recorded
    record = load(tmp_path, PRETRAIN).stages[0].record()["settings"]
    assert record["optimizer"] == "adamw-fused"
    assert not {"loss", "output-gate", "head", "swa", "swa-start", "cycle-epochs", "cycle-min-ratio"} & set(
        record
    )
    settings = ft.record()["settings"]
    assert {k: settings[k] for k in ("loss", "head", "augment")} == {
        "loss": "l1", "head": "elementwise", "augment": "jitter",
    }  # fmt: skip
    assert "optimizer" not in settings  # the loop: what older chains ran with
    assert "augment" not in load(tmp_path, PRETRAIN + FINETUNE).stages[1].record()["settings"]
