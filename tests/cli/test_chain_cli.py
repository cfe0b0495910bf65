"""The shipped example chains build the configs of the commands they stand for.

Stages 1 and 2 of examples/chains/composition-small-mp.toml must build exactly the configs of the
Makefile's PRETRAIN_COMPOSITION_SMALL and PRETRAIN_COMPOSITION_SMALL_MP commands (parsed with the
real CLI parser), so the chain reproduces the shipped models' cards without an hour's run; the
molecule chain's first stage is PRETRAIN_SMILES_SMALL. A stage left at its defaults builds what the
verb builds with its defaults.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from chemtl.cli.finetune import strategy_config_from_args, train_config_from_args
from chemtl.cli.main import build_parser, main
from chemtl.cli.pretrain import pretrain_call
from chemtl.pipelines.chain_config import build_call, load_chain_config, parse_chain, plain
from chemtl.training.config import DataConfig

ROOT = Path(__file__).resolve().parents[2]
CHAINS = ROOT / "examples" / "chains"


def makefile_command(var: str) -> list[str]:
    """The argv (without `chemtl`) of the Makefile variable ``var := $(BIN)/chemtl ...``."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = re.search(rf"^{var} := \$\(BIN\)/chemtl (.*)$", text, flags=re.M).group(1)
    return shlex.split(line)


def cli_call(argv: list[str]) -> dict:
    return plain(pretrain_call(build_parser().parse_args(argv)))


def chain_call(stage) -> dict:
    return plain(build_call(stage, Path("stages")))


def without_init(call: dict) -> tuple[dict, str | None]:
    call = dict(call)
    return call, call.pop("init_from")


def test_the_composition_small_mp_chain_builds_the_makefile_configs():
    mlm, mp, gap = load_chain_config(CHAINS / "composition-small-mp.toml").stages
    assert chain_call(mlm) == cli_call(makefile_command("PRETRAIN_COMPOSITION_SMALL"))

    chain, chain_init = without_init(chain_call(mp))
    make, make_init = without_init(cli_call(makefile_command("PRETRAIN_COMPOSITION_SMALL_MP")))
    assert chain == make
    # the Makefile starts from the packaged stage 1 (composition-small), the chain from stage 1 itself
    assert (make_init, chain_init, mp.init) == ("composition-small", "stage:mlm", "stage:mlm")
    assert chain["run"] == "supervised_pretrain" and chain["exclude"] == ["matbench_expt_gap"]

    # stage 3: `chemtl benchmark matbench_expt_gap`'s fine-tuning on fold 0, as `chemtl finetune` flags
    call = build_call(gap, Path("stages"), "stages/02-mp")
    args = build_parser().parse_args(
        "finetune --model stages/02-mp --data matbench_expt_gap --target target --split matbench --fold 0 "
        "--strategy full --lr 1e-4 --head-lr 1e-3 --batch-size 32 --epochs 15 --patience 4 --seed 0 "
        "--no-progress --out o".split()
    )
    assert call["train"] == train_config_from_args(args)
    assert call["strategy"] == strategy_config_from_args(args)
    assert call["data"] == DataConfig(
        dataset="matbench_expt_gap", target_col="target", split="matbench", fold=0
    )
    assert call["model_dir"] == "stages/02-mp"


def test_the_molecule_chain_starts_with_the_smiles_small_pretraining():
    mlm, esol, lipo = load_chain_config(CHAINS / "molecules.toml").stages
    assert chain_call(mlm) == cli_call(makefile_command("PRETRAIN_SMILES_SMALL"))
    assert (esol.init, lipo.init) == ("stage:mlm", "stage:esol")
    assert (esol.settings["data"], lipo.settings["data"]) == ("esol", "lipophilicity")


@pytest.mark.parametrize(
    ("stage", "argv"),
    [
        ({"kind": "pretrain", "data": "moses"}, "pretrain --data moses --out o"),
        (
            {"kind": "supervised", "data": "matbench_mp_gap", "init": "composition-small"},
            "pretrain --supervised matbench_mp_gap --init composition-small --out o",
        ),
    ],
)
def test_a_stage_at_its_defaults_builds_what_the_verb_builds(stage, argv):
    (parsed,) = parse_chain({"stage": [{"name": "s", **stage}]}).stages
    assert chain_call(parsed) == cli_call(argv.split())


def test_a_finetune_stage_at_its_defaults_trains_as_chemtl_finetune():
    (parsed,) = parse_chain(
        {"stage": [{"name": "s", "kind": "finetune", "init": "m", "data": "esol"}]}
    ).stages
    call = build_call(parsed, Path("stages"))
    args = build_parser().parse_args("finetune --model m --data esol --out o".split())
    assert call["train"] == train_config_from_args(args)
    assert call["strategy"] == strategy_config_from_args(args)
    assert call["data"] == DataConfig(dataset="esol", max_length=args.max_length, val_frac=args.val_frac)


def test_check_lists_the_stages_and_a_bad_config_exits_2(tmp_path, capsys):
    assert (
        main(["chain", "--config", str(CHAINS / "molecules.toml"), "--out", str(tmp_path / "c"), "--check"])
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        "stage 1 'mlm': pretrain",
        "stage 2 'esol': finetune from stage:mlm",
        "stage 3 'lipophilicity': finetune from stage:esol",
        f"{CHAINS / 'molecules.toml'}: 3 stage(s), config OK",
    ]
    assert not (tmp_path / "c").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[stage]]\nname = "ft"\nkind = "finetune"\ninit = "stage:mlm"\ndata = "esol"\n')
    assert main(["chain", "--config", str(bad), "--out", str(tmp_path / "c")]) == 2
    assert (
        capsys.readouterr().err
        == "error: stage 'ft': init 'stage:mlm' names no earlier stage (earlier stages: none)\n"
    )
    assert not (tmp_path / "c").exists()
