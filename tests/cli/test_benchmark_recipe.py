"""`chemtl benchmark recipe`: the validation-only choice rule, and a --quick run end to end."""

from __future__ import annotations

import json

import pytest
import torch

from chemtl.cli import main as cli_main
from chemtl.cli.benchmark import benchmarks_dir, load_benchmark
from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
from chemtl.pipelines.modeldir import make_meta, save_model_dir
from chemtl.tokenizers import get_tokenizer


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("recipe", benchmarks_dir())


def test_choice_rule_uses_validation_numbers_per_slot(bench):
    val = {
        "l1": 0.40,
        "robust-l1": 0.38,
        "gate": 0.47,
        "onecycle-20": 0.41,
        "cyclic-swa-20": 0.44,
        "jitter": 0.45,
    }
    # baseline 0.45: per slot the lowest below it; the gate (0.47) and jitter (a tie, not below) are left out
    assert bench.choose_recipe(0.45, val) == {"loss": "robust-l1", "schedule": "onecycle-20"}
    assert bench.choose_recipe(0.30, val) == {}
    # ties within a slot: the first in INGREDIENTS order
    assert bench.choose_recipe(0.5, {"l1": 0.4, "robust-l1": 0.4}) == {"loss": "l1"}
    over = bench.combined_overrides(["robust-l1", "onecycle-20"])
    assert over == {"loss": "robust-l1", "max_epochs": 20, "patience": None, "scheduler": "onecycle",
                    "lr": 5e-4, "head_lr": 5e-3}  # fmt: skip


def test_quick_recipe_benchmark(capsys, tmp_path):
    base = tmp_path / "tiny"
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        base, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    argv = ["benchmark", "recipe", "--quick", "--model", str(base), "--results-dir", str(results),
            "--docs", str(docs), "--work-dir", str(work)]  # fmt: skip
    code = cli_main.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    path = results / "recipe.quick.json"
    assert out.splitlines() == [f"result: {path}", f"docs: {docs}"]
    r = json.loads(path.read_text())
    data = r["data"]
    names = list(load_benchmark("recipe", benchmarks_dir()).INGREDIENTS)
    encoder = list(load_benchmark("recipe", benchmarks_dir()).ENCODER_OPTIONS)
    assert encoder == [
        "recipe + elementwise head", "recipe (scratch) + elementwise head", "recipe + elementwise head, head lr 5e-4",
        "recipe (scratch) + elementwise head, head lr 5e-4", "recipe (scratch) + mat2vec",
    ]  # fmt: skip
    rows = [
        "baseline",
        *[f"+ {n}" for n in names],
        "recipe",
        "baseline (scratch)",
        "recipe (scratch)",
        *encoder,
    ]
    assert list(data["runs"]) == rows
    runs = data["runs"]
    assert all(runs[k]["n_train"] + runs[k]["n_val"] == 200 and runs[k]["n_test"] == 921 for k in rows)
    assert [runs[k]["scratch"] for k in rows] == [False] * (len(rows) - 7) + [
        True,
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    assert runs["recipe + elementwise head, head lr 5e-4"]["train_config"]["head_lr"] == 5e-4
    assert all(runs[k]["train_config"]["optimizer"] == "adamw" for k in rows)  # pinned: the published runs
    # the encoder options sit on the recipe: the head is a training setting, mat2vec a scratch option
    assert runs["recipe + elementwise head"]["train_config"]["head"] == "elementwise"
    assert runs["recipe (scratch) + mat2vec"]["strategy"]["element_init"] == "mat2vec"
    assert "element_init" not in runs["recipe (scratch)"]["strategy"]
    verdicts = {row[0]: row[6] for row in r["tables"][1]["rows"]}
    assert verdicts == {
        k: "better on val" if runs[k]["val_mae"] < runs["recipe (scratch)" if runs[k]["scratch"] else "recipe"]["val_mae"]
        else "not better on val" for k in encoder
    }  # fmt: skip
    assert data["encoder_options_better_on_val"] == [k for k in encoder if verdicts[k] == "better on val"]
    # the chosen recipe follows from the validation numbers of this very run
    bench = load_benchmark("recipe", benchmarks_dir())
    expected = bench.choose_recipe(runs["baseline"]["val_mae"], {n: runs[f"+ {n}"]["val_mae"] for n in names})
    assert data["chosen"] == expected
    assert runs["recipe"]["overrides"] == bench.combined_overrides(list(expected.values()))
    assert runs["+ l1"]["train_config"]["loss"] == "l1" and runs["baseline"]["train_config"]["loss"] == "mse"
    assert runs["+ robust-l1"]["predicted_std"]["mean_std"] > 0
    assert [t["pass"] for t in r["targets"]] == [None, None, None]  # a smoke run claims nothing
    assert "## Fine-tuning recipe ablation (matbench_expt_gap, one fold)" in docs.read_text()
    # a second run reuses every run
    assert cli_main.main(argv) == 0
    capsys.readouterr()
    again = json.loads(path.read_text())["data"]["runs"]
    assert all(again[k]["reused"] for k in rows) and [again[k]["test_mae"] for k in rows] == [
        runs[k]["test_mae"] for k in rows
    ]
