"""User csv files: detection, validation, one-line errors with row numbers, --skip-invalid, export."""

from __future__ import annotations

import os

import numpy as np
import pytest

from chemtl.data import Dataset, export_dataset, load_dataset
from chemtl.data.keys import compound_key
from chemtl.errors import ChemtlError, DataError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def bad_csv(tmp_path):
    return write(tmp_path / "gaps.csv", "formula,gap\nFe2O3,2.1\nXx2O,1.0\nNaN,0.5\nNaCl,\nKCl,abc\n")


def test_bad_row_refuses_the_file_naming_value_and_row(bad_csv):
    with pytest.raises(DataError) as info:
        load_dataset(bad_csv)
    assert str(info.value) == (
        f"{bad_csv}: row 2, column 'formula': invalid formula 'Xx2O': unknown element 'Xx' "
        "(3 of 5 rows invalid; fix them or pass --skip-invalid to skip them)"
    )
    assert "\n" not in str(info.value)
    assert not (bad_csv.parent / "gaps.skipped.csv").exists()


def test_skip_invalid_writes_the_side_file(bad_csv):
    ds = load_dataset(bad_csv, skip_invalid=True)
    assert ds.inputs == ["Fe2O3", "NaN"]
    assert ds.targets.tolist() == [2.1, 0.5]
    side = bad_csv.parent / "gaps.skipped.csv"
    assert side.read_text(encoding="utf-8") == (
        "row,column,value,reason\n"
        "2,formula,Xx2O,invalid formula 'Xx2O': unknown element 'Xx'\n"
        "4,gap,,missing target (empty cell)\n"
        "5,gap,abc,target 'abc' is not a number\n"
    )
    assert ds.info["skipped"] == 3 and ds.info["skipped_path"] == str(side)
    assert [p.name for p in bad_csv.parent.iterdir() if p.name.startswith(".")] == []


def test_skip_invalid_side_file_where_asked(bad_csv, tmp_path):
    target = tmp_path / "out" / "bad_rows.csv"
    load_dataset(bad_csv, skip_invalid=True, skipped_path=target)
    assert (
        target.read_text(encoding="utf-8").splitlines()[1]
        == "2,formula,Xx2O,invalid formula 'Xx2O': unknown element 'Xx'"
    )


def test_nan_is_sodium_nitride(tmp_path):
    path = write(tmp_path / "n.csv", "formula,target\nNaN,1.5\nFe2O3,2.0\n")
    ds = load_dataset(path)
    assert ds.kind == "composition"
    assert ds.inputs == ["NaN", "Fe2O3"]
    assert compound_key("NaN", "composition") == "NaN"


def test_nan_target_is_missing(tmp_path):
    path = write(tmp_path / "t.csv", "formula,target\nFe2O3,2.0\nNaCl,NaN\nKCl,1\n")
    with pytest.raises(DataError) as info:
        load_dataset(path)
    assert str(info.value) == (
        f"{path}: row 2, column 'target': missing target ('NaN') "
        "(1 of 3 rows invalid; fix them or pass --skip-invalid to skip them)"
    )


def test_infinite_target(tmp_path):
    path = write(tmp_path / "t.csv", "formula,target\nFe2O3,inf\nNaCl,1\n")
    with pytest.raises(DataError, match=r"row 1, column 'target': target 'inf' is not a finite number"):
        load_dataset(path)


def test_missing_column_lists_the_columns(bad_csv):
    with pytest.raises(DataError) as info:
        load_dataset(bad_csv, target_col="band_gap")
    assert str(info.value) == f"{bad_csv}: no column 'band_gap'; the columns are 'formula', 'gap'"
    with pytest.raises(DataError) as info:
        load_dataset(bad_csv, input_col="comp")
    assert str(info.value) == f"{bad_csv}: no column 'comp'; the columns are 'formula', 'gap'"


def test_no_recognisable_input_column(tmp_path):
    path = write(tmp_path / "x.csv", "material,y\nFe2O3,1\n")
    with pytest.raises(DataError) as info:
        load_dataset(path)
    assert str(info.value) == (
        f"{path}: no input column named formula, composition, smiles or selfies; name it with "
        "--input-col (the columns are 'material', 'y')"
    )
    ds = load_dataset(path, input_col="material")
    assert ds.inputs == ["Fe2O3"] and ds.targets.tolist() == [1.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "{p}: the file is empty"),
        (b"formula,gap\n", "{p}: no data rows (only a header: 'formula', 'gap')"),
        (b"formula,gap\n\n\n", "{p}: no data rows (only blank lines after the header)"),
        (b"\x00\x01\x02", "cannot read '{p}' as csv: it looks like a binary file"),
        (
            b"formula,gap\n\xff\xfe,1\n",
            "cannot read '{p}' as csv: not UTF-8 text (invalid start byte at byte 12)",
        ),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_dataset(path)
    assert str(info.value) == message.format(p=path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "missing.csv")
    assert str(info.value) == f"cannot read '{tmp_path / 'missing.csv'}': no such file"
    with pytest.raises(DataError) as info:
        load_dataset(str(tmp_path) + os.sep)
    assert "it is a directory, not a csv file" in str(info.value)


def test_blank_lines_keep_row_numbers(tmp_path):
    path = write(tmp_path / "b.csv", "formula,gap\nFe2O3,2.1\n\nQq,1\n")
    with pytest.raises(DataError, match=r"row 3, column 'formula': invalid formula 'Qq'"):
        load_dataset(path)


def test_wrong_kind(bad_csv):
    with pytest.raises(DataError) as info:
        load_dataset(bad_csv, kind="smiles")
    assert str(info.value) == (
        f"{bad_csv}: all 5 rows are invalid; is --kind smiles right? (first: row 1, column 'formula': "
        "invalid SMILES 'Fe2O3': syntax error at position 2)"
    )
    with pytest.raises(ChemtlError, match="unknown kind 'smile'"):
        load_dataset(bad_csv, kind="smile")


def test_kind_detected_from_values(tmp_path):
    path = write(tmp_path / "m.csv", "mol,logS\nCCO,1.5\nc1ccccc1,-2\nCC(=O)O,0.3\n")
    ds = load_dataset(path, input_col="mol")
    assert ds.kind == "smiles" and ds.info["kind_source"] == "values"
    assert ds.targets.tolist() == [1.5, -2.0, 0.3]  # the other column of a two-column file
    assert ds.info["sha256"] == ds.info["files"][0]["sha256"] and len(ds.info["sha256"]) == 64


def test_kind_from_column_name(tmp_path):
    path = write(tmp_path / "m.csv", "smiles,y\nCO,1\nCCO,2\n")  # CO and CCO are formulas too
    ds = load_dataset(path)
    assert ds.kind == "smiles" and ds.info["kind_source"] == "column name"
    wrong = write(tmp_path / "w.csv", "smiles,y\nFe2O3,1\n")
    with pytest.raises(DataError) as info:
        load_dataset(wrong)
    assert str(info.value) == (
        f"{wrong}: all 1 rows are invalid; read as smiles because the column is named 'smiles', pass "
        "--kind if it holds something else (first: row 1, column 'smiles': invalid SMILES 'Fe2O3': "
        "syntax error at position 2)"
    )


def test_undetectable_kind(tmp_path):
    path = write(tmp_path / "u.csv", "material,y\nhello,1\nworld,2\n")
    with pytest.raises(DataError, match=r"column 'material': cannot detect the kind .* pass --kind"):
        load_dataset(path, input_col="material")


def test_canonical_smiles_from_file(tmp_path):
    path = write(tmp_path / "m.csv", "smiles,y\nOCC,1.5\n")
    assert load_dataset(path, canonical=True).inputs == ["CCO"]
    assert load_dataset(path).inputs == ["OCC"]


def test_classification(tmp_path):
    path = write(tmp_path / "c.csv", "smiles,active\nCCO,1\nCCN,0\nCCC,1\n")
    ds = load_dataset(path)
    assert ds.task == "classification" and ds.targets.dtype == np.int64
    assert ds.targets.tolist() == [1, 0, 1] and ds.classes == ["0", "1"]
    labels = write(tmp_path / "l.csv", "smiles,label\nCCO,high\nCCN,low\nCCC,high\n")
    with pytest.raises(DataError, match=r"row 1, column 'label': target 'high' is not a number"):
        load_dataset(labels)
    ds = load_dataset(labels, task="classification")
    assert ds.targets.tolist() == [0, 1, 0] and ds.classes == ["high", "low"]
    ds = load_dataset(path, task="regression")
    assert ds.task == "regression" and ds.targets.dtype == np.float64


def test_unlabelled_file(tmp_path):
    path = write(tmp_path / "u.csv", "formula,source,note\nFe2O3,a,b\nNaCl,c,d\n")
    ds = load_dataset(path)
    assert ds.targets is None and ds.task == "unlabelled"


def test_file_limit(tmp_path):
    path = write(tmp_path / "g.csv", "formula,target\nFe2O3,1\nNaCl,2\nKCl,3\n")
    assert load_dataset(path, limit=2).inputs == ["Fe2O3", "NaCl"]


def test_export_round_trip(tmp_path):
    ds = load_dataset("matbench_expt_gap")
    out = export_dataset(ds, tmp_path / "sub" / "gap.csv")
    assert out.read_text(encoding="utf-8").splitlines()[:2] == ["formula,target", "Ag(AuS)2,0.0"]
    back = load_dataset(out)
    assert back.inputs == ds.inputs
    assert np.array_equal(back.targets, ds.targets)
    assert back.kind == "composition" and back.task == "regression"


def test_export_round_trip_classes_and_extras(tmp_path):
    ds = load_dataset("solubility_classes")
    out = export_dataset(ds, tmp_path / "sol.csv")
    assert out.read_text(encoding="utf-8").splitlines()[:2] == [
        "smiles,target,SOL,NAME,split",
        "CCCCC,(A) low,-3.18,n-pentane,train",
    ]
    back = load_dataset(out, target_col="target", task="classification")
    assert back.inputs == ds.inputs and back.targets.tolist() == ds.targets.tolist()


def test_export_moses_head(tmp_path):
    out = export_dataset(load_dataset("moses", limit=2), tmp_path / "m.csv")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "smiles",
        "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
        "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
    ]


class _Boom:
    def __str__(self) -> str:
        raise RuntimeError("disk full")


def test_export_failure_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    ds = Dataset(
        "x", ["Fe2O3", "NaCl"], np.array([1.0, 2.0]), "composition", "regression", extra={"e": ["a", _Boom()]}
    )
    with pytest.raises(RuntimeError, match="disk full"):
        export_dataset(ds, target)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_dataset_subset():
    ds = load_dataset("esol", limit=5)
    sub = ds.subset([4, 0])
    assert sub.inputs == [ds.inputs[4], ds.inputs[0]]
    assert sub.targets.tolist() == [ds.targets[4], ds.targets[0]]
    assert sub.info["rows"] == 2 and sub.info["sha256"] == ds.info["sha256"]


def test_keep_columns_carries_every_other_column_as_written(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("id,formula,gap,note\n007,NaCl,1.50,a\n008,Xx3,2,b\n009,KCl,high,\n")
    ds = load_dataset(path, task="unlabelled", keep_columns=True, skip_invalid=True)
    assert ds.inputs == ["NaCl", "KCl"] and ds.targets is None
    assert ds.extra == {"id": ["007", "009"], "gap": ["1.50", "high"], "note": ["a", ""]}
    read = load_dataset(path, target_col="note", task="unlabelled", keep_columns=True, limit=1)
    assert list(read.extra) == ["id", "gap", "note"]  # read inputs-only, the named target is kept too
    assert load_dataset(path, task="unlabelled", skip_invalid=True).extra == {}
