"""Few-shot task collections: the built-in splits and thresholds, subsampling, user collections, errors."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.data import load_dataset
from chemtl.data.registry import family_members
from chemtl.data.tasks import (
    MOLECULEACE_TEST,
    TASK_COLLECTIONS,
    TaskCollection,
    is_task_collection,
    load_tasks,
)
from chemtl.errors import DataError

MP_DATASETS = {"matbench_mp_gap", "matbench_mp_is_metal", "matbench_mp_e_form"}


@pytest.fixture(scope="module")
def moleculeace():
    return load_tasks("moleculeace_tasks")


@pytest.fixture(scope="module")
def composition():
    return load_tasks("composition_tasks")


@pytest.fixture(scope="module")
def composition_regression():
    return load_tasks("composition_regression_tasks")


def test_the_collections_are_named():
    assert list(TASK_COLLECTIONS) == [
        "moleculeace_tasks",
        "composition_tasks",
        "composition_regression_tasks",
    ]
    assert is_task_collection("moleculeace_tasks") and is_task_collection("Composition_Tasks")
    assert not is_task_collection("matbench_expt_gap")


def test_moleculeace_split_is_ten_test_targets_by_the_stated_rule(moleculeace):
    names = sorted(n.removeprefix("moleculeace_") for n in family_members("moleculeace"))
    assert tuple(names[2::3]) == MOLECULEACE_TEST
    assert moleculeace.kind == "smiles" and len(moleculeace) == 30
    test = [t.name for t in moleculeace.side("test")]
    train = [t.name for t in moleculeace.side("train")]
    assert tuple(test) == MOLECULEACE_TEST and len(train) == 20
    assert not set(test) & set(train)
    # no ChEMBL target (CHEMBL237 has an EC50 and a Ki set) on both sides
    assert not {n.split("_")[0] for n in test} & {n.split("_")[0] for n in train}
    assert len(moleculeace.side("all")) == 30


def test_moleculeace_thresholds_are_the_median_pk_clipped_to_5_7(moleculeace):
    for t in moleculeace.tasks:
        assert 5.0 <= t.info["threshold"] <= 7.0
        assert t.classes == ("inactive", "active") and t.task == "classification"
    task = next(t for t in moleculeace.tasks if t.name == "CHEMBL2047_EC50")  # 631 rows, not subsampled
    ds = load_dataset("moleculeace_CHEMBL2047_EC50")
    pk = np.asarray(ds.targets) + 9.0
    assert task.info["threshold"] == float(np.median(pk)) == pytest.approx(6.1549, abs=1e-4)
    assert task.labels.tolist() == (pk >= task.info["threshold"]).astype(int).tolist()
    assert task.class_counts() == {"inactive": 314, "active": 317}
    clipped = next(t for t in moleculeace.tasks if t.name == "CHEMBL2835_Ki")  # median pK 9.02
    assert clipped.info["threshold"] == 7.0


def test_large_tasks_are_subsampled_with_a_seed(moleculeace):
    task = next(t for t in moleculeace.tasks if t.name == "CHEMBL234_Ki")
    assert len(task) == 2000 and task.info["rows_total"] == 3657 and task.info["seed"] == 0
    again = load_tasks("moleculeace_tasks", max_rows=2000, seed=0)
    assert next(t for t in again.tasks if t.name == "CHEMBL234_Ki").inputs == task.inputs
    other = load_tasks("moleculeace_tasks", seed=1)
    assert next(t for t in other.tasks if t.name == "CHEMBL234_Ki").inputs != task.inputs
    small = load_tasks("moleculeace_tasks", max_rows=100)
    assert {len(t) for t in small.tasks} == {100}


def test_composition_tasks_put_the_mp_derived_tasks_on_meta_train(composition):
    assert composition.kind == "composition"
    mp = [t for t in composition.tasks if t.info["dataset"] in MP_DATASETS]
    assert sorted(t.name for t in mp) == ["mp_e_form_stable", "mp_gap_classes", "mp_is_metal"]
    assert {t.side for t in mp} == {"train"}
    assert [t.name for t in composition.side("test")] == [
        "expt_is_metal",
        "glass",
        "expt_gap_classes",
        "log_kvrh_high",
        "phonons_high",
    ]
    gaps = next(t for t in composition.tasks if t.name == "expt_gap_classes")
    assert gaps.info["bins"] == [0.0, 2.0] and gaps.info["rows_total"] == 4604
    assert gaps.class_counts() == {"metal (0 eV)": 1072, "small gap (0-2 eV]": 497, "wide gap (> 2 eV)": 431}
    stable = next(t for t in composition.tasks if t.name == "mp_e_form_stable")
    assert stable.info["threshold"] == 0.0


def test_composition_regression_tasks(composition_regression):
    tasks = {t.name: t for t in composition_regression.tasks}
    assert {t.side for t in tasks.values() if t.info["dataset"] in MP_DATASETS} == {"train"}
    assert tasks["mp_gap"].info == {
        "dataset": "matbench_mp_gap",
        "sha256": "4084e584467e6f81ec8bf12c438eeb2c049ae39e11401bae694ef6a9983b9d9f",
        "source": "registry",
        "units": "eV",
        "rows_total": 106113,
        "max_rows": 2000,
        "seed": 0,
        "rows": 2000,
    }
    assert [t.name for t in composition_regression.side("test")] == [
        "expt_gap",
        "steels",
        "jdft2d",
        "phonons",
        "log_kvrh",
    ]
    steels = tasks["steels"]
    assert steels.task == "regression" and steels.classes == () and len(steels) == 312
    assert steels.labels.dtype == np.float64
    assert steels.info["rows_total"] == steels.info["rows"] == 312


def test_a_folder_of_csv_files_is_one_task_each(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "b_metal.csv").write_text("formula,target\nFe,metal\nCu,metal\nNaCl,salt\nKCl,salt\n")
    (d / "a_gap.csv").write_text("formula,target\nFe,0.0\nNaCl,8.5\nKCl,8.4\n")
    (d / "notes.txt").write_text("not a task")
    col = load_tasks(d)
    assert isinstance(col, TaskCollection) and col.name == "mine" and col.kind == "composition"
    assert [t.name for t in col.tasks] == ["a_gap", "b_metal"]
    gap, metal = col.tasks
    assert gap.task == "regression" and gap.labels.tolist() == [0.0, 8.5, 8.4] and gap.side == "all"
    assert metal.task == "classification" and metal.classes == ("metal", "salt")
    assert metal.labels.tolist() == [0, 0, 1, 1]
    assert len(col.side("all")) == 2 and col.side("test") == []


def test_one_csv_with_a_task_column(tmp_path):
    f = tmp_path / "assays.csv"
    f.write_text(
        "smiles,assay,active,id\nCCO,a1,1,m1\nCCN,a1,0,m2\nCCC,a2,1,m3\nCCCl,a2,0,m4\nCCBr,a1,1,m5\n"
    )
    col = load_tasks(f, task_col="assay", target_col="active")
    assert col.name == "assays" and col.kind == "smiles"
    assert [(t.name, t.inputs, t.labels.tolist(), t.classes) for t in col.tasks] == [
        ("a1", ("CCO", "CCN", "CCBr"), [1, 0, 1], ("0", "1")),
        ("a2", ("CCC", "CCCl"), [1, 0], ("0", "1")),
    ]


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (
            lambda p: "no_such_collection",
            {},
            "unknown task collection 'no_such_collection'; the built-in ones are moleculeace_tasks, "
            "composition_tasks, composition_regression_tasks (or pass a folder of csv files, or a csv "
            "with a task column)",
        ),
        (
            lambda p: (p / "empty").mkdir() or p / "empty",
            {},
            "{p}/empty: no csv files in the folder (one csv per task)",
        ),
        (
            lambda p: (
                (p / "one.csv").write_text("smiles,t,y\nCCO,a,1\nCCN,a,1\nCCC,b,0\nCCCl,b,1\n")
                and p / "one.csv"
            ),
            {"task_col": "t", "target_col": "y"},
            "task 'a' has one class ('1'); a task needs at least two",
        ),
        (
            lambda p: (p / "nocol.csv").write_text("smiles,y\nCCO,1\nCCN,0\n") and p / "nocol.csv",
            {"task_col": "assay"},
            "{p}/nocol.csv: no task column 'assay'; the columns are 'smiles', 'y'",
        ),
        (
            lambda p: (p / "plain.csv").write_text("smiles,y\nCCO,1\nCCN,0\n") and p / "plain.csv",
            {},
            "{p}/plain.csv: one csv holds a task collection only with a task column; name it with "
            "task_col (--task-col), or pass a folder of csv files, one per task",
        ),
        (lambda p: "moleculeace_tasks", {"max_rows": 1}, "max_rows must be an integer >= 2, got 1"),
        (
            lambda p: "moleculeace_tasks",
            {"kind": "composition"},
            "'moleculeace_tasks' holds classification tasks of smiles inputs, not kind 'composition'",
        ),
        (
            lambda p: "composition_tasks",
            {"target_col": "y"},
            "target_col is for a user's collection, not the built-in 'composition_tasks'",
        ),
    ],
)
def test_errors_are_one_line_naming_the_value(tmp_path, make, kwargs, message):
    source = make(tmp_path)
    with pytest.raises(DataError) as info:
        load_tasks(source, **kwargs)
    assert str(info.value) == message.format(p=tmp_path)


def test_a_missing_label_column_is_named(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("smiles,assay,id\nCCO,a,1\n")
    with pytest.raises(DataError) as info:
        load_tasks(f, task_col="assay", target_col="label")
    assert str(info.value) == f"{f}: no column 'label'; the columns are 'smiles', 'assay', 'id'"
