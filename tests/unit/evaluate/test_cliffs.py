"""MoleculeACE's activity-cliff definition: exact similarities of hand-made pairs, the strict
10-fold rule, the cliff molecules of a set, agreement with the shipped ``cliff_mol`` column, and
the cliff RMSE."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.cliffs import (
    cliff_matrix,
    cliff_molecules,
    cliff_rmse,
    fold_difference,
    is_cliff_pair,
    is_similar_pair,
    levenshtein_similarity,
    scaffold_similarity,
    similarities,
    tanimoto_similarity,
)

PROCAINAMIDE = "CCN(CC)CCNC(=O)c1ccc(N)cc1"
PROCAINE = "CCN(CC)CCOC(=O)c1ccc(N)cc1"  # one atom changed: the amide N becomes an ester O


def test_near_identical_pair_similarities_are_exact():
    # 26 characters each, one substitution; 22 of 39 ECFP4 bits shared; the generic graphs are one
    assert similarities(PROCAINAMIDE, PROCAINE) == {
        "tanimoto": 22 / 39,
        "scaffold": 1.0,
        "levenshtein": 1 - 1 / 26,
    }
    assert is_similar_pair(PROCAINAMIDE, PROCAINE)


def test_a_near_identical_pair_fifty_fold_apart_is_a_cliff():
    assert fold_difference(1.0, 50.0) == 50.0 and fold_difference(50.0, 1.0) == 50.0
    assert is_cliff_pair(PROCAINAMIDE, PROCAINE, 1.0, 50.0)
    assert is_cliff_pair(PROCAINAMIDE, PROCAINE, 50.0, 1.0)


def test_the_same_pair_with_a_small_potency_difference_is_not():
    assert not is_cliff_pair(PROCAINAMIDE, PROCAINE, 1.0, 5.0)
    # exactly ten-fold is not a cliff: more than ten-fold is (MoleculeACE's find_cliffs, ">")
    assert not is_cliff_pair(PROCAINAMIDE, PROCAINE, 2.0, 20.0)
    assert is_cliff_pair(PROCAINAMIDE, PROCAINE, 2.0, 20.5)


def test_dissimilar_structures_far_apart_in_potency_are_not_a_cliff():
    assert similarities("CCO", "c1ccccc1") == {"tanimoto": 0.0, "scaffold": 0.0, "levenshtein": 0.0}
    assert not is_cliff_pair("CCO", "c1ccccc1", 1.0, 1000.0)


def test_each_measure_alone_makes_a_pair_similar():
    # the "scaffold" is the generic graph of the whole molecule: naphthalene and decalin share it
    assert tanimoto_similarity("c1ccc2ccccc2c1", "C1CCC2CCCCC2C1") == 0.0
    assert scaffold_similarity("c1ccc2ccccc2c1", "C1CCC2CCCCC2C1") == 1.0
    assert is_cliff_pair("c1ccc2ccccc2c1", "C1CCC2CCCCC2C1", 1.0, 100.0)
    # the same molecule written two ways: Tanimoto 1, the strings far apart
    assert tanimoto_similarity("OCC", "CCO") == 1.0 and levenshtein_similarity("OCC", "CCO") == 1 - 2 / 3
    # the strings close, the fingerprints not: paracetamol and methacetin
    assert levenshtein_similarity("CC(=O)Nc1ccc(O)cc1", "CC(=O)Nc1ccc(OC)cc1") == 1 - 1 / 19
    assert tanimoto_similarity("CC(=O)Nc1ccc(O)cc1", "CC(=O)Nc1ccc(OC)cc1") == 15 / 26


def test_cliff_molecules_of_a_small_set():
    smiles = [PROCAINAMIDE, PROCAINE, "CCO", "c1ccccc1"]
    potencies = [1.0, 50.0, 1.0, 1000.0]
    matrix = cliff_matrix(smiles, potencies)
    assert matrix.tolist() == [
        [False, True, False, False],
        [True, False, False, False],
        [False, False, False, False],
        [False, False, False, False],
    ]
    assert cliff_molecules(smiles, potencies).tolist() == [True, True, False, False]
    assert cliff_molecules(smiles, [1.0, 5.0, 1.0, 1000.0]).tolist() == [False] * 4


def test_bad_potencies_are_one_line_errors():
    with pytest.raises(ChemtlError, match=r"row 2: potency -1\.0 is not a positive number"):
        cliff_molecules(["CCO", "CCN"], [1.0, -1.0])
    with pytest.raises(ChemtlError, match="2 SMILES but 3 potencies"):
        cliff_molecules(["CCO", "CCN"], [1.0, 2.0, 3.0])
    with pytest.raises(ChemtlError, match="positive finite potencies, got 0.0 and 1.0"):
        fold_difference(0.0, 1.0)
    with pytest.raises(ChemtlError, match="cannot parse SMILES 'C1CC'"):
        tanimoto_similarity("C1CC", "CCO")


def test_cliff_rmse_scores_the_flagged_rows_only():
    y, p = [1.0, 2.0, 3.0, 4.0], [1.0, 2.5, 3.0, 2.0]
    assert cliff_rmse(y, p, [0, 1, 0, 1]) == np.sqrt((0.25 + 4.0) / 2)
    assert cliff_rmse(y, p, [False, False, True, False]) == 0.0
    assert cliff_rmse(y, p, [0, 0, 0, 0]) is None
    with pytest.raises(ChemtlError, match="three equal-length vectors"):
        cliff_rmse(y, p, [1, 0])


def test_isotope_labels_survive_the_generic_graph():
    """As in the RDKit that made MoleculeACE's labels; current MakeScaffoldGeneric resets them."""
    from rdkit import Chem, DataStructs

    from chemtl.evaluate.cliffs import _generator, generic_graph

    labelled, plain = "CCOc1ccc([18F])cc1", "CCOc1ccc(F)cc1"
    assert similarities(labelled, plain) == {"tanimoto": 1.0, "scaffold": 13 / 21, "levenshtein": 1 - 4 / 18}
    assert Chem.MolToSmiles(generic_graph(Chem.MolFromSmiles(labelled))) == "CCCC1CCC([18CH3])CC1"
    reset = [generic_graph(Chem.MolFromSmiles(s), keep_isotopes=False) for s in (labelled, plain)]
    assert Chem.MolToSmiles(reset[0]) == "CCCC1CCC(C)CC1"
    fps = [_generator().GetFingerprint(m) for m in reset]
    assert DataStructs.TanimotoSimilarity(*fps) == 1.0


def test_cliff_molecules_reproduce_the_shipped_column_of_a_registered_set():
    """MoleculeACE labelled cliffs on the whole set (train and test together) from ``exp_mean [nM]``.
    On CHEMBL2835_Ki (615 molecules) every label agrees; so it does on all 30 sets (48,714
    molecules, measured with RDKit 2026.09; resetting isotope labels in the generic graph, as
    current RDKit does, would flag five isotope-labelled molecules more)."""
    from chemtl.data import load_dataset

    ds = load_dataset("moleculeace_CHEMBL2835_Ki")
    got = cliff_molecules(ds.inputs, ds.extra["exp_mean [nM]"])
    shipped = np.asarray(ds.extra["cliff_mol"]) == 1
    assert len(got) == 615 and int(got.sum()) == 60 and int(shipped.sum()) == 60
    assert (got == shipped).all()


@pytest.mark.slow
def test_cliff_molecules_reproduce_the_shipped_column_of_all_30_sets():
    """Every one of the 48,714 labels (about 5 minutes on 2 cores)."""
    from chemtl.data import load_dataset
    from chemtl.data.registry import family_members

    differing, total = {}, 0
    for name in sorted(family_members("moleculeace")):
        ds = load_dataset(name)
        got = cliff_molecules(ds.inputs, ds.extra["exp_mean [nM]"])
        differing[name] = int((got != (np.asarray(ds.extra["cliff_mol"]) == 1)).sum())
        total += len(ds)
    assert total == 48714 and len(differing) == 30
    assert sum(differing.values()) == 0, differing
