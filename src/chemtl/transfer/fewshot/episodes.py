"""N-way K-shot episodes with Q queries per class, seeded, stratified and compound-disjoint.

Classification (``sample_episode``):

- a class is *eligible* when it holds at least ``k_shot + (n_query or 1)`` distinct compounds
  (compound keys of ``chemtl.data.keys.compound_keys``: reduced formula or canonical SMILES, so
  ``As2`` and ``As4``, or two SMILES of one molecule, are one compound); the others are listed in
  ``Episode.skipped_classes``;
- ``n_way`` classes are drawn among the eligible ones (None: every eligible class) and kept in
  class-id order (position = episode label);
- per class, K support rows of K distinct compounds (``support="random"``: drawn at random;
  ``"kmeans"``: ``support.kmeans_select`` on the ``embeddings`` of one row per compound of the
  class);
- the query: rows of the chosen classes whose compound is not in the support, ``n_query`` per
  class drawn at random, or every such row with ``n_query=None``.

Regression: K support rows (distinct compounds) from the whole task and a query of ``n_query``
rows, or every row whose compound is not in the support.

Seeds: episode ``index`` of a stream depends only on ``(seed, task name, index)``, through
``chemtl.training.seeding.derive_seed``; ``sample_episodes`` gives episode ``i`` to the ``i % T``-th
of the T tasks big enough for the request (round robin), so the episodes of a task never depend on
which other tasks are in the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chemtl.errors import ChemtlError

SUPPORT_CHOICES = ("random", "kmeans")


class EpisodeError(ChemtlError, ValueError):
    """An episode that cannot be drawn as asked (K too large, too few classes, no embeddings)."""


class TaskTooSmallError(EpisodeError):
    """A task without enough compounds or classes for the episode asked for."""


@dataclass(frozen=True, eq=False)
class Episode:
    """One episode: row indices into ``task.inputs`` for the support and the query."""

    task: str
    classes: tuple[int, ...]
    support: np.ndarray
    query: np.ndarray
    skipped_classes: tuple[int, ...]
    index: int

    def _labels(self, task, rows: np.ndarray) -> np.ndarray:
        if task.name != self.task:
            raise EpisodeError(f"episode of task {self.task!r} given task {task.name!r}")
        values = np.asarray(task.labels)[rows]
        if task.task != "classification":
            return values.astype(np.float64)
        lookup = {c: j for j, c in enumerate(self.classes)}
        return np.asarray([lookup[int(v)] for v in values], dtype=np.int64)

    def support_labels(self, task) -> np.ndarray:
        """Episode labels 0..N-1 (classification: position in ``classes``) or the float targets."""
        return self._labels(task, self.support)

    def query_labels(self, task) -> np.ndarray:
        return self._labels(task, self.query)


def _check_int(name: str, value, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise EpisodeError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_request(k_shot, n_way, n_query, support) -> None:
    _check_int("k_shot", k_shot, 1)
    _check_int("n_way", n_way, 2, allow_none=True)
    _check_int("n_query", n_query, 1, allow_none=True)
    if support not in SUPPORT_CHOICES:
        raise EpisodeError(
            f"unknown support selection {support!r}; choose one of {', '.join(SUPPORT_CHOICES)}"
        )


def _first_per_key(rows: np.ndarray, keys: list[str], exclude: set[str]) -> np.ndarray:
    """The first row (in ``rows`` order) of every compound key not in ``exclude``."""
    seen = set(exclude)
    out = []
    for r in rows:
        k = keys[r]
        if k not in seen:
            seen.add(k)
            out.append(r)
    return np.asarray(out, dtype=np.int64)


def _eligible(task, keys: list[str], k_shot: int, n_way, n_query) -> tuple[list[int], list[int]]:
    """(eligible class ids, skipped class ids); raises ``TaskTooSmallError``."""
    need = k_shot + (n_query or 1)
    labels = np.asarray(task.labels)
    members = [len({keys[i] for i in np.flatnonzero(labels == c)}) for c in range(len(task.classes))]
    eligible = [c for c, m in enumerate(members) if m >= need]
    skipped = [c for c, m in enumerate(members) if m < need]
    largest = max(members) if members else 0
    if k_shot > largest:
        raise TaskTooSmallError(
            f"k_shot {k_shot} is larger than every class of task {task.name!r} (largest {largest})"
        )
    wanted = 2 if n_way is None else n_way
    if len(eligible) < wanted:
        raise TaskTooSmallError(
            f"task {task.name!r} has {len(eligible)} class(es) with k_shot + n_query = {need} compounds "
            f"or more, needs {wanted} (compounds per class: "
            + ", ".join(f"{task.classes[c]!r} {m}" for c, m in enumerate(members))
            + ")"
        )
    return eligible, skipped


def _choose_support(
    candidates: np.ndarray, k: int, support: str, embeddings, rng: np.random.Generator, seed: int
) -> np.ndarray:
    """K rows of ``candidates`` (one row per compound already)."""
    if support == "random":
        return candidates[rng.permutation(len(candidates))[:k]]
    from chemtl.transfer.fewshot.support import kmeans_select

    return candidates[kmeans_select(embeddings[candidates], k, seed=seed)]


def sample_episode(
    task,
    k_shot: int,
    *,
    n_way: int | None = None,
    n_query: int | None = None,
    seed: int = 0,
    index: int = 0,
    support: str = "random",
    embeddings: np.ndarray | None = None,
) -> Episode:
    """Episode ``index`` of the stream ``seed`` on ``task`` (see the module docstring)."""
    from chemtl.data.keys import compound_keys
    from chemtl.seeds import derive_seed

    _check_request(k_shot, n_way, n_query, support)
    n = len(task.inputs)
    if support == "kmeans":
        if embeddings is None:
            raise EpisodeError(f"support 'kmeans' needs the embeddings of task {task.name!r}")
        if len(embeddings) != n:
            raise EpisodeError(f"{len(embeddings)} embeddings for the {n} rows of task {task.name!r}")
    episode_seed = derive_seed(seed, "episode", task.name, int(index))
    rng = np.random.default_rng(episode_seed)
    keys = compound_keys(list(task.inputs), task.kind)
    if task.task != "classification":
        return _regression_episode(
            task, keys, k_shot, n_query, int(index), support, embeddings, rng, episode_seed
        )

    eligible, skipped = _eligible(task, keys, k_shot, n_way, n_query)
    chosen = sorted(eligible if n_way is None else rng.choice(eligible, size=n_way, replace=False).tolist())
    labels = np.asarray(task.labels)
    support_rows: list[np.ndarray] = []
    taken: set[str] = set()
    for j, c in enumerate(chosen):
        rows = rng.permutation(np.flatnonzero(labels == c))
        candidates = _first_per_key(rows, keys, taken)
        if len(candidates) < k_shot + (n_query or 1):  # a compound labelled with two classes
            raise TaskTooSmallError(
                f"task {task.name!r}: class {task.classes[c]!r} has {len(candidates)} compounds left after "
                f"the support of the other classes, needs {k_shot + (n_query or 1)}"
            )
        picked = _choose_support(candidates, k_shot, support, embeddings, rng, derive_seed(episode_seed, j))
        support_rows.append(picked)
        taken.update(keys[r] for r in picked)
    query_rows = []
    for c in chosen:
        rest = np.asarray([r for r in np.flatnonzero(labels == c) if keys[r] not in taken], dtype=np.int64)
        if n_query is not None:
            if len(rest) < n_query:
                raise TaskTooSmallError(
                    f"task {task.name!r}: class {task.classes[c]!r} has {len(rest)} query rows outside the "
                    f"support, needs n_query {n_query}"
                )
            rest = np.sort(rng.choice(rest, size=n_query, replace=False))
        query_rows.append(rest)
    return Episode(
        task=task.name,
        classes=tuple(int(c) for c in chosen),
        support=np.concatenate(support_rows).astype(np.int64),
        query=np.concatenate(query_rows).astype(np.int64),
        skipped_classes=tuple(int(c) for c in skipped),
        index=int(index),
    )


def _regression_episode(
    task, keys, k_shot, n_query, index, support, embeddings, rng, episode_seed
) -> Episode:
    from chemtl.seeds import derive_seed

    candidates = _first_per_key(rng.permutation(len(task.inputs)), keys, set())
    need = k_shot + (n_query or 1)
    if len(candidates) < need:
        raise TaskTooSmallError(
            f"task {task.name!r} has {len(candidates)} compounds, fewer than k_shot + n_query = {need}"
        )
    picked = _choose_support(candidates, k_shot, support, embeddings, rng, derive_seed(episode_seed, 0))
    taken = {keys[r] for r in picked}
    rest = np.asarray([r for r in range(len(task.inputs)) if keys[r] not in taken], dtype=np.int64)
    if n_query is not None:
        rest = np.sort(rng.choice(rest, size=n_query, replace=False))
    return Episode(task.name, (), picked.astype(np.int64), rest, (), index)


def usable_tasks(tasks, k_shot: int, *, n_way=None, n_query=None) -> tuple[list, dict[str, str]]:
    """(the tasks big enough for the request, {task name: why not} for the others)."""
    from chemtl.data.keys import compound_keys

    _check_request(k_shot, n_way, n_query, "random")
    ok, too_small = [], {}
    for task in tasks:
        keys = compound_keys(list(task.inputs), task.kind)
        try:
            if task.task == "classification":
                _eligible(task, keys, k_shot, n_way, n_query)
            elif len(set(keys)) < k_shot + (n_query or 1):
                raise TaskTooSmallError(
                    f"task {task.name!r} has {len(set(keys))} compounds, fewer than k_shot + n_query = "
                    f"{k_shot + (n_query or 1)}"
                )
        except TaskTooSmallError as exc:
            too_small[task.name] = str(exc)
            continue
        ok.append(task)
    return ok, too_small


def sample_episodes(
    tasks: list,
    k_shot: int,
    n_episodes: int,
    *,
    n_way: int | None = None,
    n_query: int | None = None,
    seed: int = 0,
    support: str = "random",
    embeddings: dict[str, np.ndarray] | None = None,
) -> list[Episode]:
    """``n_episodes`` episodes, round robin over the tasks big enough for the request (tasks too
    small are left out; ``usable_tasks`` says which and why); an error when none is."""
    _check_request(k_shot, n_way, n_query, support)
    _check_int("n_episodes", n_episodes, 1)
    if not tasks:
        raise EpisodeError("no tasks to draw episodes from")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise EpisodeError(f"task names repeat ({next(n for n in names if names.count(n) > 1)!r})")
    ok, too_small = usable_tasks(tasks, k_shot, n_way=n_way, n_query=n_query)
    if not ok:
        first = next(iter(too_small.values()))
        raise EpisodeError(
            f"every task is too small for k_shot {k_shot}"
            + (f", n_query {n_query}" if n_query else "")
            + (f", n_way {n_way}" if n_way else "")
            + f" ({len(too_small)} tasks; first: {first})"
        )
    if support == "kmeans":
        missing = [t.name for t in ok if embeddings is None or t.name not in embeddings]
        if missing:
            raise EpisodeError(f"support 'kmeans' needs the embeddings of task {missing[0]!r}")
    return [
        sample_episode(
            ok[i % len(ok)],
            k_shot,
            n_way=n_way,
            n_query=n_query,
            seed=seed,
            index=i,
            support=support,
            embeddings=None if embeddings is None else embeddings.get(ok[i % len(ok)].name),
        )
        for i in range(n_episodes)
    ]
