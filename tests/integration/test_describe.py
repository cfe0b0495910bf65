"""A tiny describer overfits five formula -> description pairs on the engine and says them back."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from chemtl.errors import ChemtlError
from chemtl.training.checkpoint import ModelDirError
from chemtl.training.config import TrainConfig

PAIRS = [
    (
        "Fe2O3",
        "non-metal semiconductor, band gap 2.1 eV (experimental), formation energy -1.7 eV/atom (DFT).",
    ),
    ("Cu", "metal, band gap 0.0 eV (experimental)."),
    ("MgO", "non-metal insulator, band gap 7.8 eV (experimental)."),
    ("TiO2", "non-metal semiconductor, band gap 2.1 eV (DFT), formation energy -3.5 eV/atom (DFT)."),
    ("AlNi", "metal, band gap 0.0 eV (DFT)."),
]


@pytest.fixture(scope="module")
def describer(tmp_path_factory):
    from chemtl.pipelines.describe import train_describer

    # 20 copies of the five pairs: 20 steps an epoch, one checkpoint an epoch
    table = pd.DataFrame(
        {
            "formula": [f for f, _ in PAIRS] * 20 + ["Fe0.123456O0.7"],
            "description": [d for _, d in PAIRS] * 20 + ["metal, band gap 0.0 eV (DFT)."],
            "split": ["train"] * 101,
        }
    )
    out = tmp_path_factory.mktemp("describer") / "run"
    config = TrainConfig(
        lr=1e-2, head_lr=None, weight_decay=0.0, batch_size=5, max_epochs=12, patience=None,
        progress_bar=False, checkpoint_every_n_steps=1000,
    )  # fmt: skip
    result = train_describer(out, config, size="tiny", table=table)
    return out, result


def test_overfits_and_describes_back_exactly(describer):
    from chemtl.pipelines.describe import describe

    out, result = describer
    assert result.metrics["global_step"] == 240
    assert (result.metrics["n_train"], result.metrics["n_val"], result.metrics["n_unspellable"]) == (
        100,
        0,
        1,
    )
    formulas = [f for f, _ in PAIRS]
    assert describe(out, formulas) == [d for _, d in PAIRS]
    # in the order given, repeats included; a scaled formula is its compound
    assert describe(out, ["Cu", "Fe4O6", "Cu"]) == [PAIRS[1][1], PAIRS[0][1], PAIRS[1][1]]
    assert describe(out, formulas, beams=3) == [d for _, d in PAIRS]


def test_run_directory_is_a_describer_directory(describer):
    out, _ = describer
    for name in ("config.json", "model.safetensors", "text_tokenizer.json", "tokenizer.json", "chemtl.json",
                 "metrics.json", "manifest.json", "train_config.json", "logs/metrics.csv",
                 "checkpoints/last.ckpt"):  # fmt: skip
        assert (out / name).is_file(), name
    meta = json.loads((out / "chemtl.json").read_text())
    assert (meta["task"], meta["model_type"], meta["kind"], meta["size"]) == (
        "describe",
        "t5",
        "composition",
        "tiny",
    )
    assert json.loads((out / "config.json").read_text())["model_type"] == "t5"
    assert json.loads((out / "manifest.json").read_text())["run"] == "describe"


def test_sampling_is_seeded(describer):
    from chemtl.pipelines.describe import describe

    out, _ = describer
    formulas = [f for f, _ in PAIRS]
    assert describe(out, formulas, sample=True, seed=3) == describe(out, formulas, sample=True, seed=3)


def test_refusals(describer, tiny_model):
    from chemtl.pipelines.describe import describe
    from chemtl.pipelines.modeldir import load_model_dir

    out, _ = describer
    with pytest.raises(ModelDirError, match=r"holds a 'chemtl' model \(a chemtl encoder\), not a describer"):
        describe(tiny_model, ["Fe2O3"])
    with pytest.raises(ModelDirError, match=r"holds a 't5' model \(a describer: .*\), not a chemtl encoder"):
        load_model_dir(out)  # every encoder verb reads models through it
    with pytest.raises(ChemtlError, match=r"formula 2: invalid formula 'Xx'"):
        describe(out, ["Cu", "Xx"])
    with pytest.raises(ChemtlError, match="beams must be an integer >= 1, got 0"):
        describe(out, ["Cu"], beams=0)


def test_packaged_describer_keeps_its_vocabulary_and_card(describer, tmp_path):
    from chemtl.packaging import package_model
    from chemtl.pipelines.describe import describe

    out, _ = describer
    shipped = package_model(
        out, tmp_path / "composition-t5-x", "composition-t5-x", "chemtl describe --train ..."
    )
    assert (shipped / "text_tokenizer.json").is_file()
    card = (shipped / "README.md").read_text()
    assert card.startswith(
        "# composition-t5-x\n\nA chemtl composition describer, size `tiny`, trained to describe compositions "
        "in words (T5, composition to text).\nLoad it offline with `chemtl describe --model composition-t5-x "
        "FORMULA...`.\n"
    )
    assert "| rows trained / validated / steps / epochs | 100 / 0 / 240 / 12 |" in card
    assert describe(shipped, ["MgO"]) == [PAIRS[2][1]]
