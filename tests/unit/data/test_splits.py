"""Splits: the Matbench protocol, grouped splits that cannot leak, and the leakage check itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chemtl.chem.composition import parse_composition
from chemtl.chem.smiles import murcko_scaffold
from chemtl.data import load_dataset
from chemtl.data.keys import compound_keys
from chemtl.data.registry import package_dir
from chemtl.data.splits import (
    Split,
    check_leakage,
    cluster_split,
    composition_grouped_split,
    domain_split,
    grouped_split,
    kfold_splits,
    leave_chemical_system_out,
    leave_element_out,
    load_split,
    make_split,
    matbench_folds,
    random_split,
    save_split,
    scaffold_split,
    shipped_split,
)
from chemtl.errors import ChemtlError, DataError, LeakageError


@pytest.fixture(scope="module")
def expt_gap():
    return load_dataset("matbench_expt_gap")


@pytest.fixture(scope="module")
def esol():
    return load_dataset("esol")


def sides(split: Split):
    return {"train": split.train, "val": split.val, "test": split.test}


def assert_partition(split: Split, n: int):
    everything = np.concatenate([split.train, split.val, split.test])
    assert sorted(everything.tolist()) == list(range(n))


def assert_no_shared(values, split: Split):
    groups = {side: {values[i] for i in idx} for side, idx in sides(split).items()}
    assert not groups["train"] & groups["test"]
    assert not groups["train"] & groups["val"]
    assert not groups["val"] & groups["test"]


# ---------------------------------------------------------------------------------------------
# Matbench


def test_matbench_fold_sizes(expt_gap):
    folds = matbench_folds(expt_gap.inputs)
    assert [len(f.test) for f in folds] == [921, 921, 921, 921, 920]
    assert [len(f.train) for f in folds] == [3683, 3683, 3683, 3683, 3684]
    assert [f.fold for f in folds] == [0, 1, 2, 3, 4]
    assert all(f.seed == 18012019 and f.method == "matbench" and len(f.val) == 0 for f in folds)
    assert [f.test[:5].tolist() for f in folds] == [
        [7, 9, 18, 29, 30],
        [2, 22, 24, 44, 53],
        [0, 5, 6, 8, 11],
        [1, 3, 10, 16, 20],
        [4, 12, 13, 14, 15],
    ]
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(4604))


def test_matbench_folds_match_crabnet_cv_files(expt_gap):
    """CrabNet ships the Matbench folds (deduplicated); each of its test files lies inside ours."""
    import pandas as pd

    root = package_dir("crabnet", "crabnet") / "data" / "matbench_cv" / "expt_gap"
    folds = matbench_folds(expt_gap.inputs)
    for k, fold in enumerate(folds):
        theirs = set(pd.read_csv(root / f"test{k}.csv", dtype=str, keep_default_na=False)["formula"])
        ours = {expt_gap.inputs[i] for i in fold.test}
        assert theirs <= ours and len(ours - theirs) <= 2


def test_matbench_protocol_leakage_is_reported_not_refused(expt_gap):
    folds = matbench_folds(expt_gap.inputs)
    assert [f.leakage.total for f in folds] == [1, 1, 1, 1, 0]
    assert [f.leakage.examples for f in folds] == [["TeSe"], ["TeSe"], ["Cu9S5"], ["Cu9S5"], []]
    assert all(f.leakage.allowed for f in folds)
    with pytest.raises(LeakageError) as info:
        matbench_folds(expt_gap.inputs, allow_leakage=False)
    assert str(info.value) == (
        "split 'matbench' puts the same compound on two sides: reduced formula 'TeSe' is in train "
        "(row 3856: 'Te0.5Se0.5') and test (row 3881: 'TeSe'); 1 shared in all (train/test 1, "
        "train/val 0, val/test 0); use a composition_grouped split or pass --allow-leakage"
    )


def test_kfold_refuses_leakage_by_default(expt_gap):
    with pytest.raises(LeakageError, match="split 'kfold' puts the same compound on two sides"):
        kfold_splits(expt_gap.inputs, "composition", seed=18012019)
    folds = kfold_splits(expt_gap.inputs, "composition", n_splits=3, seed=1, allow_leakage=True)
    assert [len(f.test) for f in folds] == [1535, 1535, 1534]


# ---------------------------------------------------------------------------------------------
# leakage on a tiny example

TINY = ["Fe2O3", "NaCl", "Fe4O6", "KCl", "LiF", "ClNa"]


def test_leakage_report_exact():
    split = Split("manual", [0, 1], [4], [2, 3, 5], n=6)
    report = check_leakage(TINY, "composition", split, allow_leakage=True)
    assert report.to_dict() == {
        "key": "reduced formula",
        "shared": {"train/test": 2, "train/val": 0, "val/test": 0},
        "total": 2,
        "test_rows_seen": 2,
        "examples": ["Fe2O3", "NaCl"],
        "allowed": True,
    }
    assert split.leakage is report


def test_leakage_error_exact():
    split = Split("manual", [0, 1], [4], [2, 3, 5], n=6)
    with pytest.raises(LeakageError) as info:
        check_leakage(TINY, "composition", split)
    assert str(info.value) == (
        "split 'manual' puts the same compound on two sides: reduced formula 'Fe2O3' is in train "
        "(row 1: 'Fe2O3') and test (row 3: 'Fe4O6'); 2 shared in all (train/test 2, train/val 0, "
        "val/test 0); use a composition_grouped split or pass --allow-leakage"
    )


def test_no_leakage_report():
    split = Split("manual", [0, 1], [], [3, 4], n=6)
    report = check_leakage(TINY, "composition", split)
    assert not report.leaks and report.total == 0 and report.examples == []


def test_smiles_leakage_uses_canonical_smiles():
    split = Split("manual", [0], [], [1], n=2)
    with pytest.raises(LeakageError) as info:
        check_leakage(["OCC", "C(C)O"], "smiles", split)
    assert "canonical SMILES 'CCO' is in train (row 1: 'OCC') and test (row 2: 'C(C)O')" in str(info.value)


def test_split_rejects_overlapping_indices():
    with pytest.raises(ValueError, match="a row is on two sides"):
        Split("manual", [0, 1], [], [1], n=3)
    with pytest.raises(ValueError, match="outside 0..2"):
        Split("manual", [0, 3], [], [1], n=3)


# ---------------------------------------------------------------------------------------------
# random and grouped


def test_random_split_sizes_and_determinism(expt_gap):
    # matbench_expt_gap holds 3 repeated compounds (Cu1.8S1/Cu9S5, Te0.5Se0.5/TeSe, In3CuSe5)
    with pytest.raises(LeakageError, match="reduced formula 'Cu9S5' is in train"):
        random_split(expt_gap.inputs, "composition", seed=1)
    a = random_split(expt_gap.inputs, "composition", seed=1, allow_leakage=True)
    b = random_split(expt_gap.inputs, "composition", seed=1, allow_leakage=True)
    assert a.sizes == {"train": 3683, "val": 460, "test": 461}
    assert a.leakage.total == 1 and a.leakage.examples == ["Cu9S5"]
    assert np.array_equal(a.test, b.test)
    c = random_split(expt_gap.inputs, "composition", seed=2, allow_leakage=True)
    assert not np.array_equal(a.test, c.test)
    assert_partition(a, 4604)
    two = random_split(expt_gap.inputs, "composition", frac=(0.9, 0.1), seed=1, allow_leakage=True)
    assert two.sizes == {"train": 4144, "val": 0, "test": 460}


def test_random_split_refuses_duplicates(esol):
    with pytest.raises(LeakageError) as info:
        random_split(esol.inputs, "smiles")
    assert str(info.value) == (
        "split 'random' puts the same compound on two sides: canonical SMILES 'OCC(O)C(O)C(O)C(O)CO' "
        "is in val (row 234: 'OCC(O)C(O)C(O)C(O)CO') and test (row 277: 'OCC(O)C(O)C(O)C(O)CO'); 2 shared "
        "in all (train/test 0, train/val 1, val/test 1); use a grouped or scaffold split or pass --allow-leakage"
    )
    split = random_split(esol.inputs, "smiles", allow_leakage=True)
    assert split.leakage.total == 2 and split.leakage.allowed


def test_grouped_split_on_duplicates(esol):
    split = grouped_split(esol.inputs, "smiles", seed=0)
    assert split.method == "grouped"
    assert_partition(split, len(esol))
    assert_no_shared(compound_keys(esol.inputs, "smiles"), split)
    assert split.leakage.total == 0


def test_composition_grouped_split_never_shares_a_formula(expt_gap):
    base = expt_gap.inputs[:300]
    inputs = base + [f"({f})2" for f in base[:100]] + ["Cu1.8S", "Cu9S5"]
    with pytest.raises(LeakageError):
        random_split(inputs, "composition", seed=0)
    split = composition_grouped_split(inputs, seed=0)
    assert split.method == "composition_grouped"
    assert_partition(split, len(inputs))
    assert_no_shared(compound_keys(inputs, "composition"), split)
    assert split.params["n_groups"] == 301
    assert abs(len(split.test) - 40) <= 2 and abs(len(split.val) - 40) <= 2


def test_bad_fractions():
    with pytest.raises(ChemtlError, match=r"fractions must be .* got \(0.8, 0.3\)"):
        random_split(TINY, "composition", frac=(0.8, 0.3))


# ---------------------------------------------------------------------------------------------
# scaffold


@pytest.mark.parametrize("balanced", [False, True])
def test_scaffold_split_shares_no_scaffold(esol, balanced):
    split = scaffold_split(esol.inputs, seed=0, balanced=balanced)
    assert split.sizes == {"train": 902, "val": 113, "test": 113}
    assert split.params["n_scaffolds"] == 269
    assert_partition(split, len(esol))
    assert_no_shared([murcko_scaffold(s) for s in esol.inputs], split)


def test_scaffold_split_is_deterministic(esol):
    a = scaffold_split(esol.inputs)
    b = scaffold_split(esol.inputs, seed=123)  # the default ordering ignores the seed
    assert np.array_equal(a.test, b.test) and a.seed is None
    c = scaffold_split(esol.inputs, balanced=True, seed=1)
    d = scaffold_split(esol.inputs, balanced=True, seed=2)
    assert not np.array_equal(c.test, d.test)


def test_scaffold_split_needs_molecules():
    with pytest.raises(ChemtlError, match="needs molecules"):
        scaffold_split(["Fe2O3", "NaCl"], kind="composition")


# ---------------------------------------------------------------------------------------------
# held-out elements, systems, domains


def test_leave_element_out_is_exactly_the_formulas_with_it(expt_gap):
    split = leave_element_out(expt_gap.inputs, "Se")
    expected = [i for i, f in enumerate(expt_gap.inputs) if "Se" in parse_composition(f).elements]
    assert split.test.tolist() == expected
    assert len(expected) == 676
    assert len(split.val) == 0 and len(split.train) == 4604 - 676
    with_val = leave_element_out(expt_gap.inputs, ["Se", "Te"], val_frac=0.1, seed=0)
    assert all({"Se", "Te"} & set(parse_composition(expt_gap.inputs[i]).elements) for i in with_val.test)
    assert not any({"Se", "Te"} & set(parse_composition(expt_gap.inputs[i]).elements) for i in with_val.train)
    assert abs(len(with_val.val) - 0.1 * (len(with_val.train) + len(with_val.val))) <= 1
    with pytest.raises(ChemtlError, match="unknown element 'Xx'"):
        leave_element_out(expt_gap.inputs, "Xx")


SYSTEMS = ["Fe2O3", "FeO", "Fe", "O2", "LiFeO2", "Fe3O4", "NaCl"]


def test_leave_chemical_system_out():
    split = leave_chemical_system_out(SYSTEMS, "O-Fe")
    assert split.test.tolist() == [0, 1, 5]
    assert split.train.tolist() == [2, 3, 4, 6]
    assert split.params["systems"] == ["Fe-O"]
    sub = leave_chemical_system_out(SYSTEMS, ["Fe-O"], include_subsystems=True)
    assert sub.test.tolist() == [0, 1, 2, 3, 5]


def test_domain_split_named_predicates():
    inputs = ["Fe2O3", "NaCl", "CuSO4", "LiF", "GaN"]
    assert domain_split(inputs, "composition", "oxide").test.tolist() == [0, 2]
    assert domain_split(inputs, "composition", "halide").test.tolist() == [1, 3]
    assert domain_split(inputs, "composition", "contains:Ga,Cu").test.tolist() == [2, 4]
    molecules = ["CCO", "CCCl", "c1ccccc1F", "CCN"]
    assert domain_split(molecules, "smiles", "halide").test.tolist() == [1, 2]
    custom = domain_split(inputs, "composition", lambda f: f.startswith("Fe"))
    assert custom.test.tolist() == [0] and custom.params["predicate"] == "<lambda>"
    with pytest.raises(ChemtlError, match="unknown domain predicate 'metal'; choose one of oxide, halide"):
        domain_split(inputs, "composition", "metal")
    with pytest.raises(ChemtlError) as info:
        domain_split(["NaCl", "KCl"], "composition", "oxide")
    assert str(info.value) == "domain: no row matches predicate 'oxide'; the test set would be empty"


# ---------------------------------------------------------------------------------------------
# clusters


def test_cluster_split(expt_gap):
    inputs = expt_gap.inputs[:60] + ["Ag2Au4S4"]  # a duplicate of Ag(AuS)2: same features, same cluster
    a = cluster_split(inputs, "composition", n_clusters=5, seed=0)
    b = cluster_split(inputs, "composition", n_clusters=5, seed=0)
    assert np.array_equal(a.test, b.test) and np.array_equal(a.val, b.val)
    assert_partition(a, 61)
    assert a.leakage.total == 0
    assert sum(a.params["cluster_sizes"]) == 61
    held = cluster_split(inputs, "composition", n_clusters=5, seed=0, test_clusters=[0])
    assert len(held.test) == held.params["cluster_sizes"][0]
    assert held.params["test_clusters"] == [0]


def test_cluster_split_on_fingerprints():
    smiles = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1C", "c1ccccc1CC", "CCN", "CCCN", "OCC"]
    split = cluster_split(smiles, "smiles", n_clusters=3, frac=(0.6, 0.2, 0.2), seed=0)
    assert_partition(split, 9)
    assert split.leakage.total == 0  # OCC and CCO share a fingerprint, so a cluster


def test_cluster_split_bad_counts():
    with pytest.raises(ChemtlError, match="n_clusters must be between 2 and the number of rows"):
        cluster_split(["Fe2O3", "NaCl"], "composition", n_clusters=5)


# ---------------------------------------------------------------------------------------------
# shipped splits, dispatcher, save/load


def test_shipped_split():
    ds = load_dataset("moleculeace_CHEMBL2047_EC50")
    split = make_split(ds, "shipped")
    assert split.sizes == {"train": 503, "val": 0, "test": 128}
    assert split.leakage.allowed
    with pytest.raises(DataError, match="row 2: split label 'dev' is not train, val or test"):
        shipped_split(["CCO", "CCN"], "smiles", ["train", "dev"])
    with pytest.raises(DataError, match="dataset 'esol' ships no split"):
        make_split(load_dataset("esol"), "shipped")


def test_make_split_dispatch(expt_gap, esol):
    assert [len(f.test) for f in make_split(expt_gap, "matbench")] == [921, 921, 921, 921, 920]
    assert make_split(expt_gap, "leave_element_out", elements="Se").sizes["test"] == 676
    assert make_split(esol, "scaffold").sizes == {"train": 902, "val": 113, "test": 113}
    assert make_split(esol, "random", allow_leakage=True).leakage.total == 2
    with pytest.raises(ChemtlError, match="split 'composition_grouped' needs composition inputs, not smiles"):
        make_split(esol, "composition_grouped")
    with pytest.raises(ChemtlError, match="unknown split method 'stratified'"):
        make_split(esol, "stratified")


def test_save_and_load_split(tmp_path, expt_gap):
    folds = matbench_folds(expt_gap.inputs)
    path = save_split(folds, tmp_path / "folds.json", inputs=expt_gap.inputs)
    back = load_split(path, inputs=expt_gap.inputs)
    assert isinstance(back, list) and len(back) == 5
    for a, b in zip(folds, back):
        assert np.array_equal(a.test, b.test) and np.array_equal(a.train, b.train)
        assert a.leakage == b.leakage and a.fold == b.fold and a.seed == b.seed
    single = random_split(TINY[:2] + ["KCl", "LiF"], "composition", frac=(0.5, 0.5), seed=0)
    save_split(single, tmp_path / "one.json")
    again = load_split(tmp_path / "one.json")
    assert isinstance(again, Split) and again.to_dict() == single.to_dict()
    payload = json.loads((tmp_path / "one.json").read_text())
    assert payload["format"] == "chemtl-split" and payload["inputs_sha256"] is None
    with pytest.raises(DataError, match="the split is for 4604 rows, the data has 3"):
        load_split(path, inputs=["a", "b", "c"])
    other = list(expt_gap.inputs)
    other[0] = "NaCl"
    with pytest.raises(DataError, match="the split was made for other data"):
        load_split(path, inputs=other)
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(DataError, match="not a chemtl split file"):
        load_split(tmp_path / "junk.json")
    with pytest.raises(DataError, match="no such file"):
        load_split(tmp_path / "missing.json")
