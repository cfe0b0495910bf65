"""Batches addressed by position: order a pure function of (seed, epoch), equal shards, resume."""

from __future__ import annotations

import numpy as np
import pytest

from chemtl.training.data import EpochBatches, ResumableLoader, StreamingBatches, epoch_permutation


def collate(rows, seed):
    return (list(rows), seed)


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert np.array_equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 1))
    assert not np.array_equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 2))
    assert not np.array_equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 4, 1))


def test_ranks_get_equal_shares_covering_every_row():
    shards = [EpochBatches(list(range(11)), collate, 2, seed=0, rank=r, world_size=3) for r in range(3)]
    assert [len(s) for s in shards] == [2, 2, 2]
    seen = [row for s in shards for j in range(len(s)) for row in s[(0, j)][0]]
    assert len(seen) == 12 and set(seen) == set(range(11))  # one row repeated to even the shards


def test_batch_seed_is_a_function_of_position():
    b = EpochBatches(list(range(20)), collate, 4, seed=5)
    assert b[(1, 2)] == b[(1, 2)]
    assert b[(1, 2)][1] != b[(1, 3)][1]


def test_loader_restored_mid_epoch_serves_the_remaining_batches():
    def loader():
        return ResumableLoader(EpochBatches(list(range(20)), collate, 4, seed=1))

    full = loader()
    full.set_epoch(2)
    expected = [batch for batch in full]
    resumed = loader()
    resumed.load_state_dict({"epoch": 2, "consumed": 3})
    assert [batch for batch in resumed] == expected[3:]
    # the start applies once: the next epoch is whole again
    resumed.set_epoch(3)
    assert len(list(resumed)) == 5


def test_restored_after_an_epochs_last_batch_goes_on_with_the_next_epoch():
    restored = ResumableLoader(EpochBatches(list(range(20)), collate, 4, seed=1))
    restored.load_state_dict({"epoch": 2, "consumed": 5})
    assert restored.epoch == 3 and restored.consumed == 0


def corpus(n):
    return lambda: iter([f"row{i}" for i in range(n)])


def test_stream_is_a_function_of_seed_and_epoch_with_a_bounded_buffer():
    s = StreamingBatches(corpus(100), 90, collate, 8, seed=2, buffer_size=16, skip_rows=10)
    first = [rows for rows, _ in s]
    assert [rows for rows, _ in s] == first
    flat = [r for rows in first for r in rows]
    assert len(s) == 12 and len(flat) == 90 and set(flat) == {f"row{i}" for i in range(10, 100)}
    assert flat != [f"row{i}" for i in range(10, 100)]  # shuffled
    s.epoch = 1
    assert [rows for rows, _ in s] != first


def test_stream_shards_and_resumes():
    shards = [StreamingBatches(corpus(40), 40, collate, 4, seed=0, rank=r, world_size=2) for r in range(2)]
    got = [[rows for rows, _ in s] for s in shards]
    assert [len(g) for g in got] == [5, 5]
    assert not set(sum(got[0], [])) & set(sum(got[1], []))
    loader = ResumableLoader(StreamingBatches(corpus(40), 40, collate, 4, seed=0))
    whole = list(loader)
    loader.load_state_dict({"epoch": 0, "consumed": 4})
    assert list(loader) == whole[4:]


def test_an_unresolved_auto_batch_size_is_refused():
    from chemtl.training.config import ConfigError

    message = (
        "batch_size 'auto' must be resolved from the training rows first (TrainConfig.for_rows); "
        "only finetune does that"
    )
    with pytest.raises(ConfigError) as info:
        EpochBatches(list(range(4)), collate, "auto")
    assert str(info.value) == message
    with pytest.raises(ConfigError) as info:
        StreamingBatches(lambda: iter(["a", "b"]), 2, collate, "auto")
    assert str(info.value) == message
