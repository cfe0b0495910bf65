"""Generation metrics (MOSES for molecules; validity, novelty, SMACT for compositions) on hand-computed
examples, and the random composition baseline."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from chemtl.chem.composition import parse_composition
from chemtl.data.keys import composition_key
from chemtl.evaluate import generation as gen


def rdkit_tanimoto(a: str, b: str) -> float:
    """RDKit's own Tanimoto of Morgan radius-2 1024-bit vectors (a path independent of ours)."""
    fp = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    return DataStructs.TanimotoSimilarity(
        fp.GetFingerprint(Chem.MolFromSmiles(a)), fp.GetFingerprint(Chem.MolFromSmiles(b))
    )


def mols(smiles):
    return [Chem.MolFromSmiles(s) for s in smiles]


# --------------------------------------------------------------------------------------------
# molecules


def test_validity_uniqueness_novelty_on_a_small_list():
    smiles = ["CCO", "OCC", "c1ccccc1", "C1=CC=CC=C1", "CC(C", "", "CN"]
    m = gen.molecule_metrics(smiles, train=["CCO", "NC"], test=None, fcd=False)
    assert (m["n"], m["n_valid"], m["n_unique"]) == (7, 5, 3)
    assert m["validity"] == 5 / 7
    # canonical valid: CCO CCO c1ccccc1 c1ccccc1 CN -> 3 distinct of 5
    assert m["unique@1000"] == m["unique@10000"] == 3 / 5
    assert m["notes"] == [
        "unique@1000 on 5 valid samples (fewer than 1000), as MOSES does",
        "unique@10000 on 5 valid samples (fewer than 10000), as MOSES does",
    ]
    # distinct valid {CCO, c1ccccc1, CN}; the train set (canonicalised) holds CCO and CN
    assert m["novelty"] == 1 / 3
    assert "SNN" not in m and "Frag" not in m and "FCD" not in m
    assert m["fcd_note"] == "FCD skipped (fcd=False)"


def test_novelty_compares_a_canonical_train_set_as_written():
    m = gen.molecule_metrics(["OCC", "CN"], train=["OCC"], test=None, train_canonical=True, fcd=False)
    assert m["novelty"] == 1.0  # "OCC" is not the canonical "CCO", so nothing matches
    assert gen.molecule_metrics(["OCC", "CN"], train=["OCC"], test=None, fcd=False)["novelty"] == 0.5


def test_unique_at_k_uses_the_first_k_valid():
    smiles = ["C"] * 600 + ["CC"] * 400 + [f"{'C' * i}O" for i in range(1, 11)]
    m = gen.molecule_metrics(smiles, train=None, test=None, fcd=False)
    assert m["unique@1000"] == 2 / 1000
    assert m["unique@10000"] == 12 / 1010
    assert "novelty" not in m


def test_no_valid_sample():
    m = gen.molecule_metrics(["C(", "xyz"], train=["C"], test=["CCO", "CCN"], fcd=False)
    assert m["validity"] == 0.0 and m["n_valid"] == 0
    for key in ("unique@1000", "novelty", "IntDiv1", "IntDiv2", "filters", "SNN", "Frag", "Scaf"):
        assert m[key] is None, key


def test_internal_diversity_against_rdkit_tanimoto():
    a, b, c = "CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"
    t = {(x, y): rdkit_tanimoto(x, y) for x in (a, b, c) for y in (a, b, c)}
    assert t[(a, a)] == 1.0
    fps = gen.fingerprints(mols([a, b, c]))
    # all ordered pairs, the three self-pairs included
    int_div1 = 1 - sum(t.values()) / 9
    int_div2 = 1 - sum(math.sqrt(sum(t[(x, y)] ** 2 for y in (a, b, c)) / 3) for x in (a, b, c)) / 3
    assert gen.internal_diversity(fps, 1) == pytest.approx(int_div1, abs=1e-6)
    assert gen.internal_diversity(fps, 2) == pytest.approx(int_div2, abs=1e-6)
    m = gen.molecule_metrics([a, b, c], train=None, test=None, fcd=False)
    assert m["IntDiv1"] == pytest.approx(int_div1, abs=1e-6)
    assert m["IntDiv2"] == pytest.approx(int_div2, abs=1e-6)
    # one molecule twice: no diversity
    assert gen.internal_diversity(gen.fingerprints(mols([a, a])), 1) == pytest.approx(0.0, abs=1e-7)


def test_two_empty_fingerprints_are_similar():
    x = np.zeros((2, 4), dtype=np.uint8)
    y = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.uint8)
    assert gen.tanimoto_matrix(x[:1], y).tolist() == [[0.0, 1.0]]
    assert gen.tanimoto_matrix(y, y).tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_snn_against_rdkit_tanimoto():
    generated, reference = ["CCO", "c1ccccc1O"], ["CCN", "Cc1ccccc1O", "CCCO"]
    want = np.mean([max(rdkit_tanimoto(g, r) for r in reference) for g in generated])
    got = gen.snn(gen.fingerprints(mols(generated)), gen.fingerprints(mols(reference)))
    assert got == pytest.approx(want, abs=1e-6)
    m = gen.molecule_metrics(generated, train=None, test=reference, fcd=False)
    assert m["SNN"] == pytest.approx(want, abs=1e-6)


def test_brics_fragments_and_frag_cosine():
    assert gen.brics_fragments(mols(["CCOc1ccccc1", "CCO"])) == Counter(
        {"[16*]c1ccccc1": 1, "[3*]O[3*]": 1, "[4*]CC": 1, "CCO": 1}
    )
    # gen {benzene: 2, CCO: 1}, ref {benzene: 1, CCO: 2}: (2 + 2) / (sqrt 5 sqrt 5)
    generated, reference = ["c1ccccc1", "c1ccccc1", "CCO"], ["c1ccccc1", "CCO", "OCC"]
    m = gen.molecule_metrics(generated, train=None, test=reference, test_scaffolds=generated, fcd=False)
    assert m["Frag"] == pytest.approx(0.8)
    assert m["Frag/TestSF"] == pytest.approx(1.0)


def test_scaffolds_need_two_rings_and_scaf_cosine():
    generated = ["c1ccc2ccccc2c1", "Cc1ccc2ccccc2c1", "Cc1ccccc1", "CCO"]
    assert gen.scaffolds(mols(generated)) == Counter({"c1ccc2ccccc2c1": 2})  # benzene has one ring
    reference = ["c1ccc2ccccc2c1", "c1ccc(-c2ccccc2)cc1"]
    m = gen.molecule_metrics(generated, train=None, test=reference, fcd=False)
    assert m["Scaf"] == pytest.approx(1 / math.sqrt(2))  # (2, 0) . (1, 1) / (2 sqrt 2)
    # no scaffold on one side: undefined (MOSES: NaN), None here
    assert gen.molecule_metrics(["CCO"], train=None, test=reference, fcd=False)["Scaf"] is None
    assert gen.cosine_similarity(Counter(), Counter({"a": 1})) is None


def test_filters_flag_a_pains_hit_and_the_moses_rules():
    n_mcf, n_pains = gen.filter_patterns()
    assert (n_mcf, n_pains) == (22, 480)
    patterns, _, _ = gen._filter_patterns()
    rhodanine = Chem.MolFromSmiles("S=C1SC(=Cc2ccccc2)C(=O)N1")  # 5-benzylidene rhodanine: PAINS ene_rhod_A
    hits = [i for i, p in enumerate(patterns) if Chem.AddHs(rhodanine).HasSubstructMatch(p)]
    assert hits == [n_mcf + 474]
    assert gen.passes_filters(rhodanine) is False
    assert gen.passes_filters(Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1")) is True  # paracetamol
    assert gen.passes_filters(Chem.MolFromSmiles("C[N+](C)(C)C")) is False  # charged
    assert gen.passes_filters(Chem.MolFromSmiles("C[Si](C)(C)C")) is False  # Si not allowed
    assert gen.passes_filters(Chem.MolFromSmiles("C1CCCCCCC1")) is False  # an 8-membered ring
    m = gen.molecule_metrics(
        ["S=C1SC(=Cc2ccccc2)C(=O)N1", "CC(=O)Nc1ccc(O)cc1", "CCOC(=O)c1ccccc1", "C["],
        train=None,
        test=None,
        fcd=False,
    )
    assert m["filters"] == 2 / 3


@pytest.mark.slow  # loads ChemNet: about 10 s here
def test_fcd_of_a_set_against_itself_is_zero():
    pytest.importorskip("fcd_torch")
    a = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "O=C(O)c1ccccc1"]
    m = gen.molecule_metrics(a, train=None, test=a, test_scaffolds=["CCCCCC", "CCCCCCC", "CCCCCCCC"])
    assert m["FCD"] == pytest.approx(0.0, abs=1e-3)
    assert m["FCD/TestSF"] > 1.0
    assert "fcd_note" not in m


def test_moses_charrnn_row():
    r = gen.MOSES_CHARRNN
    assert (r["validity"], r["unique@10000"], r["novelty"], r["IntDiv1"], r["filters"]) == (
        0.975, 0.999, 0.842, 0.856, 0.994,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# compositions


def test_composition_validity_uniqueness_novelty():
    formulas = ["NaCl", "ClNa", "Na2Cl2", "Fe2O3", "Xy2", "KBr"]
    m = gen.composition_metrics(formulas, train=["NaCl"], labelled=["Fe4O6", "not a formula"])
    assert (m["n"], m["n_valid"], m["n_unique"]) == (6, 5, 3)
    assert m["validity"] == 5 / 6
    assert m["uniqueness"] == 3 / 5  # NaCl three times, Fe2O3, KBr
    assert m["novelty"] == 2 / 3  # Fe2O3 and KBr of {NaCl, Fe2O3, KBr}
    assert m["in_labelled"] == 1 / 3  # Fe4O6 is Fe2O3
    # element sets {Na,Cl} x3, {Fe,O}, {K,Br}: 3 distinct of 5; of the 10 pairs 3 identical, 7 disjoint
    assert m["element_set_diversity"] == 3 / 5
    assert m["element_set_jaccard"] == pytest.approx(0.7)
    assert m["smact_valid"] == m["smact_valid_no_alloys"] == 1.0
    assert m["smact_version"] == "4.0.2"


def test_train_keys_replace_train():
    m = gen.composition_metrics(
        ["NaCl", "KBr"], train=None, labelled=None, train_keys={composition_key("Cl2Na2")}
    )
    assert m["novelty"] == 0.5 and "in_labelled" not in m


def test_element_set_jaccard_partial_overlap():
    sets = [frozenset({"Na", "Cl"}), frozenset({"Na", "Cl", "O"}), frozenset({"Fe"})]
    assert gen.element_set_jaccard(sets) == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert gen.element_set_jaccard(sets[:1]) is None


def test_smact_on_salts_and_an_alloy():
    assert gen.smact_valid("NaCl", True) is True
    assert gen.smact_valid("NaCl2", True) is False  # no charge-neutral oxidation states
    assert gen.smact_valid("Fe3Ni", True) is True  # all metal: valid when alloys count
    assert gen.smact_valid("Fe3Ni", False) is False  # else no neutral combination
    m = gen.composition_metrics(["NaCl", "NaCl2", "Fe3Ni", "Fe3Ni"], train=None, labelled=None)
    assert (m["smact_valid"], m["smact_valid_no_alloys"]) == (3 / 4, 1 / 4)


def test_a_key_that_does_not_read_back_falls_back_to_the_formula():
    formula = "Fe0.9999312Nb0.0000688"
    assert composition_key(formula) == "Nb6.9e-05Fe0.999931"  # pymatgen's writing: not a formula here
    m = gen.composition_metrics([formula, "Fe0.9999312Nb0.0000688C0.1"], train=None, labelled=None)
    assert m["element_set_jaccard"] == pytest.approx(1 / 3) and m["element_set_diversity"] == 1.0
    assert (m["smact_valid"], m["smact_valid_no_alloys"]) == (0.5, 0.0)  # the Fe-Nb alloy only
    assert gen.corpus_statistics([formula, "NaCl"])["amounts"] == Counter({1: 2})


def test_smact_leaves_a_huge_stoichiometry_unchecked():
    assert gen.smact_checkable({"Na": 1, "Cl": 1}) and gen.smact_checkable({"Fe": 1000, "O": 1000})
    assert not gen.smact_checkable({"Fe": 40, "Ni": 30, "Co": 20, "Cr": 10})  # 40**4 > 10**6
    m = gen.composition_metrics(["NaCl", "Fe40Ni30Co20Cr10O7"], train=None, labelled=None)
    assert (m["smact_valid"], m["smact_valid_no_alloys"], m["smact_unchecked"]) == (1.0, 1.0, 1)


def test_smact_leaves_too_many_oxidation_state_combinations_unchecked():
    many = {
        "Ti": 1,
        "Mn": 1,
        "Nb": 2,
        "Al": 2,
        "V": 1,
        "Cr": 1,
        "Fe": 1,
        "Co": 1,
        "Si": 1,
        "Ni": 1,
        "Mo": 2,
        "C": 1,
    }
    assert not gen.smact_checkable(many)  # a random baseline formula that ran for 20 minutes
    assert gen.smact_checkable({"Li": 1, "Fe": 1, "P": 1, "O": 4})


def test_smact_leaves_an_element_it_has_no_data_for_unchecked():
    assert gen.smact_valid("RfO2", include_alloys=True) is None  # smact 4.0: no data beyond Lr
    m = gen.composition_metrics(["NaCl", "RfO2"], train=None, labelled=None)
    assert (m["smact_valid"], m["smact_unchecked"]) == (1.0, 1)


def test_smact_scales_fractional_amounts():
    assert gen._integer_amounts(("Na", "Cl"), (1.0, 1.0)) == {"Na": 1, "Cl": 1}
    assert gen._integer_amounts(("Fe", "Ni"), (0.7071, 0.2929)) == {"Fe": 71, "Ni": 29}


# --------------------------------------------------------------------------------------------
# the random composition baseline

CORPUS = ["NaCl", "KCl", "NaBr", "LiF", "Fe", "Cu", "Fe2O3", "NaClO3", "LiFePO4", "CaTiO3"]


def holding(formulas: list[str]) -> dict[str, float]:
    counts = Counter(e for f in formulas for e in parse_composition(f).elements)
    return {e: c / len(formulas) for e, c in counts.items()}


def test_random_baseline_reproduces_corpus_element_frequencies():
    samples = gen.random_composition_baseline(CORPUS, 6000, seed=0)
    assert len(samples) == 6000
    want, got = holding(CORPUS), holding(samples)
    assert set(got) == set(want)  # only the corpus' elements
    for element, fraction in want.items():
        assert got[element] == pytest.approx(fraction, abs=0.025), element
    # element counts: 2 of 10 unary, 5 binary, 2 ternary, 1 quaternary
    sizes = Counter(len(parse_composition(f).elements) for f in samples)
    for k, fraction in {1: 0.2, 2: 0.5, 3: 0.2, 4: 0.1}.items():
        assert sizes[k] / 6000 == pytest.approx(fraction, abs=0.025)
    # amounts come from the corpus' integer amounts (1 to 4 here), reduced by pymatgen
    assert all(max(parse_composition(f).amounts) <= 4 for f in samples)


def test_random_baseline_is_seeded():
    a = gen.random_composition_baseline(CORPUS, 50, seed=3)
    assert a == gen.random_composition_baseline(CORPUS, 50, seed=3)
    assert a != gen.random_composition_baseline(CORPUS, 50, seed=4)


def test_systematic_sample_has_exact_inclusion_probabilities():
    rng = np.random.default_rng(0)
    pi = np.array([1.0, 0.5, 0.25, 0.25])
    draws = [gen._systematic_sample(pi, rng) for _ in range(4000)]
    assert all(len(set(d.tolist())) == 2 for d in draws)  # always k = sum(pi) = 2 distinct
    counts = Counter(i for d in draws for i in d.tolist())
    assert counts[0] == 4000  # inclusion probability 1: always in
    assert counts[1] / 4000 == pytest.approx(0.5, abs=0.03)
    assert counts[2] / 4000 == pytest.approx(0.25, abs=0.03)


# --------------------------------------------------------------------------------------------
# conditioning


def test_conditioning_summary_by_hand():
    edges = [0.0, 1.0]  # bins (-inf, 0], (0, 1], (1, inf)
    out = gen.conditioning_summary(
        edges,
        {0: [0.0, 0.0, 0.4], 1: [0.2, 0.6, 1.4, 0.9], 2: [0.5, 0.7, 3.0]},
        unconditioned=[0.1, 0.3, 2.0],
        control={0: [0.0, 0.1], 1: [], 2: [2.0]},
    )
    assert out["edges"] == [0.0, 1.0]
    assert out["unconditioned"] == {
        "n": 3,
        "median": 0.3,
        "median_bin": 1,
        "bin_fractions": [0.0, 2 / 3, 1 / 3],
    }
    b0, b1, b2 = out["bins"][0], out["bins"][1], out["bins"][2]
    assert (b0["median"], b0["median_bin"], b0["in_bin"], b0["fraction_in_bin"]) == (0.0, 0, True, 2 / 3)
    assert b0["shift"] == pytest.approx(-0.3)
    assert (b1["median"], b1["median_bin"], b1["in_bin"], b1["fraction_in_bin"]) == (0.75, 1, True, 0.75)
    assert b1["bin_fractions"] == [0.0, 0.75, 0.25]
    assert (b2["median"], b2["median_bin"], b2["in_bin"], b2["fraction_in_bin"]) == (0.7, 1, False, 1 / 3)
    assert out["all_in_bin"] is False and out["bins_in_bin"] == 2
    assert out["control"][0]["median"] == 0.05 and out["control"][0]["median_bin"] == 1
    assert out["control"][1] == {"n": 0, "median": None, "median_bin": None}
    assert out["control"][2]["in_bin"] is True


def test_conditioning_summary_without_valid_samples_has_no_verdict():
    out = gen.conditioning_summary([0.0], {0: [], 1: [0.5]}, unconditioned=[0.5])
    assert out["bins"][0] == {"n": 0, "median": None, "median_bin": None}
    assert out["all_in_bin"] is None and out["bins_in_bin"] == 1 and "control" not in out
