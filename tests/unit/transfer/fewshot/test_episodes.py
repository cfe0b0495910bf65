"""Episodes: N classes of K support and Q query each, compound-disjoint, seeded, skipped classes."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.data.keys import compound_keys
from chemtl.data.tasks import FewShotTask
from chemtl.transfer.fewshot.episodes import EpisodeError, sample_episode, sample_episodes, usable_tasks

ELEMENTS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Ti", "Fe", "Co", "Ni", "Cu", "Zn", "Al", "Ga", "In"]


def doubled_compositions(n: int, offset: int = 0) -> list[str]:
    """``2n`` rows: ``n`` compounds, each spelled twice (``AB`` and ``A2B2``, ``As2`` and ``As4``)."""
    out = []
    for i in range(offset, offset + n):
        a, b = ELEMENTS[i % 16], ["O", "S", "Se", "F", "Cl", "N"][i // 16]
        out += [f"{a}{b}", f"{a}2{b}2"]
    return out


def comp_task(sizes=(12, 12, 12, 3), name="t") -> FewShotTask:
    """Class c has ``sizes[c]`` compounds, each in two spellings (2 * size rows)."""
    inputs, labels, offset = [], [], 0
    for c, size in enumerate(sizes):
        inputs += doubled_compositions(size, offset)
        labels += [c] * (2 * size)
        offset += size
    classes = tuple(f"c{c}" for c in range(len(sizes)))
    return FewShotTask(
        name, "composition", "classification", tuple(inputs), np.asarray(labels), classes, "all", {}
    )


def test_composition_keys_see_two_spellings_as_one_compound():
    assert compound_keys(["As2", "As4", "Fe2O3", "Fe4O6"], "composition") == ["As", "As", "Fe2O3", "Fe2O3"]
    keys = compound_keys(doubled_compositions(60), "composition")
    assert len(set(keys)) == 60 and keys[0::2] == keys[1::2]


def test_an_episode_holds_n_classes_of_k_support_and_q_query_disjoint_by_compound():
    task = comp_task()
    ep = sample_episode(task, 3, n_way=2, n_query=4, seed=0, index=0)
    assert len(ep.classes) == 2 and set(ep.classes) <= {0, 1, 2}
    assert list(ep.classes) == sorted(ep.classes)
    labels = task.labels
    for c in ep.classes:
        assert int((labels[ep.support] == c).sum()) == 3
        assert int((labels[ep.query] == c).sum()) == 4
    assert set(labels[ep.support]) | set(labels[ep.query]) == set(ep.classes)
    keys = compound_keys(list(task.inputs), "composition")
    support_keys = {keys[i] for i in ep.support}
    assert len(support_keys) == 6  # K distinct compounds per class
    assert not support_keys & {keys[i] for i in ep.query}
    assert ep.skipped_classes == (3,)
    assert ep.support_labels(task).tolist() == [0, 0, 0, 1, 1, 1]
    assert ep.query_labels(task).tolist() == [0] * 4 + [1] * 4


def test_the_query_without_n_query_is_every_row_of_a_compound_outside_the_support():
    task = comp_task()
    ep = sample_episode(task, 5, seed=2)
    assert ep.classes == (0, 1, 2)  # every eligible class
    # 3 classes x 12 compounds x 2 spellings, minus both spellings of the 15 support compounds
    assert len(ep.support) == 15 and len(ep.query) == 72 - 30
    keys = compound_keys(list(task.inputs), "composition")
    assert not {keys[i] for i in ep.support} & {keys[i] for i in ep.query}


def test_two_smiles_of_one_molecule_never_straddle_support_and_query():
    base = ["CCO", "CCN", "CCC", "CCCl", "CCBr", "c1ccccc1", "CC(=O)O", "CCOC"]
    other = ["OCC", "NCC", "C(C)C", "ClCC", "BrCC", "C1=CC=CC=C1", "OC(C)=O", "COCC"]
    inputs = base + other + ["C", "CC", "CCCC", "CCCCC", "O", "N", "CN", "CS"]
    labels = np.asarray([0] * 16 + [1] * 8)
    task = FewShotTask("mols", "smiles", "classification", tuple(inputs), labels, ("a", "b"), "all", {})
    for index in range(20):
        ep = sample_episode(task, 4, n_query=3, seed=1, index=index)
        keys = compound_keys(inputs, "smiles")
        assert not {keys[i] for i in ep.support} & {keys[i] for i in ep.query}
        assert len(ep.support) == 8 and len(ep.query) == 6


def test_same_seed_same_episodes_other_seed_other_ones():
    task = comp_task()
    a = sample_episodes([task], 3, 5, n_way=2, n_query=2, seed=11)
    b = sample_episodes([task], 3, 5, n_way=2, n_query=2, seed=11)
    c = sample_episodes([task], 3, 5, n_way=2, n_query=2, seed=12)
    assert [(e.classes, e.support.tolist(), e.query.tolist()) for e in a] == [
        (e.classes, e.support.tolist(), e.query.tolist()) for e in b
    ]
    assert [e.support.tolist() for e in a] != [e.support.tolist() for e in c]
    assert len({tuple(e.support.tolist()) for e in a}) == 5  # episodes of one stream differ


def test_round_robin_and_each_episode_depends_only_on_seed_task_and_index():
    t1, t2 = comp_task(name="one"), comp_task(sizes=(8, 8), name="two")
    eps = sample_episodes([t1, t2], 2, 4, n_query=2, seed=3)
    assert [e.task for e in eps] == ["one", "two", "one", "two"]
    assert [e.index for e in eps] == [0, 1, 2, 3]
    alone = sample_episode(t2, 2, n_query=2, seed=3, index=3)
    assert eps[3].support.tolist() == alone.support.tolist()
    assert eps[3].query.tolist() == alone.query.tolist()


def test_tasks_too_small_are_left_out_and_named():
    big, small = comp_task(name="big"), comp_task(sizes=(3, 3), name="small")
    ok, too_small = usable_tasks([big, small], 4, n_query=2)
    assert [t.name for t in ok] == ["big"]
    assert too_small == {"small": "k_shot 4 is larger than every class of task 'small' (largest 3)"}
    assert {e.task for e in sample_episodes([big, small], 4, 3, n_query=2)} == {"big"}


def test_kmeans_support_takes_one_member_of_each_cluster():
    task = comp_task(sizes=(12, 12))
    rng = np.random.default_rng(0)
    # in each class, compounds 0-3, 4-7, 8-11 form three far-apart clusters (both spellings)
    cluster = np.asarray([(i // 2 % 12) // 4 for i in range(48)])
    emb = 100.0 * np.eye(3)[cluster] + rng.normal(0, 0.1, size=(48, 3))
    ep = sample_episode(task, 3, n_query=2, support="kmeans", embeddings=emb, seed=0)
    for c in (0, 1):
        rows = [i for i in ep.support if task.labels[i] == c]
        assert sorted(cluster[rows].tolist()) == [0, 1, 2]


def test_a_regression_episode_is_k_support_and_the_rest_disjoint():
    inputs = tuple(doubled_compositions(20))
    task = FewShotTask("r", "composition", "regression", inputs, np.arange(40, dtype=float), (), "all", {})
    ep = sample_episode(task, 10, seed=0)
    assert ep.classes == () and ep.skipped_classes == ()
    assert len(ep.support) == 10 and len(ep.query) == 20
    assert ep.support_labels(task).tolist() == [float(i) for i in ep.support]
    ep2 = sample_episode(task, 10, n_query=5, seed=0)
    assert len(ep2.query) == 5


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda t: sample_episode(t, 16),
            "k_shot 16 is larger than every class of task 't' (largest 12)",
        ),
        (
            lambda t: sample_episode(t, 11, n_query=2),
            "task 't' has 0 class(es) with k_shot + n_query = 13 compounds or more, needs 2 "
            "(compounds per class: 'c0' 12, 'c1' 12, 'c2' 12, 'c3' 3)",
        ),
        (
            lambda t: sample_episode(t, 3, n_way=4, n_query=2),
            "task 't' has 3 class(es) with k_shot + n_query = 5 compounds or more, needs 4 "
            "(compounds per class: 'c0' 12, 'c1' 12, 'c2' 12, 'c3' 3)",
        ),
        (lambda t: sample_episode(t, 0), "k_shot must be an integer >= 1, got 0"),
        (lambda t: sample_episode(t, 2, n_way=1), "n_way must be an integer >= 2, got 1"),
        (
            lambda t: sample_episode(t, 2, support="kmeans"),
            "support 'kmeans' needs the embeddings of task 't'",
        ),
        (
            lambda t: sample_episodes([t], 13, 5),
            "every task is too small for k_shot 13 (1 tasks; first: k_shot 13 is larger than every "
            "class of task 't' (largest 12))",
        ),
    ],
)
def test_errors_are_one_line_naming_the_value(call, message):
    with pytest.raises(EpisodeError) as info:
        call(comp_task())
    assert str(info.value) == message


def test_one_eligible_class_is_refused():
    with pytest.raises(EpisodeError) as info:
        sample_episode(comp_task(sizes=(12, 3)), 5)
    assert str(info.value) == (
        "task 't' has 1 class(es) with k_shot + n_query = 6 compounds or more, needs 2 "
        "(compounds per class: 'c0' 12, 'c1' 3)"
    )
