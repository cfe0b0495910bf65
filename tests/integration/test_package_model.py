"""A pretraining run packaged as a shipped model: files, model card, loss curve, loadable by path."""

from __future__ import annotations

import json

import pytest

from chemtl.errors import ChemtlError
from chemtl.packaging import SHIPPED_FILES, package_model
from chemtl.shipped import resolve_model_dir


def test_package_a_pretraining_run(data_dir, tmp_path, cli_main):
    run = tmp_path / "run"
    args = ["pretrain", "--corpus", data_dir / "corpus.txt", "--size", "tiny", "--max-steps", "4"]
    args += ["--batch-size", "8", "--val-rows", "8", "--warmup-steps", "0", "--no-progress", "--out", run]
    assert cli_main(*args) == 0
    out = package_model(run, tmp_path / "shipped", "tiny-test", "chemtl pretrain ...")
    assert sorted(p.name for p in out.iterdir()) == sorted([*SHIPPED_FILES, "README.md", "loss_curve.png"])
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (out / "README.md").read_text()
    sha = json.loads((run / "manifest.json").read_text())["data"]["sha256"]
    assert card.startswith("# tiny-test\n")
    assert f"sha256 `{sha}`" in card
    assert "| rows seen / steps / epochs | 32 / 4 / 1 |" in card
    assert "    chemtl pretrain ...\n" in card

    from chemtl.pretrained import load_model

    assert type(load_model(out)).__name__ == "ChemtlModel"


def test_unfinished_run_is_refused(tmp_path):
    with pytest.raises(ChemtlError, match="not a finished pretraining run"):
        package_model(tmp_path, tmp_path / "out", "x", "cmd")


def test_resolve_keeps_paths(tmp_path):
    assert resolve_model_dir(tmp_path) == tmp_path
    assert str(resolve_model_dir("no-such-model")) == "no-such-model"


def test_package_a_supervised_stage_states_its_exclusions(tiny_model, data_dir, tmp_path, cli_main):
    (tmp_path / "downstream.csv").write_text("formula,y\nLiF,1.0\n")
    run = tmp_path / "run"
    args = ["pretrain", "--supervised", f"{data_dir / 'gap.csv'}:gap", "--init", tiny_model]
    args += ["--exclude", tmp_path / "downstream.csv", "--max-steps", "2", "--batch-size", "8"]
    assert cli_main(*args, "--no-progress", "--out", run) == 0
    (tmp_path / "notes.md").write_text("## Effect of the exclusion\n\nmeasured here\n")
    out = package_model(
        run, tmp_path / "shipped", "tiny-mp", "chemtl pretrain --supervised ...", tmp_path / "notes.md"
    )
    card = (out / "README.md").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    sha = manifest["data"]["sources"][0]["sha256"]
    assert "trained by supervised multi-task regression (an intermediate stage)" in card
    assert f"| initialised from | `{tiny_model.name}` |" in card
    assert f"| source `gap:gap` | 60 rows, sha256 `{sha}`; 1 rows excluded |" in card
    assert "| excluded compounds | every compound of `downstream` (1 compounds in 1 rows, matched" in card
    assert "## Effect of the exclusion\n\nmeasured here\n" in card
    with pytest.raises(ChemtlError, match="notes 'nope.md' is not a file"):
        package_model(run, tmp_path / "x", "x", "cmd", "nope.md")
