"""The split chosen when none is given: published protocols, else random by compound."""

from __future__ import annotations

from chemtl.data.splits import default_split_method
from chemtl.training.config import DataConfig


def test_published_protocols_are_the_default_for_registered_datasets():
    assert default_split_method("matbench_expt_gap") == (
        "matbench",
        "the published Matbench folds of a matbench dataset",
    )
    assert default_split_method("solubility_classes") == (
        "shipped",
        "the split 'solubility_classes' ships with",
    )
    assert default_split_method("esol") == (
        "grouped",
        "random by compound, so no compound lands on two sides",
    )


def test_user_files_split_by_compound_whatever_their_name(tmp_path):
    own = tmp_path / "matbench_mine.csv"
    own.write_text("formula,target\nFe2O3,1\n")
    assert default_split_method(str(own))[0] == "grouped"
    assert default_split_method(str(tmp_path / "gaps.csv"))[0] == "grouped"


def test_data_config_resolves_auto_when_made():
    assert DataConfig("my.csv").split == "grouped"
    assert DataConfig("matbench_expt_gap").split == "matbench"
    assert DataConfig("my.csv", split="auto", split_file="split.json").split == "random"
    assert DataConfig("my.csv", split="random").split == "random"
    assert DataConfig.from_dict(DataConfig("my.csv").to_dict()).split == "grouped"
