"""Train/validation/test splits as plain functions, each checked for leakage.

Every function takes the inputs (and their kind) and returns a ``Split`` (index arrays into the
inputs, sorted ascending, plus the method, seed, parameters and a ``LeakageReport``), or a list
of them for k-fold protocols.

Leakage means the same compound on two sides: the same reduced formula (compositions) or the same
canonical SMILES (SMILES, SELFIES), see ``chemtl.data.keys``. The rule:

- splits chemtl makes (random, k-fold, scaffold, grouped, leave-element-out, chemical system,
  domain, cluster) **refuse** leakage with a ``LeakageError`` unless ``allow_leakage=True``
  (``--allow-leakage``); the grouped kinds cannot leak by construction, random ones can when the
  data holds duplicates;
- protocols someone else defined (the Matbench folds, a dataset's shipped train/val/test column)
  are reproduced exactly as published, so their leakage is **reported** in the split, never
  refused: changing them would break comparability with published numbers.

Fractions are ``(train, val, test)``; ``(train, test)`` means no validation set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.chem.kinds import check_kind
from chemtl.data.keys import KEY_NAMES, compound_keys
from chemtl.errors import ChemtlError, DataError, LeakageError

MATBENCH_SEED = 18012019
MATBENCH_FOLDS = 5
SPLIT_FORMAT = "chemtl-split"
SPLIT_FORMAT_VERSION = 1
_PAIRS = (("train", "test"), ("train", "val"), ("val", "test"))


@dataclass
class LeakageReport:
    """Compounds on more than one side of a split.

    ``shared``: for each pair of sides (``"train/test"``, ``"train/val"``, ``"val/test"``), the
    number of distinct compound keys found on both; ``total``: distinct keys found on more than one
    side; ``test_rows_seen``: test rows whose compound is also in train or val; ``examples``: up to
    five shared keys, in input order; ``allowed``: the split was made with ``allow_leakage``.
    """

    key: str
    shared: dict[str, int]
    total: int
    test_rows_seen: int
    examples: list[str]
    allowed: bool = False

    @property
    def leaks(self) -> bool:
        return self.total > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "shared": dict(self.shared),
            "total": self.total,
            "test_rows_seen": self.test_rows_seen,
            "examples": list(self.examples),
            "allowed": self.allowed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeakageReport:
        return cls(
            data["key"],
            dict(data["shared"]),
            data["total"],
            data["test_rows_seen"],
            list(data["examples"]),
            data["allowed"],
        )


@dataclass
class Split:
    """Indices of the train, validation and test rows (sorted), and how they were chosen."""

    method: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    n: int
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    leakage: LeakageReport | None = None
    fold: int | None = None

    def __post_init__(self) -> None:
        self.train = np.asarray(self.train, dtype=np.int64)
        self.val = np.asarray(self.val, dtype=np.int64)
        self.test = np.asarray(self.test, dtype=np.int64)
        everything = np.concatenate([self.train, self.val, self.test])
        if len(np.unique(everything)) != len(everything):
            raise ValueError(f"split {self.method!r}: a row is on two sides")
        if len(everything) and (everything.min() < 0 or everything.max() >= self.n):
            raise ValueError(f"split {self.method!r}: an index is outside 0..{self.n - 1}")

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def sides(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def describe(self) -> str:
        """One line: method, fold, sizes, seed, leakage."""
        fold = f" fold {self.fold}" if self.fold is not None else ""
        sizes = "/".join(str(v) for v in self.sizes.values())
        seed = f", seed {self.seed}" if self.seed is not None else ""
        leak = ""
        if self.leakage is not None:
            leak = f", {self.leakage.total} compounds on two sides (by {self.leakage.key})"
            if self.leakage.leaks:
                leak += f", {self.leakage.test_rows_seen} test rows seen in train/val"
        return f"{self.method}{fold}: train/val/test {sizes}{seed}{leak}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "fold": self.fold,
            "n": self.n,
            "seed": self.seed,
            "params": self.params,
            "sizes": self.sizes,
            "leakage": None if self.leakage is None else self.leakage.to_dict(),
            "train": self.train.tolist(),
            "val": self.val.tolist(),
            "test": self.test.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        leakage = data.get("leakage")
        return cls(
            method=data["method"],
            train=np.asarray(data["train"], dtype=np.int64),
            val=np.asarray(data["val"], dtype=np.int64),
            test=np.asarray(data["test"], dtype=np.int64),
            n=data["n"],
            seed=data.get("seed"),
            params=data.get("params", {}),
            leakage=None if leakage is None else LeakageReport.from_dict(leakage),
            fold=data.get("fold"),
        )


# --------------------------------------------------------------------------------------------
# leakage


def check_leakage(
    inputs: Sequence[str],
    kind: str,
    split: Split,
    allow_leakage: bool = False,
    keys: Sequence[str] | None = None,
) -> LeakageReport:
    """Find compounds on more than one side of ``split``; raise ``LeakageError`` unless allowed.

    The report is also stored in ``split.leakage``. The error names one shared compound, the rows
    (1-based positions in ``inputs``) where it sits on each side, and the counts.
    """
    check_kind(kind)
    if len(inputs) != split.n:
        raise DataError(f"split {split.method!r} is for {split.n} rows, not {len(inputs)}")
    keys = compound_keys(inputs, kind) if keys is None else keys
    side_keys = {side: {keys[i] for i in idx} for side, idx in split.sides().items()}
    shared: dict[str, int] = {}
    union: set[str] = set()
    for a, b in _PAIRS:
        common = side_keys[a] & side_keys[b]
        shared[f"{a}/{b}"] = len(common)
        union |= common
    seen = side_keys["train"] | side_keys["val"]
    test_rows_seen = sum(1 for i in split.test if keys[i] in seen)
    examples = []
    for i in range(len(keys)):
        if keys[i] in union and keys[i] not in examples:
            examples.append(keys[i])
            if len(examples) == 5:
                break
    report = LeakageReport(
        KEY_NAMES[kind], shared, len(union), test_rows_seen, examples, allowed=allow_leakage
    )
    split.leakage = report
    if report.leaks and not allow_leakage:
        raise LeakageError(_leak_message(inputs, keys, split, report))
    return report


def _leak_message(inputs, keys, split: Split, report: LeakageReport) -> str:
    example = report.examples[0]
    places = []
    for side, idx in split.sides().items():
        hit = next((int(i) for i in idx if keys[i] == example), None)
        if hit is not None:
            places.append(f"{side} (row {hit + 1}: {inputs[hit]!r})")
    counts = ", ".join(f"{pair} {n}" for pair, n in report.shared.items())
    grouped = "composition_grouped" if report.key == KEY_NAMES["composition"] else "grouped or scaffold"
    return (
        f"split {split.method!r} puts the same compound on two sides: {report.key} {example!r} is in "
        f"{' and '.join(places)}; {report.total} shared in all ({counts}); use a {grouped} split "
        "or pass --allow-leakage"
    )


def _finish(
    method: str,
    inputs: Sequence[str],
    kind: str,
    train,
    val,
    test,
    seed: int | None,
    params: dict[str, Any],
    allow_leakage: bool,
    keys: Sequence[str] | None = None,
    fold: int | None = None,
) -> Split:
    split = Split(
        method,
        np.sort(np.asarray(train, dtype=np.int64)),
        np.sort(np.asarray(val, dtype=np.int64)),
        np.sort(np.asarray(test, dtype=np.int64)),
        n=len(inputs),
        seed=seed,
        params=params,
        fold=fold,
    )
    if len(split.train) == 0 or len(split.test) == 0:
        side = "training" if len(split.train) == 0 else "test"
        raise ChemtlError(
            f"split {method!r} leaves the {side} set empty ({len(inputs)} rows); "
            "change the fractions or the number of groups or clusters"
        )
    check_leakage(inputs, kind, split, allow_leakage=allow_leakage, keys=keys)
    return split


# --------------------------------------------------------------------------------------------
# helpers


def _fractions(frac: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in frac)
    if len(values) == 2:
        values = (values[0], 0.0, values[1])
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise ChemtlError(
            f"fractions must be (train, val, test) or (train, test), non-negative, summing to 1; got {tuple(frac)}"
        )
    return values  # type: ignore[return-value]


def _sizes(n: int, frac: tuple[float, float, float]) -> tuple[int, int, int]:
    n_train = int(round(frac[0] * n))
    n_val = min(int(round(frac[1] * n)), n - n_train)
    return n_train, n_val, n - n_train - n_val


def _groups(keys: Sequence[str]) -> dict[str, list[int]]:
    """key -> row indices, keys in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return groups


def _takes(side: list[int], group: list[int], target: int) -> bool:
    """A side takes a group while the group's midpoint stays within the side's target size, so a
    side ends within half a group of its target (and a side with target 0 takes nothing)."""
    return len(side) + len(group) / 2 <= target and len(side) < target


def _fill(ordered_groups: list[list[int]], n: int, frac: tuple[float, float, float]):
    """Whole groups, in the caller's order, to test, else val, else train (see ``_takes``)."""
    _, n_val, n_test = _sizes(n, frac)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for group in ordered_groups:
        if _takes(test, group, n_test):
            test += group
        elif _takes(val, group, n_val):
            val += group
        else:
            train += group
    return train, val, test


def _carve_val(rows: Sequence[int], keys: Sequence[str], val_frac: float, seed: int):
    """Split ``rows`` into (train, val) with about ``val_frac`` of them in val, whole groups only."""
    if val_frac <= 0:
        return list(rows), []
    if not 0 < val_frac < 1:
        raise ChemtlError(f"val_frac must be in [0, 1), got {val_frac}")
    groups = _groups([keys[i] for i in rows])
    members = [[rows[j] for j in g] for g in groups.values()]
    order = np.random.default_rng(seed).permutation(len(members))
    target = int(round(val_frac * len(rows)))
    train: list[int] = []
    val: list[int] = []
    for k in order:
        (val if _takes(val, members[k], target) else train).extend(members[k])
    return train, val


def _check_inputs(inputs: Sequence[str]) -> list[str]:
    if isinstance(inputs, str):
        raise ChemtlError("inputs must be a sequence of strings, not one string")
    values = list(inputs)
    if not values:
        raise ChemtlError("cannot split an empty dataset")
    return values


# --------------------------------------------------------------------------------------------
# splits


def random_split(
    inputs: Sequence[str],
    kind: str,
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Rows shuffled with ``numpy.random.default_rng(seed)``; sizes ``round(frac * n)``."""
    inputs = _check_inputs(inputs)
    fr = _fractions(frac)
    n = len(inputs)
    n_train, n_val, _ = _sizes(n, fr)
    perm = np.random.default_rng(seed).permutation(n)
    return _finish(
        "random",
        inputs,
        kind,
        perm[:n_train],
        perm[n_train : n_train + n_val],
        perm[n_train + n_val :],
        seed,
        {"frac": list(fr)},
        allow_leakage,
    )


def kfold_splits(
    inputs: Sequence[str],
    kind: str,
    n_splits: int = 5,
    seed: int = 0,
    shuffle: bool = True,
    allow_leakage: bool = False,
    method: str = "kfold",
) -> list[Split]:
    """scikit-learn ``KFold(n_splits, shuffle, random_state=seed)`` over the rows in input order."""
    from sklearn.model_selection import KFold

    inputs = _check_inputs(inputs)
    keys = compound_keys(inputs, kind)
    folder = KFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    params = {"n_splits": n_splits, "shuffle": shuffle}
    return [
        _finish(method, inputs, kind, tr, [], te, seed, params, allow_leakage, keys=keys, fold=k)
        for k, (tr, te) in enumerate(folder.split(np.arange(len(inputs))))
    ]


def matbench_folds(
    inputs: Sequence[str], kind: str = "composition", allow_leakage: bool = True
) -> list[Split]:
    """The Matbench protocol: ``KFold(5, shuffle=True, random_state=18012019)`` in file order.

    Reproduces the public leaderboard folds (test sizes 921/921/921/921/920 on
    matbench_expt_gap). Leakage is reported in each fold, not refused: the protocol is defined
    by Matbench (pass ``allow_leakage=False`` to refuse it anyway).
    """
    return kfold_splits(inputs, kind, MATBENCH_FOLDS, MATBENCH_SEED, True, allow_leakage, method="matbench")


def group_split(
    inputs: Sequence[str],
    kind: str,
    groups: Sequence[str],
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    allow_leakage: bool = False,
    method: str = "group",
) -> Split:
    """Whole groups to each side: groups shuffled with ``seed``, then test and val filled first."""
    inputs = _check_inputs(inputs)
    if len(groups) != len(inputs):
        raise ChemtlError(f"{len(groups)} group labels for {len(inputs)} inputs")
    fr = _fractions(frac)
    members = list(_groups([str(g) for g in groups]).values())
    order = np.random.default_rng(seed).permutation(len(members))
    train, val, test = _fill([members[k] for k in order], len(inputs), fr)
    params = {"frac": list(fr), "n_groups": len(members)}
    return _finish(method, inputs, kind, train, val, test, seed, params, allow_leakage)


def grouped_split(
    inputs: Sequence[str],
    kind: str,
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """A random split of compounds rather than rows: rows grouped by compound key (reduced
    formula or canonical SMILES), so duplicates always land on the same side."""
    inputs = _check_inputs(inputs)
    keys = compound_keys(inputs, kind)
    method = "composition_grouped" if kind == "composition" else "grouped"
    return group_split(inputs, kind, keys, frac, seed, allow_leakage, method=method)


def composition_grouped_split(
    formulas: Sequence[str],
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Group split by reduced formula: the same compound never lands on two sides."""
    return grouped_split(formulas, "composition", frac, seed, allow_leakage)


def scaffold_split(
    smiles: Sequence[str],
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    balanced: bool = False,
    kind: str = "smiles",
    allow_leakage: bool = False,
) -> Split:
    """Bemis-Murcko scaffold split; molecules sharing a scaffold stay on one side.

    ``balanced=False`` (default, DeepChem's ``ScaffoldSplitter``): scaffold groups sorted largest
    first (ties by first appearance) fill train, then val, then test; deterministic, ``seed`` is
    unused. ``balanced=True`` (chemprop's ``scaffold_balanced``): groups larger than half the val
    or test size go first, then the rest, each batch shuffled with ``seed``; a group goes to train
    if it fits, else val if it fits, else test. All acyclic molecules share the scaffold ``""``.
    """
    from chemtl.chem.smiles import murcko_scaffold

    smiles = _check_inputs(smiles)
    check_kind(kind)
    if kind == "composition":
        raise ChemtlError("a scaffold split needs molecules (smiles or selfies), not compositions")
    molecules = smiles
    if kind == "selfies":
        from chemtl.chem.selfies import selfies_to_smiles

        molecules = [selfies_to_smiles(s) for s in smiles]
    fr = _fractions(frac)
    n = len(smiles)
    scaffolds = [murcko_scaffold(s) for s in molecules]
    groups = list(_groups(scaffolds).values())
    n_train, n_val, n_test = _sizes(n, fr)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    if not balanced:
        ordered = sorted(groups, key=lambda g: (-len(g), g[0]))
        for g in ordered:
            if len(train) + len(g) <= n_train:
                train += g
            elif len(train) + len(val) + len(g) <= n_train + n_val:
                val += g
            else:
                test += g
        used_seed = None
    else:
        rng = np.random.default_rng(seed)
        big = [g for g in groups if len(g) > n_val / 2 or len(g) > n_test / 2]
        small = [g for g in groups if not (len(g) > n_val / 2 or len(g) > n_test / 2)]
        ordered = [big[k] for k in rng.permutation(len(big))] + [
            small[k] for k in rng.permutation(len(small))
        ]
        for g in ordered:
            if len(train) + len(g) <= n_train:
                train += g
            elif len(val) + len(g) <= n_val:
                val += g
            else:
                test += g
        used_seed = seed
    params = {"frac": list(fr), "balanced": balanced, "n_scaffolds": len(groups)}
    return _finish("scaffold", smiles, kind, train, val, test, used_seed, params, allow_leakage)


def _element_sets(inputs: Sequence[str], kind: str) -> list[frozenset[str]]:
    check_kind(kind)
    if kind == "composition":
        from chemtl.chem.composition import parse_composition

        return [frozenset(parse_composition(f).elements) for f in inputs]
    from chemtl.chem.smiles import parse_smiles

    if kind == "selfies":
        from chemtl.chem.selfies import selfies_to_smiles

        inputs = [selfies_to_smiles(s) for s in inputs]
    out = []
    for s in inputs:
        mol = parse_smiles(s)
        symbols = {a.GetSymbol() for a in mol.GetAtoms()}
        if any(a.GetTotalNumHs() for a in mol.GetAtoms()):
            symbols.add("H")
        out.append(frozenset(symbols))
    return out


def _known_elements(elements: Sequence[str]) -> list[str]:
    from chemtl.chem.composition import element_symbols_by_z

    known = set(element_symbols_by_z())
    for el in elements:
        if el not in known:
            raise ChemtlError(f"unknown element {el!r}")
    return list(elements)


def _held_out_split(method, inputs, kind, mask, val_frac, seed, params, allow_leakage) -> Split:
    keys = compound_keys(inputs, kind)
    test = np.flatnonzero(mask)
    rest = np.flatnonzero(~mask).tolist()
    label = ", ".join(f"{k} {v!r}" for k, v in params.items())
    if len(test) == 0:
        raise ChemtlError(f"{method}: no row matches {label}; the test set would be empty")
    if not rest:
        raise ChemtlError(f"{method}: every row matches {label}; the training set would be empty")
    train, val = _carve_val(rest, keys, val_frac, seed)
    params = {**params, "val_frac": val_frac}
    return _finish(
        method,
        inputs,
        kind,
        train,
        val,
        test,
        seed if val_frac > 0 else None,
        params,
        allow_leakage,
        keys=keys,
    )


def leave_element_out(
    formulas: Sequence[str],
    elements: str | Sequence[str],
    val_frac: float = 0.0,
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Test = every formula containing any of ``elements``; train (and val) = the rest."""
    formulas = _check_inputs(formulas)
    wanted = _known_elements([elements] if isinstance(elements, str) else list(elements))
    sets = _element_sets(formulas, "composition")
    mask = np.array([any(e in s for e in wanted) for s in sets], dtype=bool)
    return _held_out_split(
        "leave_element_out",
        formulas,
        "composition",
        mask,
        val_frac,
        seed,
        {"elements": wanted},
        allow_leakage,
    )


def normalize_system(system: str) -> str:
    """``"O-Fe"`` -> ``"Fe-O"``: elements sorted alphabetically, joined by ``-``."""
    parts = [p.strip() for p in str(system).split("-") if p.strip()]
    if not parts:
        raise ChemtlError(f"invalid chemical system {system!r}: expected elements joined by '-', e.g. 'Fe-O'")
    return "-".join(sorted(set(_known_elements(parts))))


def leave_chemical_system_out(
    formulas: Sequence[str],
    systems: str | Sequence[str],
    include_subsystems: bool = False,
    val_frac: float = 0.0,
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Test = formulas whose chemical system is one of ``systems`` (``"Fe-O"`` holds out FeO,
    Fe2O3, Fe3O4, not Fe or LiFeO2); ``include_subsystems=True`` also holds out every formula whose
    elements are a subset of a held-out system (Fe, O2 for ``"Fe-O"``)."""
    formulas = _check_inputs(formulas)
    wanted = [normalize_system(s) for s in ([systems] if isinstance(systems, str) else systems)]
    wanted_sets = [frozenset(s.split("-")) for s in wanted]
    sets = _element_sets(formulas, "composition")
    if include_subsystems:
        mask = np.array([any(s <= w for w in wanted_sets) for s in sets], dtype=bool)
    else:
        mask = np.array([s in wanted_sets for s in sets], dtype=bool)
    params = {"systems": wanted, "include_subsystems": include_subsystems}
    return _held_out_split(
        "leave_chemical_system_out", formulas, "composition", mask, val_frac, seed, params, allow_leakage
    )


HALOGENS = ("F", "Cl", "Br", "I")
DOMAIN_PREDICATES: dict[str, tuple[str, ...]] = {
    "oxide": ("O",),
    "halide": HALOGENS,
    "chalcogenide": ("S", "Se", "Te"),
    "nitride": ("N",),
    "pnictide": ("N", "P", "As", "Sb", "Bi"),
}


def domain_predicate(name: str) -> Callable[[frozenset[str]], bool]:
    """A named predicate on a compound's element set.

    ``oxide``: contains O; ``halide``: contains F, Cl, Br or I; ``chalcogenide``: S, Se or Te;
    ``nitride``: N; ``pnictide``: N, P, As, Sb or Bi; ``contains:Fe,Co``: any of the listed
    elements. Membership is all that is checked (an oxide here is any compound with oxygen,
    a sulfate included), which is what the domain shift needs and what a user can predict.
    """
    if name.startswith("contains:"):
        elements = tuple(_known_elements([e.strip() for e in name.split(":", 1)[1].split(",") if e.strip()]))
        if not elements:
            raise ChemtlError(f"invalid domain predicate {name!r}: name elements, e.g. 'contains:Fe,Co'")
    elif name in DOMAIN_PREDICATES:
        elements = DOMAIN_PREDICATES[name]
    else:
        raise ChemtlError(
            f"unknown domain predicate {name!r}; choose one of {', '.join(DOMAIN_PREDICATES)} or 'contains:El1,El2'"
        )
    return lambda symbols: any(e in symbols for e in elements)


def domain_split(
    inputs: Sequence[str],
    kind: str,
    predicate: str | Callable[[str], bool],
    val_frac: float = 0.0,
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Test = the rows matching ``predicate`` (the target domain), train = the rest (the source).

    ``predicate`` is a name (see ``domain_predicate``; works on compositions and molecules, by
    element) or a callable on the input string. Invert it to swap the domains.
    """
    inputs = _check_inputs(inputs)
    if callable(predicate):
        mask = np.array([bool(predicate(x)) for x in inputs], dtype=bool)
        label = getattr(predicate, "__name__", "callable")
    else:
        test = domain_predicate(predicate)
        mask = np.array([test(s) for s in _element_sets(inputs, kind)], dtype=bool)
        label = predicate
    return _held_out_split("domain", inputs, kind, mask, val_frac, seed, {"predicate": label}, allow_leakage)


def cluster_split(
    inputs: Sequence[str],
    kind: str,
    n_clusters: int = 20,
    frac: Sequence[float] = (0.8, 0.1, 0.1),
    test_clusters: Sequence[int] | None = None,
    features: np.ndarray | None = None,
    seed: int = 0,
    allow_leakage: bool = False,
) -> Split:
    """Whole k-means clusters to each side, on ``features`` (default ``features.featurize``).

    With ``test_clusters`` the test set is exactly those clusters and val (``frac[1]`` of all rows)
    comes from the other clusters; otherwise clusters are shuffled with ``seed`` and fill test,
    then val (as ``group_split``). KMeans uses ``random_state=seed, n_init=3``.
    """
    from sklearn.cluster import KMeans

    from chemtl.data.features import featurize

    inputs = _check_inputs(inputs)
    fr = _fractions(frac)
    x = featurize(inputs, kind) if features is None else np.asarray(features)
    if len(x) != len(inputs):
        raise ChemtlError(f"{len(x)} feature rows for {len(inputs)} inputs")
    if not 2 <= n_clusters <= len(inputs):
        raise ChemtlError(
            f"n_clusters must be between 2 and the number of rows ({len(inputs)}), got {n_clusters}"
        )
    labels = KMeans(n_clusters=n_clusters, random_state=seed, n_init=3).fit_predict(x.astype(np.float64))
    members = [np.flatnonzero(labels == c).tolist() for c in range(n_clusters)]
    params: dict[str, Any] = {
        "n_clusters": n_clusters,
        "frac": list(fr),
        "cluster_sizes": [len(m) for m in members],
    }
    if test_clusters is not None:
        chosen = sorted({int(c) for c in test_clusters})
        if any(not 0 <= c < n_clusters for c in chosen):
            raise ChemtlError(f"test_clusters must be in 0..{n_clusters - 1}, got {list(test_clusters)}")
        test = [i for c in chosen for i in members[c]]
        rest_clusters = [c for c in range(n_clusters) if c not in chosen]
        order = np.random.default_rng(seed).permutation(len(rest_clusters))
        n_val = int(round(fr[1] * len(inputs)))
        val: list[int] = []
        train: list[int] = []
        for k in order:
            group = members[rest_clusters[k]]
            (val if _takes(val, group, n_val) else train).extend(group)
        params["test_clusters"] = chosen
    else:
        order = np.random.default_rng(seed).permutation(n_clusters)
        train, val, test = _fill([members[k] for k in order], len(inputs), fr)
    return _finish("cluster", inputs, kind, train, val, test, seed, params, allow_leakage)


def shipped_split(
    inputs: Sequence[str],
    kind: str,
    labels: Sequence[str],
    allow_leakage: bool = True,
) -> Split:
    """The split a dataset ships with (a ``split`` column of train / val / test labels).

    ``valid`` and ``validation`` count as val. Like the Matbench folds, this is someone else's
    protocol: leakage is reported, not refused, unless ``allow_leakage=False``.
    """
    inputs = _check_inputs(inputs)
    names = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
    sides: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, label in enumerate(labels):
        side = names.get(str(label).strip().lower())
        if side is None:
            raise DataError(f"row {i + 1}: split label {label!r} is not train, val or test")
        sides[side].append(i)
    return _finish(
        "shipped", inputs, kind, sides["train"], sides["val"], sides["test"], None, {}, allow_leakage
    )


# --------------------------------------------------------------------------------------------
# one entry point for the CLI

SPLIT_METHODS = (
    "random",
    "kfold",
    "matbench",
    "scaffold",
    "grouped",
    "composition_grouped",
    "leave_element_out",
    "leave_chemical_system_out",
    "domain",
    "cluster",
    "shipped",
)


AUTO_SPLIT = "auto"


def default_split_method(dataset: str) -> tuple[str, str]:
    """The split used when none is given, and why: ``(method, reason)``.

    A registered dataset with a published protocol gets it: the Matbench folds for
    ``matbench_*``, the shipped train/(val/)test labels where the dataset ships them
    (MoleculeACE, OQMD, solubility_classes). Everything else, user files included, gets
    ``grouped``: a seeded random split of compounds (reduced formula or canonical SMILES), which
    cannot put one compound on two sides, so files that write a compound twice (``As2`` and
    ``As4``) split without a refusal. An explicit ``random`` keeps the row-wise split and its
    leakage check.
    """
    from chemtl.data.registry import get_spec, is_registered

    if is_registered(dataset) and not Path(dataset).is_file():
        name = dataset.lower()
        if name.startswith("matbench_"):
            return "matbench", "the published Matbench folds of a matbench dataset"
        if get_spec(name).split_column:
            return "shipped", f"the split {name!r} ships with"
    return "grouped", "random by compound, so no compound lands on two sides"


def make_split(ds, method: str, allow_leakage: bool | None = None, **params: Any) -> Split | list[Split]:
    """Split a ``Dataset`` by method name (one of ``SPLIT_METHODS``) with that method's keywords.

    ``allow_leakage=None`` takes the method's default (reported for matbench and shipped, refused
    for the others).
    """
    inputs, kind = ds.inputs, ds.kind
    flag = {} if allow_leakage is None else {"allow_leakage": allow_leakage}
    if method == "random":
        return random_split(inputs, kind, **params, **flag)
    if method == "kfold":
        return kfold_splits(inputs, kind, **params, **flag)
    if method == "matbench":
        return matbench_folds(inputs, kind, **params, **flag)
    if method == "scaffold":
        return scaffold_split(inputs, kind=kind, **params, **flag)
    if method == "grouped":
        return grouped_split(inputs, kind, **params, **flag)
    if method == "composition_grouped":
        _require(kind, "composition", method)
        return composition_grouped_split(inputs, **params, **flag)
    if method == "leave_element_out":
        _require(kind, "composition", method)
        return leave_element_out(inputs, **params, **flag)
    if method == "leave_chemical_system_out":
        _require(kind, "composition", method)
        return leave_chemical_system_out(inputs, **params, **flag)
    if method == "domain":
        return domain_split(inputs, kind, **params, **flag)
    if method == "cluster":
        return cluster_split(inputs, kind, **params, **flag)
    if method == "shipped":
        column = params.pop("column", ds.info.get("split_column") or "split")
        if column not in ds.extra:
            raise DataError(f"dataset {ds.name!r} ships no split (no column {column!r})")
        return shipped_split(inputs, kind, ds.extra[column], **params, **flag)
    raise ChemtlError(f"unknown split method {method!r}; choose one of {', '.join(SPLIT_METHODS)}")


def _require(kind: str, wanted: str, method: str) -> None:
    if kind != wanted:
        raise ChemtlError(f"split {method!r} needs {wanted} inputs, not {kind}")


# --------------------------------------------------------------------------------------------
# save / load


def save_split(
    split: Split | Sequence[Split], path: str | os.PathLike, inputs: Sequence[str] | None = None
) -> Path:
    """Write a split (or k folds) as JSON, atomically; with ``inputs``, record their sha256 so
    ``load_split`` can refuse a split applied to other data."""
    from chemtl.atomic import write_json
    from chemtl.data.files import sha256_strings

    folds = [split] if isinstance(split, Split) else list(split)
    payload: dict[str, Any] = {
        "format": SPLIT_FORMAT,
        "version": SPLIT_FORMAT_VERSION,
        "kfold": not isinstance(split, Split),
        "inputs_sha256": None if inputs is None else sha256_strings(inputs),
        "splits": [s.to_dict() for s in folds],
    }
    target = Path(path)
    write_json(target, payload)
    return target


def load_split(path: str | os.PathLike, inputs: Sequence[str] | None = None) -> Split | list[Split]:
    """Read a split saved by ``save_split``; with ``inputs``, check it was made for them."""
    from chemtl.data.files import sha256_strings

    where = str(path)
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"cannot read {where!r}: no such file") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {where!r} as a split file: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != SPLIT_FORMAT:
        raise DataError(f"{where}: not a chemtl split file")
    folds = [Split.from_dict(d) for d in payload["splits"]]
    if inputs is not None:
        if folds and folds[0].n != len(inputs):
            raise DataError(f"{where}: the split is for {folds[0].n} rows, the data has {len(inputs)}")
        recorded = payload.get("inputs_sha256")
        if recorded and recorded != sha256_strings(inputs):
            raise DataError(f"{where}: the split was made for other data (inputs sha256 differs)")
    return folds if payload.get("kfold") else folds[0]
