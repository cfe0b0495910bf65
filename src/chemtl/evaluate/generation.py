"""Metrics of generated molecules and compositions, and a random composition baseline.

Molecules (``molecule_metrics``) follow MOSES (Polykovskiy et al. 2020) as its code computes them
(``moses/metrics/metrics.py`` and ``utils.py`` of molsets 0.3.1), rewritten with RDKit here because
molsets breaks on pandas 2; only its two filter files are read from the installed package, never
imported:

- validity: the fraction of samples RDKit parses and sanitises (chemtl's chem layer, which also
  refuses the empty string and white space inside a SMILES);
- unique@k: distinct canonical SMILES among the first k valid ones, over min(k, valid) (MOSES
  computes it on fewer than k with a warning; ``notes`` says so here);
- novelty: distinct valid canonical SMILES absent from the training set, over distinct valid ones;
- IntDiv1, IntDiv2: ``1 - mean_x (mean_y T(x, y)^p)^(1/p)`` over all ordered pairs of valid
  samples (duplicates and x = y included), T the Tanimoto similarity of Morgan radius-2 1024-bit
  fingerprints; for p = 2 this is MOSES's code, where the paper writes the root outside the mean;
- SNN: the mean over valid samples of the Tanimoto similarity to the nearest reference molecule;
- Frag, Scaf: cosine similarity of the counts of BRICS fragments (``FragmentOnBRICSBonds``) and of
  Bemis-Murcko scaffolds with at least two rings (MOSES's ``min_rings=2``) between the valid
  samples and the reference set;
- filters: the fraction of valid samples passing MOSES's filters: no ring of 8 atoms or more, no
  charged atom, only C N S O F Cl Br H, no match of the MCF or PAINS SMARTS (on the molecule with
  explicit hydrogens), and a SMILES that reads back;
- FCD: Frechet ChemNet Distance through ``fcd_torch`` (its ChemNet weights ship in the package;
  torch 2.13 loads them with ``weights_only=True``, torch's default). With fewer than 512
  molecules on a side the covariance is rank-deficient and fcd_torch's ``scipy.linalg.sqrtm``
  takes about 12 s per distance here (2 s at full rank).

Each similarity metric is given against ``test`` and, when given, ``test_scaffolds`` (``SNN/TestSF``
...). Every denominator is in the result (``n``, ``n_valid``, ``n_unique``).

Compositions (``composition_metrics``): validity by ``chemtl.chem.composition``; identity by
``chemtl.data.keys.composition_key`` (the reduced formula); uniqueness, novelty and the fraction in
labelled datasets on the same denominators as for molecules; element-set diversity as two numbers,
``element_set_diversity`` (distinct element sets over valid samples) and
``element_set_jaccard`` (the mean Jaccard distance between the element sets of all pairs of valid
samples, i < j); SMACT validity (``smact.screening.smact_validity``: charge neutrality with the
Pauling electronegativity test, its default ICSD-24 oxidation states) with ``include_alloys`` True
(all-metal compositions count as valid, smact's default) and False, over the valid samples smact
can check in reasonable time (``smact_checkable``; ``smact_unchecked`` counts the others).
"""

from __future__ import annotations

import csv
import importlib.metadata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np

# MOSES Table 2 (Polykovskiy et al., Front. Pharmacol. 11, 565644, 2020), CharRNN row, on the MOSES
# test set (TestSF: the scaffold test set).
MOSES_CHARRNN: dict[str, Any] = {
    "model": "CharRNN",
    "validity": 0.975,
    "unique@1000": 1.0,
    "unique@10000": 0.999,
    "FCD": 0.073,
    "FCD/TestSF": 0.520,
    "SNN": 0.601,
    "SNN/TestSF": 0.565,
    "Frag": 1.0,
    "Frag/TestSF": 0.998,
    "Scaf": 0.924,
    "Scaf/TestSF": 0.110,
    "IntDiv1": 0.856,
    "IntDiv2": 0.850,
    "filters": 0.994,
    "novelty": 0.842,
    "source": "Polykovskiy et al. 2020 (MOSES), Table 2, CharRNN, means over 3 runs of 30,000 samples",
}

FINGERPRINT_RADIUS = 2
FINGERPRINT_BITS = 1024
FILTER_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
SCAFFOLD_MIN_RINGS = 2
UNIQUE_AT = (1000, 10000)
_BLOCK = 2048


# --------------------------------------------------------------------------------------------
# molecules


def _mol(smiles: Any):
    from chemtl.chem.smiles import parse_smiles
    from chemtl.errors import InvalidSmilesError

    if not isinstance(smiles, str):
        return None
    try:
        return parse_smiles(smiles)
    except InvalidSmilesError:
        return None


def _canonical(mol) -> str:
    from rdkit import Chem

    return Chem.MolToSmiles(mol)


def fingerprints(mols: Sequence) -> np.ndarray:
    """Morgan radius-2 1024-bit fingerprints (MOSES's ``fingerprint(fp_type="morgan")``), (N, 1024) uint8."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=FINGERPRINT_RADIUS, fpSize=FINGERPRINT_BITS)
    if not mols:
        return np.zeros((0, FINGERPRINT_BITS), dtype=np.uint8)
    return np.stack([gen.GetFingerprintAsNumPy(m).astype(np.uint8) for m in mols])


def tanimoto_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarities of the bit rows of ``a`` against those of ``b`` (two empty
    fingerprints are similar 1, as in MOSES)."""
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    inter = (x @ y.T).astype(np.float64)  # bit counts: exact in float32, divided in float64
    union = x.sum(1, dtype=np.float64)[:, None] + y.sum(1, dtype=np.float64)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = inter / union
    sim[union == 0] = 1.0
    return sim


def _agg_tanimoto(ref: np.ndarray, gen: np.ndarray, agg: str, p: int = 1) -> float:
    """MOSES's ``average_agg_tanimoto``: for each generated row the max (or the mean of the p-th
    powers, then the p-th root) of its similarities to the reference rows; their mean."""
    per_gen = np.zeros(len(gen), dtype=np.float64)
    for i in range(0, len(gen), _BLOCK):
        g = gen[i : i + _BLOCK]
        acc = np.zeros(len(g), dtype=np.float64)
        for j in range(0, len(ref), _BLOCK):
            sim = tanimoto_matrix(ref[j : j + _BLOCK], g)
            if agg == "max":
                acc = np.maximum(acc, sim.max(0))
            else:
                acc += (sim**p).sum(0)
        if agg == "mean":
            acc = (acc / len(ref)) ** (1.0 / p)
        per_gen[i : i + _BLOCK] = acc
    return float(per_gen.mean())


def internal_diversity(fps: np.ndarray, p: int = 1) -> float:
    """IntDiv_p as MOSES computes it: ``1 - mean_x (mean_y T(x, y)^p)^(1/p)``, all ordered pairs."""
    return 1.0 - _agg_tanimoto(fps, fps, "mean", p)


def snn(gen_fps: np.ndarray, ref_fps: np.ndarray) -> float:
    """Mean over generated molecules of the Tanimoto similarity to the nearest reference molecule."""
    return _agg_tanimoto(ref_fps, gen_fps, "max")


def brics_fragments(mols: Iterable) -> Counter:
    """Counts of BRICS fragments (canonical SMILES with the dummy atoms), MOSES's ``compute_fragments``."""
    from rdkit import Chem
    from rdkit.Chem import rdmolops

    counts: Counter = Counter()
    for mol in mols:
        counts.update(Chem.MolToSmiles(rdmolops.FragmentOnBRICSBonds(mol)).split("."))
    return counts


def scaffolds(mols: Iterable, min_rings: int = SCAFFOLD_MIN_RINGS) -> Counter:
    """Counts of Bemis-Murcko scaffolds with at least ``min_rings`` rings, MOSES's ``compute_scaffolds``."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    counts: Counter = Counter()
    for mol in mols:
        try:
            scaffold = MurckoScaffold.GetScaffoldForMol(mol)
        except (ValueError, RuntimeError):
            continue
        text = Chem.MolToSmiles(scaffold)
        if text and scaffold.GetRingInfo().NumRings() >= min_rings:
            counts[text] += 1
    return counts


def cosine_similarity(ref: Counter, gen: Counter) -> float | None:
    """Cosine similarity of two count dictionaries (absent keys count 0); None when one is empty
    (MOSES gives NaN)."""
    if not ref or not gen:
        return None
    keys = sorted(set(ref) | set(gen))
    r = np.array([ref.get(k, 0) for k in keys], dtype=np.float64)
    g = np.array([gen.get(k, 0) for k in keys], dtype=np.float64)
    return float(r @ g / (np.linalg.norm(r) * np.linalg.norm(g)))


def moses_file(name: str):
    """Path of a file of the installed molsets package (``moses/<name>``), found without importing it."""
    from chemtl.data.registry import package_dir

    return package_dir("moses", "molsets") / name


@cache
def _filter_patterns() -> tuple:
    """The MCF SMARTS (``metrics/mcf.csv``, header ``names,smarts``) and the PAINS SMARTS
    (``metrics/wehi_pains.csv``, no header: ``smarts,name``) of molsets, compiled."""
    from rdkit import Chem

    with open(moses_file("metrics/mcf.csv"), newline="", encoding="utf-8") as handle:
        mcf = [row["smarts"].strip() for row in csv.DictReader(handle)]
    with open(moses_file("metrics/wehi_pains.csv"), newline="", encoding="utf-8") as handle:
        pains = [row[0].strip() for row in csv.reader(handle) if row]
    patterns = []
    for smarts in mcf + pains:
        pattern = Chem.MolFromSmarts(smarts)
        if pattern is None:
            raise RuntimeError(f"molsets filter SMARTS {smarts!r} does not compile in this RDKit")
        patterns.append(pattern)
    return tuple(patterns), len(mcf), len(pains)


def filter_patterns() -> tuple[int, int]:
    """How many MCF and PAINS patterns the filters use (22 and 479 in molsets 0.3.1)."""
    _, n_mcf, n_pains = _filter_patterns()
    return n_mcf, n_pains


def passes_filters(mol) -> bool:
    """MOSES's ``mol_passes_filters`` with its default allowed atoms."""
    from rdkit import Chem

    if mol is None:
        return False
    ring_info = mol.GetRingInfo()
    if ring_info.NumRings() and any(len(ring) >= 8 for ring in ring_info.AtomRings()):
        return False
    if any(atom.GetFormalCharge() != 0 for atom in mol.GetAtoms()):
        return False
    if any(atom.GetSymbol() not in FILTER_ATOMS for atom in mol.GetAtoms()):
        return False
    patterns, _, _ = _filter_patterns()
    with_h = Chem.AddHs(mol)
    if any(with_h.HasSubstructMatch(p) for p in patterns):
        return False
    text = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(text) and Chem.MolFromSmiles(text) is not None


def _fcd_model(n_jobs: int):
    from fcd_torch import FCD

    return FCD(device="cpu", n_jobs=n_jobs, batch_size=512)


def fcd_available() -> str | None:
    """None when fcd_torch imports, else why FCD is left out."""
    try:
        import fcd_torch  # noqa: F401
    except ImportError as exc:
        return f"FCD left out: fcd_torch does not import ({exc})"
    return None


def molecule_metrics(
    smiles: Sequence[str],
    *,
    train: Sequence[str] | None,
    test: Sequence[str] | None,
    test_scaffolds: Sequence[str] | None = None,
    n_jobs: int = 1,
    train_canonical: bool = False,
    fcd: bool = True,
) -> dict[str, Any]:
    """MOSES metrics of generated SMILES (see the module docstring).

    ``train`` is canonicalised here unless ``train_canonical`` says its strings already are RDKit
    canonical SMILES (MOSES compares with its train file as written). ``fcd=False`` skips FCD
    (``fcd_note`` says so); ``n_jobs`` goes to fcd_torch's SMILES parsing. A metric that needs a
    reference set is absent when that set is None.
    """
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        return _molecule_metrics(smiles, train, test, test_scaffolds, n_jobs, train_canonical, fcd)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _molecule_metrics(smiles, train, test, test_scaffolds, n_jobs, train_canonical, fcd) -> dict[str, Any]:
    smiles = list(smiles)
    out: dict[str, Any] = {"n": len(smiles)}
    notes: list[str] = []
    mols = [m for m in (_mol(s) for s in smiles) if m is not None]
    canon = [_canonical(m) for m in mols]
    out["n_valid"] = len(mols)
    out["validity"] = len(mols) / len(smiles) if smiles else None
    unique = set(canon)
    out["n_unique"] = len(unique)
    for k in UNIQUE_AT:
        head = canon[:k]
        out[f"unique@{k}"] = len(set(head)) / len(head) if head else None
        if head and len(head) < k:
            notes.append(f"unique@{k} on {len(head)} valid samples (fewer than {k}), as MOSES does")
    if train is not None:
        if train_canonical:
            train_set = set(train)
        else:
            train_set = {_canonical(m) for m in (_mol(s) for s in train) if m is not None}
        out["novelty"] = len(unique - train_set) / len(unique) if unique else None
    gen_fps = fingerprints(mols)
    out["IntDiv1"] = internal_diversity(gen_fps, 1) if mols else None
    out["IntDiv2"] = internal_diversity(gen_fps, 2) if mols else None
    out["filters"] = sum(passes_filters(m) for m in mols) / len(mols) if mols else None
    gen_frag = brics_fragments(mols)
    gen_scaf = scaffolds(mols)
    fcd_ok = fcd_available() if fcd else "FCD skipped (fcd=False)"
    fcd_model = pgen = None
    if fcd_ok is None and len(canon) > 1 and (test is not None or test_scaffolds is not None):
        fcd_model = _fcd_model(n_jobs)
        pgen = fcd_model.precalc(canon)
    for suffix, ref in (("", test), ("/TestSF", test_scaffolds)):
        if ref is None:
            continue
        ref_mols = [m for m in (_mol(s) for s in ref) if m is not None]
        out[f"SNN{suffix}"] = snn(gen_fps, fingerprints(ref_mols)) if mols and ref_mols else None
        out[f"Frag{suffix}"] = cosine_similarity(brics_fragments(ref_mols), gen_frag)
        out[f"Scaf{suffix}"] = cosine_similarity(scaffolds(ref_mols), gen_scaf)
        if fcd_ok is None:
            ref_canon = [_canonical(m) for m in ref_mols]
            if fcd_model is not None and len(ref_canon) > 1:
                out[f"FCD{suffix}"] = float(fcd_model(pref=fcd_model.precalc(ref_canon), pgen=pgen))
            else:
                out[f"FCD{suffix}"] = None
    if fcd_ok is not None:
        out["fcd_note"] = fcd_ok
    out["notes"] = notes
    return out


# --------------------------------------------------------------------------------------------
# compositions


def smact_version() -> str | None:
    """The installed smact distribution's version (its module's ``__version__`` may lag)."""
    try:
        return importlib.metadata.version("smact")
    except importlib.metadata.PackageNotFoundError:
        return None


SMACT_SCALE = 100


def _integer_amounts(elements: tuple[str, ...], amounts: tuple[float, ...]) -> dict[str, int]:
    """Integer amounts for smact (which truncates amounts with ``int``): as they are when integer,
    else the atomic fractions times ``SMACT_SCALE`` rounded (at least 1)."""
    if all(float(a).is_integer() for a in amounts):
        return {e: int(a) for e, a in zip(elements, amounts)}
    total = sum(amounts)
    return {e: max(1, round(SMACT_SCALE * a / total)) for e, a in zip(elements, amounts)}


def key_composition(key: str, formula: str):
    """The parsed reduced formula ``key`` of ``formula``; ``formula`` itself parsed when the key does
    not read back (pymatgen writes a tiny alloy fraction as ``Nb6.2e-05``)."""
    from chemtl.chem.composition import parse_composition
    from chemtl.errors import InvalidFormulaError

    try:
        return parse_composition(key)
    except InvalidFormulaError:
        return parse_composition(formula)


_SMACT_CACHE: dict[tuple[str, bool], bool] = {}


SMACT_MAX_SPACE = 10**6


SMACT_MAX_OXIDATION_COMBINATIONS = 10**5


def smact_checkable(amounts: dict[str, int]) -> bool:
    """smact enumerates every stoichiometry up to the largest amount for each element, and every
    combination of the elements' oxidation states: refuse (leave unchecked) a formula where
    (largest amount) ** (number of elements) > 10^6, which can take minutes (seen on a
    high-entropy alloy of the corpus), or where the product of the elements' numbers of known
    oxidation states (smact ``Element.oxidation_states``, a superset of the ICSD-24 set it tests)
    exceeds 10^5 (a random 13-element formula ran for over 20 minutes). An element smact has no
    data for is left to ``smact_valid``."""
    if max(amounts.values()) ** len(amounts) > SMACT_MAX_SPACE:
        return False
    from smact import Element

    combinations = 1
    for symbol in amounts:
        try:
            combinations *= max(len(Element(symbol).oxidation_states or ()), 1)
        except KeyError:
            return True
        if combinations > SMACT_MAX_OXIDATION_COMBINATIONS:
            return False
    return True


def smact_valid(key: str, include_alloys: bool, formula: str | None = None) -> bool | None:
    """``smact.screening.smact_validity`` of a reduced formula (``composition_key`` of ``formula``,
    which is parsed instead when the key does not read back), Pauling test on; cached by key.
    None when ``smact_checkable`` refuses it or smact has no data for one of its elements
    (smact 4.0 knows none beyond Lr: Rf, Db, ... raise KeyError there)."""
    if (key, include_alloys) in _SMACT_CACHE:
        return _SMACT_CACHE[(key, include_alloys)]
    from pymatgen.core import Composition
    from smact.screening import smact_validity

    parsed = key_composition(key, formula or key)
    amounts = _integer_amounts(parsed.elements, parsed.amounts)
    if not smact_checkable(amounts):
        return None
    comp = Composition(amounts)
    try:
        valid = bool(smact_validity(comp, use_pauling_test=True, include_alloys=include_alloys))
    except KeyError:  # "Elemental data for Rf not found."
        return None
    _SMACT_CACHE[(key, include_alloys)] = valid
    return valid


def element_set_jaccard(sets: Sequence[frozenset[str]]) -> float | None:
    """Mean Jaccard distance ``1 - |A & B| / |A | B|`` over all pairs i < j; None under two sets."""
    n = len(sets)
    if n < 2:
        return None
    vocab = sorted(set().union(*sets))
    index = {e: i for i, e in enumerate(vocab)}
    x = np.zeros((n, len(vocab)), dtype=np.float32)
    for row, s in enumerate(sets):
        x[row, [index[e] for e in s]] = 1.0
    total = 0.0
    for i in range(0, n, _BLOCK):
        sim = tanimoto_matrix(x[i : i + _BLOCK], x)
        rows = np.arange(i, min(i + _BLOCK, n))
        sim[rows - i, rows] = 1.0  # a set's distance to itself (0) stays out of the sum
        total += float((1.0 - sim).sum())
    return total / (n * (n - 1))


def valid_with_keys(formulas: Sequence[str]) -> tuple[list[str], list[str]]:
    """The valid formulas and their ``composition_key`` (cached per process), invalid ones skipped."""
    from chemtl.chem.composition import is_valid_formula
    from chemtl.data.keys import compound_keys

    valid = [f for f in formulas if isinstance(f, str) and is_valid_formula(f)]
    return valid, compound_keys(valid, "composition")


def composition_keys(formulas: Sequence[str]) -> list[str]:
    """``composition_key`` of each valid formula (invalid ones skipped), cached per process."""
    return valid_with_keys(formulas)[1]


def composition_metrics(
    formulas: Sequence[str],
    *,
    train: Sequence[str] | None,
    labelled: Sequence[str] | None,
    train_keys: set[str] | None = None,
    labelled_keys: set[str] | None = None,
) -> dict[str, Any]:
    """Metrics of generated formulas (see the module docstring). ``train_keys`` / ``labelled_keys``
    (sets of ``composition_key``) may be given instead of ``train`` / ``labelled`` to reuse them."""
    from chemtl.chem.composition import parse_composition

    formulas = list(formulas)
    valid, keys = valid_with_keys(formulas)
    out: dict[str, Any] = {"n": len(formulas), "n_valid": len(keys)}
    out["validity"] = len(keys) / len(formulas) if formulas else None
    unique = set(keys)
    out["n_unique"] = len(unique)
    out["uniqueness"] = len(unique) / len(keys) if keys else None
    if train_keys is None and train is not None:
        train_keys = set(composition_keys(train))
    if train_keys is not None:
        out["novelty"] = len(unique - train_keys) / len(unique) if unique else None
    if labelled_keys is None and labelled is not None:
        labelled_keys = set(composition_keys(labelled))
    if labelled_keys is not None:
        out["in_labelled"] = len(unique & labelled_keys) / len(unique) if unique else None
    element_sets = [frozenset(parse_composition(f).elements) for f in valid]
    out["element_set_diversity"] = len(set(element_sets)) / len(keys) if keys else None
    out["element_set_jaccard"] = element_set_jaccard(element_sets)
    for alloys, name in ((True, "smact_valid"), (False, "smact_valid_no_alloys")):
        checks = [smact_valid(k, alloys, f) for k, f in zip(keys, valid)]
        checked = [c for c in checks if c is not None]
        out[name] = sum(checked) / len(checked) if checked else None
    out["smact_unchecked"] = len(keys) - len(checked) if keys else 0  # over the checked ones only
    out["smact_version"] = smact_version()
    return out


# --------------------------------------------------------------------------------------------
# the random composition baseline


def _systematic_sample(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a fixed-size sample with inclusion probabilities ``pi`` (sum k, each <= 1):
    randomised systematic sampling (Goodman and Kish 1950): a random order, then the units whose
    cumulative interval holds ``u, u + 1, ..., u + k - 1`` for ``u ~ U(0, 1)``."""
    order = rng.permutation(len(pi))
    edges = np.cumsum(pi[order])
    k = int(round(edges[-1]))
    points = rng.random() + np.arange(k)
    picks = np.searchsorted(edges, points, side="right")
    return order[np.minimum(picks, len(pi) - 1)]


def corpus_statistics(corpus: Sequence[str]) -> dict[str, Any]:
    """What the baseline samples from: the distribution of the number of elements, per number of
    elements the fraction of formulas holding each element, and the distribution of the integer
    amounts (of the formulas whose reduced formula is integer)."""
    n_elements: Counter = Counter()
    holding: dict[int, Counter] = {}
    amounts: Counter = Counter()
    for formula, key in zip(*valid_with_keys(corpus)):
        parsed = key_composition(key, formula)
        k = len(parsed.elements)
        n_elements[k] += 1
        holding.setdefault(k, Counter()).update(parsed.elements)
        if all(float(a).is_integer() for a in parsed.amounts):
            amounts.update(int(a) for a in parsed.amounts)
    if not n_elements:
        from chemtl.errors import DataError

        raise DataError("the random composition baseline needs at least one valid formula in the corpus")
    return {"n_elements": n_elements, "holding": holding, "amounts": amounts}


def random_composition_baseline(corpus: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` random formulas with the corpus' element and element-count frequencies.

    Each sample draws its number of elements k from the corpus' distribution of element counts
    (of reduced formulas), then k distinct elements with inclusion probabilities equal to the
    fractions of the corpus' k-element formulas that hold each element (randomised systematic
    sampling, so they are exact), then each element's amount from the corpus' distribution of
    integer amounts. Hence the expected fraction of samples holding an element equals the corpus'
    fraction. Written as pymatgen's reduced formula; seeded (numpy ``default_rng(seed)``).
    """
    from pymatgen.core import Composition

    stats = corpus_statistics(corpus)
    rng = np.random.default_rng(seed)
    ks = sorted(stats["n_elements"])
    k_prob = np.array([stats["n_elements"][k] for k in ks], dtype=np.float64)
    k_prob /= k_prob.sum()
    tables = {}
    for k in ks:
        symbols = sorted(stats["holding"][k])
        counts = np.array([stats["holding"][k][s] for s in symbols], dtype=np.float64)
        tables[k] = (symbols, counts / stats["n_elements"][k])
    values = sorted(stats["amounts"]) or [1]
    a_prob = np.array([stats["amounts"].get(v, 1) for v in values], dtype=np.float64)
    a_prob /= a_prob.sum()
    out = []
    for _ in range(n):
        k = ks[int(rng.choice(len(ks), p=k_prob))]
        symbols, pi = tables[k]
        picked = [symbols[i] for i in _systematic_sample(pi, rng)]
        amounts = rng.choice(values, size=len(picked), p=a_prob)
        out.append(Composition({e: int(a) for e, a in zip(picked, amounts)}).reduced_formula)
    return out


def conditioning_summary(
    edges: Sequence[float],
    predicted: dict[int, Sequence[float]],
    unconditioned: Sequence[float],
    control: dict[int, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """How far a condition token moves what is sampled, judged by a property regressor.

    ``predicted[b]``: the regressor's predictions on the valid samples drawn with bin ``b``'s
    token; ``unconditioned``: on valid samples drawn without a token; ``control[b]``: on real
    held-out compounds whose label lies in bin ``b`` (what the judge itself can tell apart). Per
    bin: ``n``, ``median`` (numpy's), ``median_bin`` (``chemtl.data.conditions.bin_index`` of the
    median: bin b holds (edge b-1, edge b]), ``in_bin`` (median_bin == b), ``fraction_in_bin``
    (of the predictions) and ``shift`` (median minus the unconditioned median). ``all_in_bin``:
    every conditioned bin's median in its bin, the verdict's number (None when a bin is empty).
    """
    from chemtl.data.conditions import bin_index

    def describe(values: Sequence[float], b: int | None) -> dict[str, Any]:
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0:
            return {"n": 0, "median": None, "median_bin": None}
        bins = np.searchsorted(np.asarray(edges, dtype=np.float64), v, side="left")
        med = float(np.median(v))
        out = {"n": int(v.size), "median": med, "median_bin": bin_index(edges, med)}
        out["bin_fractions"] = (np.bincount(bins, minlength=len(edges) + 1) / v.size).tolist()
        if b is not None:
            out["in_bin"] = out["median_bin"] == b
            out["fraction_in_bin"] = float(np.mean(bins == b))
        return out

    base = describe(unconditioned, None)
    bins = {}
    for b in sorted(predicted):
        row = describe(predicted[b], b)
        if row["median"] is not None and base["median"] is not None:
            row["shift"] = row["median"] - base["median"]
        bins[b] = row
    flags = [row.get("in_bin") for row in bins.values()]
    result: dict[str, Any] = {
        "edges": [float(e) for e in edges],
        "unconditioned": base,
        "bins": bins,
        "all_in_bin": None if not flags or None in flags else all(flags),
        "bins_in_bin": sum(1 for f in flags if f),
    }
    if control is not None:
        result["control"] = {b: describe(control[b], b) for b in sorted(control)}
    return result
