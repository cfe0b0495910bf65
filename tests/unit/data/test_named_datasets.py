"""Every registered dataset loads offline, with exact row counts and the sha256 of what was read."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemtl.data import Dataset, StreamingDataset, iter_moses, list_datasets, load_dataset
from chemtl.errors import DataError

# name -> (rows, first 12 hex digits of info["sha256"]: the file's sha256, or for several files
# the sha256 of their "path<TAB>sha256" lines)
EXPECTED = {
    "matbench_expt_gap": (4604, "3de82c37f1db"),
    "matbench_expt_is_metal": (4921, "5b0828561a6c"),
    "matbench_glass": (5680, "2c76eaaad9c1"),
    "matbench_steels": (312, "a4232b4d8318"),
    "matbench_mp_gap": (106113, "4084e584467e"),
    "matbench_mp_is_metal": (106113, "080afc38363f"),
    "matbench_mp_e_form": (132752, "90e895635c96"),
    "castelli_perovskites": (18928, "2aba6ff55450"),
    "matbench_jdft2d": (636, "96e89a27ba23"),
    "matbench_phonons": (1265, "09108e3cbfea"),
    "matbench_dielectric": (4764, "6320d3da4c0f"),
    "matbench_log_gvrh": (10987, "6eda504f98a3"),
    "matbench_log_kvrh": (10987, "b4e2620ca797"),
    "oqmd_bandgap": (341608, "f244262c0a68"),
    "esol": (1128, "d377c80bf4cd"),
    "freesolv": (642, "ab5895d914ee"),
    "lipophilicity": (4200, "aed41590cb30"),
    "moleculeace_CHEMBL1862_Ki": (794, "72a750426976"),
    "moleculeace_CHEMBL1871_Ki": (659, "62d05aa76d09"),
    "moleculeace_CHEMBL2034_Ki": (750, "476668f39aae"),
    "moleculeace_CHEMBL2047_EC50": (631, "ea1bacf43377"),
    "moleculeace_CHEMBL204_Ki": (2754, "6ccf17a5f1aa"),
    "moleculeace_CHEMBL2147_Ki": (1456, "5cbf4deba3e6"),
    "moleculeace_CHEMBL214_Ki": (3317, "68bffa306934"),
    "moleculeace_CHEMBL218_EC50": (1031, "9133aefc69ef"),
    "moleculeace_CHEMBL219_Ki": (1865, "f0d13b1bd808"),
    "moleculeace_CHEMBL228_Ki": (1704, "17158facfdc5"),
    "moleculeace_CHEMBL231_Ki": (973, "9e1c0a22c37e"),
    "moleculeace_CHEMBL233_Ki": (3142, "4d8aff053b3d"),
    "moleculeace_CHEMBL234_Ki": (3657, "7a86fc355295"),
    "moleculeace_CHEMBL235_EC50": (2349, "a99b1d18870c"),
    "moleculeace_CHEMBL236_Ki": (2598, "28227a570694"),
    "moleculeace_CHEMBL237_EC50": (955, "37dce21b9ef1"),
    "moleculeace_CHEMBL237_Ki": (2603, "8bc5f0f4e512"),
    "moleculeace_CHEMBL238_Ki": (1052, "5ca1bb99ea91"),
    "moleculeace_CHEMBL239_EC50": (1721, "1985b2137bd6"),
    "moleculeace_CHEMBL244_Ki": (3097, "aafc2e818107"),
    "moleculeace_CHEMBL262_Ki": (856, "c438e8e18bc4"),
    "moleculeace_CHEMBL264_Ki": (2862, "6b380b5cf61b"),
    "moleculeace_CHEMBL2835_Ki": (615, "a6ff0b8c3df2"),
    "moleculeace_CHEMBL287_Ki": (1328, "7f448c291382"),
    "moleculeace_CHEMBL2971_Ki": (976, "2fe0c20bab93"),
    "moleculeace_CHEMBL3979_EC50": (1125, "7e455ec476c0"),
    "moleculeace_CHEMBL4005_Ki": (960, "183b163b6820"),
    "moleculeace_CHEMBL4203_Ki": (731, "28d7139fdba9"),
    "moleculeace_CHEMBL4616_EC50": (682, "7b79538464cf"),
    "moleculeace_CHEMBL4792_Ki": (1471, "088219b5b08f"),
    "solubility_classes": (1282, "99e4c15b4a74"),
    "moses": (1584663, "786f0313aa6b"),
    "moses_test": (176074, "f896fbf3764f"),
    "moses_test_scaffolds": (176225, "adffb2192c1b"),
}


def test_expected_covers_the_registry():
    assert set(EXPECTED) == {s.name for s in list_datasets() if s.reader != "corpus"}


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not n.startswith("moses")))
def test_dataset_loads_with_provenance(name):
    rows, sha = EXPECTED[name]
    ds = load_dataset(name)
    assert isinstance(ds, Dataset)
    assert len(ds) == rows == ds.info["rows"]
    assert ds.info["sha256"].startswith(sha)
    assert all(f["matches_pin"] for f in ds.info["files"])
    assert ds.info["version"] == ds.info["pinned_version"]
    assert ds.info["skipped"] == 0
    assert all(isinstance(x, str) and x for x in ds.inputs)
    assert ds.targets is not None and len(ds.targets) == rows
    assert np.isfinite(ds.targets.astype(float)).all()
    if ds.task == "classification":
        assert ds.targets.dtype == np.int64
    else:
        assert ds.targets.dtype == np.float64


@pytest.mark.parametrize("name", ["moses", "moses_test", "moses_test_scaffolds"])
def test_moses_is_streamed(name):
    rows, sha = EXPECTED[name]
    ds = load_dataset(name)
    assert isinstance(ds, StreamingDataset)
    assert len(ds) == rows
    assert ds.targets is None and ds.task == "unlabelled"
    assert ds.info["sha256"].startswith(sha)
    if name != "moses":  # the 1.58M-row count is checked in the slow test below
        assert sum(1 for _ in ds) == rows


@pytest.mark.slow
def test_moses_train_streams_every_row():
    assert sum(1 for _ in iter_moses("train")) == 1584663


def test_moses_head_and_batches():
    ds = load_dataset("moses", limit=3)
    assert isinstance(ds, Dataset)
    assert ds.inputs == [
        "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
        "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
        "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO",
    ]
    assert len(ds) == 3 and ds.info["limit"] == 3
    stream = load_dataset("moses_test")
    first = next(iter(stream))
    assert first == "CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1"
    assert next(iter_moses("test")) == first
    batches = stream.batches(100000)
    assert [len(next(batches)), len(next(batches))] == [100000, 76074]
    with pytest.raises(DataError, match="unknown MOSES split 'valid'"):
        iter_moses("valid")


def test_expt_gap_file_order_and_values():
    ds = load_dataset("matbench_expt_gap")
    assert ds.inputs[:3] == ["Ag(AuS)2", "Ag(W3Br7)2", "Ag0.5Ge1Pb1.75S4"]
    assert ds.inputs[-1] == "ZrW2"
    assert ds.kind == "composition" and ds.task == "regression"
    assert ds.info["units"] == "eV"
    assert math.isclose(float(ds.targets.sum()), 4493.28, rel_tol=1e-9)


def test_nan_prefixed_formulas_stay_text():
    ds = load_dataset("matbench_expt_is_metal")
    assert {"NaNO2", "NaNb2PS10", "NaNbSe2O7", "NaNi2O3"} <= set(ds.inputs)
    assert ds.task == "classification" and ds.info["classes"] == ["0", "1"]
    assert int(ds.targets.sum()) == 2451


def test_oqmd_keeps_its_split():
    ds = load_dataset("oqmd_bandgap")
    split = ds.extra["split"]
    assert [split.count(s) for s in ("train", "val", "test")] == [239125, 51241, 51242]
    assert [f["path"] for f in ds.info["files"]] == [
        "crabnet/data/benchmark_data/OQMD_Bandgap/train.csv",
        "crabnet/data/benchmark_data/OQMD_Bandgap/val.csv",
        "crabnet/data/benchmark_data/OQMD_Bandgap/test.csv",
    ]
    assert [f["rows"] for f in ds.info["files"]] == [239125, 51241, 51242]


def test_limit_reads_the_first_rows():
    ds = load_dataset("oqmd_bandgap", limit=5)
    assert ds.inputs == ["Co12Mn5Nd2", "Mo3Nb1", "Ni1Sb1Sc1Ti1", "Mo1Te2Yb1", "Ir1Te1Tl1"]
    assert ds.extra == {"split": ["train"] * 5}
    assert ds.info["limit"] == 5
    with pytest.raises(DataError, match="limit must be a positive integer, got 0"):
        load_dataset("esol", limit=0)


def test_solubility_classes_from_sdf():
    ds = load_dataset("solubility_classes")
    assert ds.info["classes"] == ["(A) low", "(B) medium", "(C) high"]
    assert np.bincount(ds.targets).tolist() == [519, 517, 246]
    assert [ds.extra["split"].count(s) for s in ("train", "test")] == [1025, 257]
    assert ds.inputs[:3] == ["CCCCC", "C1CCCC1", "CCCCCC"]
    assert ds.extra["SOL"][:3] == [-3.18, -2.64, -3.84]
    assert ds.extra["NAME"][:2] == ["n-pentane", "cyclopentane"]
    # SMILES are written from the molecule blocks: the files' own SMILES property has invalid ones
    assert "c1ccc2c(c1)[nH]c1ccccc12" in ds.inputs


def test_moleculeace_extras():
    ds = load_dataset("moleculeace_CHEMBL2047_EC50")
    assert ds.extra["split"].count("train") == 503
    assert sum(ds.extra["cliff_mol"]) == 245
    assert ds.extra["exp_mean [nM]"][0] == 3000.0
    assert math.isclose(ds.targets[0], -math.log10(3000.0))


@pytest.mark.parametrize(
    "name", ["esol", "freesolv", "lipophilicity", "matbench_expt_gap", "solubility_classes"]
)
def test_named_inputs_are_valid(name):
    ds = load_dataset(name, validate=True)
    assert len(ds) == EXPECTED[name][0]


def test_canonical_smiles():
    ds = load_dataset("esol", canonical=True, limit=2)
    assert ds.inputs == ["N#CC(OC1OC(COC2OC(CO)C(O)C(O)C2O)C(O)C(O)C1O)c1ccccc1", "Cc1occc1C(=O)Nc1ccccc1"]
    assert ds.info["canonical"] is True


def test_named_target_column_override():
    ds = load_dataset("esol", target_col="ESOL predicted log solubility in mols per litre", limit=1)
    assert ds.targets.tolist() == [-0.9740000000000001]
    with pytest.raises(DataError, match=r"no column 'nope'; the columns are 'Compound ID'"):
        load_dataset("esol", target_col="nope")


def test_named_target_override_detects_its_task():
    ds = load_dataset("solubility_classes", target_col="SOL")
    assert ds.task == "regression" and ds.targets[:3].tolist() == [-3.18, -2.64, -3.84]
    assert "classes" not in ds.info
    ace = load_dataset("moleculeace_CHEMBL2047_EC50", target_col="cliff_mol")
    assert ace.task == "classification" and int(ace.targets.sum()) == 245


def test_kind_mismatch_on_named_dataset():
    with pytest.raises(DataError) as info:
        load_dataset("esol", kind="composition")
    assert str(info.value) == "dataset 'esol' holds smiles inputs, not composition (drop --kind)"


def test_unknown_name():
    with pytest.raises(DataError) as info:
        load_dataset("mydata")
    assert (
        str(info.value)
        == "unknown dataset 'mydata' (`chemtl datasets list` shows all; a file needs its path)"
    )


def test_errors_name_a_registered_dataset_not_its_path_in_site_packages(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("esol", target_col="Compound ID")
    assert str(info.value) == (
        "dataset 'esol': all 1128 rows are invalid "
        "(first: row 1, column 'Compound ID': target 'Amigdalin' is not a number)"
    )
    with pytest.raises(DataError) as info:
        load_dataset("esol", input_col="nope")
    assert str(info.value).startswith("dataset 'esol': no column 'nope'; the columns are 'Compound ID', ")
    own = tmp_path / "esol.csv"  # a user's own file keeps its path, even under a registered name
    own.write_text("smiles,target\nCCO,1.0\n")
    with pytest.raises(DataError) as info:
        load_dataset(own, input_col="nope")
    assert str(info.value) == f"{own}: no column 'nope'; the columns are 'smiles', 'target'"
