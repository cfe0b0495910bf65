"""Molecule features of the hybrid head (``--features``): RDKit descriptors, Morgan bits, and the
standardisation fitted on the training rows."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.data.features import (
    FeatureScaling,
    molecule_features,
    morgan_matrix,
    rdkit_descriptor_matrix,
    rdkit_descriptor_names,
)
from chemtl.errors import ChemtlError


def test_rdkit_descriptors_of_a_few_molecules():
    names = ["MolWt", "HeavyAtomCount", "NumHDonors", "RingCount", "TPSA"]
    x = rdkit_descriptor_matrix(["CCO", "c1ccccc1O"], names)
    assert x.dtype == np.float64
    assert np.allclose(x, [[46.069, 3.0, 1.0, 0.0, 20.23], [94.113, 7.0, 1.0, 1.0, 20.23]], rtol=0, atol=1e-9)
    all_names = rdkit_descriptor_names()
    assert len(all_names) == 217 and all_names[:2] == ["MaxAbsEStateIndex", "MaxEStateIndex"]
    assert rdkit_descriptor_matrix(["CCO"]).shape == (1, 217)


def test_a_descriptor_the_installed_rdkit_lacks_is_a_one_line_error():
    with pytest.raises(ChemtlError) as info:
        rdkit_descriptor_matrix(["CCO"], ["MolWt", "NoSuchDescriptor"])
    assert str(info.value) == (
        "RDKit descriptor(s) NoSuchDescriptor are not in the installed RDKit; the model was trained "
        "with another RDKit version"
    )


def test_molecule_features_by_kind():
    # SELFIES are decoded to SMILES first: the same molecule, the same row
    assert molecule_features(["[C][C][O]"], "selfies", "rdkit", ["MolWt"]).tolist() == [[46.069]]
    bits = molecule_features(["CCO"], "smiles", "morgan")
    assert bits.shape == (1, 2048) and np.array_equal(bits, morgan_matrix(["CCO"]))
    assert np.flatnonzero(bits[0]).tolist() == [80, 222, 294, 807, 1057, 1410]
    with pytest.raises(
        ChemtlError, match="features 'morgan' needs SMILES or SELFIES inputs, not compositions"
    ):
        molecule_features(["NaCl"], "composition", "morgan")
    with pytest.raises(ChemtlError, match="features 'ecfp' is not one of morgan, rdkit"):
        molecule_features(["CCO"], "smiles", "ecfp")


def test_scaling_is_numpy_mean_and_std_of_the_rows_it_is_fitted_on():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(10, 4))
    x[:, 2] = 5.0  # no spread: std 1
    x[7, 1] = np.nan  # a missing value: left out of its column's statistics
    x[:, 3] = np.nan  # a column without values: mean 0, std 1
    train = x[:8]
    s = FeatureScaling.fit(train)
    # numpy's mean and std (ddof 0), to the last bit or so (nanmean sums in another order)
    assert s.mean[:2] == pytest.approx([np.mean(train[:, 0]), np.mean(train[:7, 1])], rel=1e-14)
    assert s.std[:2] == pytest.approx([np.std(train[:, 0]), np.std(train[:7, 1])], rel=1e-14)
    assert (s.mean[2:].tolist(), s.std[2:].tolist()) == ([5.0, 0.0], [1.0, 1.0])
    # the other rows never enter the statistics
    other = x.copy()
    other[8:] = 1e6
    assert np.array_equal(FeatureScaling.fit(other[:8]).mean, s.mean)
    z = s.transform(x)
    assert z.dtype == np.float32
    assert z[0, 0] == np.float32((x[0, 0] - s.mean[0]) / s.std[0])
    assert (z[7, 1], z[0, 2], z[0, 3]) == (0.0, 0.0, 0.0)  # missing -> the training mean
    # a row far outside the training spread is clipped at SCALED_CLIP standard deviations
    from chemtl.data.features import SCALED_CLIP

    far = s.transform(np.array([[s.mean[0] + 1e9 * s.std[0], s.mean[1] - 1e9 * s.std[1], 5.0, np.nan]]))
    assert far.tolist() == [[SCALED_CLIP, -SCALED_CLIP, 0.0, 0.0]] and SCALED_CLIP == 6.0
    assert FeatureScaling.identity(3).transform(np.array([[0.0, 1.0, np.nan]])).tolist() == [[0.0, 1.0, 0.0]]


ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_the_pretraining_descriptor_set_of_three_molecules():
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    from chemtl.data.features import PRETRAIN_DESCRIPTORS

    assert len(PRETRAIN_DESCRIPTORS) == 178 and len(set(PRETRAIN_DESCRIPTORS)) == 178
    # RDKit's own order, without the costly ones
    order = rdkit_descriptor_names()
    assert [order.index(n) for n in PRETRAIN_DESCRIPTORS] == sorted(
        order.index(n) for n in PRETRAIN_DESCRIPTORS
    )
    for costly in (
        "qed",
        "BertzCT",
        "SPS",
        "Ipc",
        "AvgIpc",
        "MaxEStateIndex",
        "BCUT2D_MWHI",
        "FpDensityMorgan2",
    ):
        assert costly not in PRETRAIN_DESCRIPTORS
    x = rdkit_descriptor_matrix(["CCO", "c1ccccc1", ASPIRIN], PRETRAIN_DESCRIPTORS)
    assert x.shape == (3, 178)
    column = {n: x[:, PRETRAIN_DESCRIPTORS.index(n)].tolist() for n in PRETRAIN_DESCRIPTORS}
    assert column["MolWt"] == [46.069, 78.11399999999999, 180.15899999999996]
    assert column["TPSA"] == [20.23, 0.0, 63.60000000000001]
    assert column["NumHDonors"] == [1.0, 0.0, 1.0]
    assert column["NumHAcceptors"] == [1.0, 0.0, 3.0]
    assert column["RingCount"] == [0.0, 1.0, 1.0]
    assert column["fr_ester"] == [0.0, 0.0, 1.0]
    # exactly what RDKit's CalcMolDescriptors gives, computed for the set's descriptors only
    full = Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(ASPIRIN))
    assert x[2].tolist() == [full[n] for n in PRETRAIN_DESCRIPTORS]


def test_descriptor_targets_are_standardised_with_the_rows_they_are_fitted_on(tmp_path):
    from chemtl.data.features import DescriptorTargets

    names = ["MolWt", "NumHDonors"]
    # an unreadable row counts as missing: it does not enter the statistics
    targets = DescriptorTargets.fit(["CCO", "c1ccccc1", "not a smiles"], names)
    assert targets.names == ("MolWt", "NumHDonors") and targets.fit_rows == 3
    assert targets.scaling.mean.tolist() == [62.091499999999996, 0.5]  # (46.069 + 78.114) / 2
    assert targets.scaling.std.tolist() == [16.022499999999994, 0.5]
    y = targets([ASPIRIN, "CCO"])
    assert y.dtype == np.float32
    # aspirin's MolWt is 7.4 stds above: clipped at SCALED_CLIP; ethanol's is 1 std below
    assert y.tolist() == [[6.0, 1.0], [-1.0, 1.0]]
    # a descriptor RDKit cannot compute stays missing (NaN), so the loss skips it
    nan = DescriptorTargets(("MolWt",), FeatureScaling(np.array([np.inf]), np.array([1.0])), 1)
    assert np.isnan(nan(["CCO"])).tolist() == [[True]]
    with pytest.raises(ChemtlError, match="invalid SMILES 'C1CC'"):
        targets(["C1CC"])
    # saved as JSON and read back to the bit
    targets.save(tmp_path / "t.json")
    back = DescriptorTargets.load(tmp_path / "t.json")
    assert back.names == targets.names and back.fit_rows == 3
    assert np.array_equal(back.scaling.mean, targets.scaling.mean)
    assert np.array_equal(back.scaling.std, targets.scaling.std)
    (tmp_path / "bad.json").write_text('{"names": ["MolWt"]}')
    with pytest.raises(ChemtlError) as info:
        DescriptorTargets.load(tmp_path / "bad.json")
    assert str(info.value) == (
        f"{str(tmp_path / 'bad.json')!r}: not a descriptor-target file chemtl wrote (chemtl-descriptor-targets/1)"
    )
