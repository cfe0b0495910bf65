"""Data loading whose order is a pure function of (seed, epoch), and that resumes mid-epoch.

Training batches are addressed by position: batch ``j`` of epoch ``e`` on rank ``r``. Its rows
come from a permutation drawn from ``(seed, epoch)``, its randomness (masking, and the row order
of a streaming shuffle buffer) from ``derive_seed(seed, "batch", e, j, r)``. A run that resumes at
batch ``j`` therefore sees exactly the batches, masks and order an uninterrupted run sees.

- ``EpochBatches``: map-style rows (a fine-tuning table), item ``(e, j)`` = collated batch.
- ``StreamingBatches``: an iterable over a re-openable corpus (a gzip of 1.6M SMILES) with a
  bounded shuffle buffer; memory does not grow with the corpus. Rows are sharded over DDP ranks
  (row ``i`` of each buffered window to rank ``i % world``) and batches over dataloader workers.
- ``ResumableLoader``: a DataLoader over either that Lightning saves and restores: its state is
  ``(epoch, batches consumed)``; on restore the next iteration starts at the saved batch.
- ``CyclingStream``: a second training stream (the unlabelled target domain of domain
  adaptation) that cycles through the epochs of its own ``ResumableLoader`` for as long as the
  main stream runs; its state is also ``(its epoch, batches consumed)``.

All ranks get the same number of batches per epoch (DDP needs it): rows are padded by wrapping
(map-style) or the tail is dropped (streaming).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info

from chemtl.training.seeding import derive_seed, reseed


def _check_batch_size(batch_size: Any) -> None:
    if batch_size == "auto":  # TrainConfig's sentinel, resolved by the pipeline that knows the rows
        from chemtl.training.config import ConfigError

        raise ConfigError(
            "batch_size 'auto' must be resolved from the training rows first (TrainConfig.for_rows); "
            "only finetune does that"
        )


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The row order of an epoch: a pure function of (n, seed, epoch)."""
    return np.random.default_rng(derive_seed(seed, "perm", epoch)).permutation(n)


def _identity(x: Any) -> Any:
    return x


class EpochBatches(Dataset):
    """Map-style batches of a table; item ``(epoch, j)`` is batch ``j`` of that epoch on this rank.

    ``rows`` is any sequence (``rows[i]`` a sample); ``collate(samples, seed)`` builds the batch,
    drawing any randomness (masks, views) from ``seed``, the batch's own.
    With ``shuffle=False`` every epoch has the same order (evaluation).
    """

    def __init__(
        self,
        rows: Sequence,
        collate: Callable[[list, int], Any],
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(rows) == 0:
            raise ValueError("no rows to batch")
        _check_batch_size(batch_size)
        self.rows = rows
        self.collate = collate
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.shard(rank, world_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Serve rank ``rank`` of ``world_size`` (set once the process group is known)."""
        self.rank = rank
        self.world_size = world_size
        self.rows_per_rank = math.ceil(len(self.rows) / world_size)
        self.n_batches = math.ceil(self.rows_per_rank / self.batch_size)

    def __len__(self) -> int:
        return self.n_batches

    def rank_order(self, epoch: int) -> np.ndarray:
        n = len(self.rows)
        order = epoch_permutation(n, self.seed, epoch) if self.shuffle else np.arange(n)
        total = self.rows_per_rank * self.world_size
        if total > n:  # pad by wrapping so that every rank has the same number of rows
            order = np.concatenate([order, order[: total - n]])
        return order[self.rank :: self.world_size]

    def __getitem__(self, position: tuple[int, int]) -> Any:
        epoch, j = position
        if not 0 <= j < self.n_batches:
            raise IndexError(j)
        idx = self.rank_order(epoch)[j * self.batch_size : (j + 1) * self.batch_size]
        seed = derive_seed(self.seed, "batch", epoch, j, self.rank)
        reseed(seed)
        return self.collate([self.rows[int(i)] for i in idx], seed)


class PositionSampler(Sampler):
    """Yields ``(epoch, j)`` for j from the resume position (0 unless restored) to the epoch's end."""

    def __init__(self, n_batches: int) -> None:
        self.n_batches = n_batches
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[tuple[int, int]]:
        # A generator: epoch and start are read at the first ``next``, after Lightning's
        # ``set_epoch`` and after a restored state, however early the iterator was created.
        start, self.start = self.start, 0
        epoch = self.epoch
        for j in range(start, self.n_batches):
            yield (epoch, j)


class StreamingBatches(IterableDataset):
    """Batches of strings streamed from a re-openable source, with bounded memory.

    ``open_rows()`` returns a fresh iterator over the corpus rows (strings); ``collate(rows, seed)``
    builds a batch (see ``EpochBatches``). The first ``skip_rows``
    rows are skipped (held out for validation). Rows pass through a shuffle buffer of
    ``buffer_size`` rows (``0``: corpus order), drawn from ``(seed, epoch)``; then row ``i`` goes to
    rank ``i % world_size``; then each rank cuts batches of ``batch_size``. ``n_rows`` (the number
    of streamed rows after ``skip_rows``) fixes the number of batches per epoch, identical on every
    rank: ``(n_rows // world_size) // batch_size``, plus a last partial batch on a single process.
    Memory holds the buffer and one batch, whatever the corpus size.
    """

    def __init__(
        self,
        open_rows: Callable[[], Iterable[str]],
        n_rows: int,
        collate: Callable[[list[str], int], Any],
        batch_size: int,
        seed: int = 0,
        buffer_size: int = 10_000,
        skip_rows: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        _check_batch_size(batch_size)
        self.open_rows = open_rows
        self.n_rows = n_rows
        self.collate = collate
        self.batch_size = batch_size
        self.seed = seed
        self.buffer_size = buffer_size
        self.skip_rows = skip_rows
        self.epoch = 0
        self.start = 0
        self.shard(rank, world_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Serve rank ``rank`` of ``world_size`` (set once the process group is known)."""
        if self.n_rows < world_size * self.batch_size and world_size > 1:
            raise ValueError(
                f"{self.n_rows} corpus rows cannot fill a batch on each of {world_size} processes"
            )
        self.rank = rank
        self.world_size = world_size
        per_rank = self.n_rows // world_size
        self.n_batches = (
            math.ceil(per_rank / self.batch_size) if world_size == 1 else per_rank // self.batch_size
        )

    def __len__(self) -> int:
        return self.n_batches

    def _shuffled(self, epoch: int) -> Iterator[str]:
        rows = iter(self.open_rows())
        for _ in range(self.skip_rows):
            next(rows, None)
        if self.buffer_size <= 1:
            yield from rows
            return
        rng = np.random.default_rng(derive_seed(self.seed, "stream", epoch))
        buffer: list[str] = []
        for row in rows:
            if len(buffer) < self.buffer_size:
                buffer.append(row)
                continue
            k = int(rng.integers(self.buffer_size))
            buffer[k], row = row, buffer[k]
            yield row
        rng.shuffle(buffer)
        yield from buffer

    def _rank_rows(self, epoch: int) -> Iterator[str]:
        for i, row in enumerate(self._shuffled(epoch)):
            if i % self.world_size == self.rank:
                yield row

    def __iter__(self) -> Iterator[Any]:
        # A generator: epoch and start are read at the first ``next`` (see PositionSampler).
        epoch, start = self.epoch, self.start
        self.start = 0
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        batch: list[str] = []
        j = 0
        for row in self._rank_rows(epoch):
            if j >= self.n_batches:
                break
            batch.append(row)
            if len(batch) < self.batch_size:
                continue
            if j >= start and j % n_workers == worker:
                yield self._collate(batch, epoch, j)
            batch, j = [], j + 1  # batches before ``start`` are read and dropped, never collated
        if batch and j < self.n_batches and j >= start and j % n_workers == worker:
            yield self._collate(batch, epoch, j)

    def _collate(self, rows: list[str], epoch: int, j: int) -> Any:
        seed = derive_seed(self.seed, "batch", epoch, j, self.rank)
        reseed(seed)
        return self.collate(rows, seed)


class ResumableLoader(DataLoader):
    """A DataLoader that Lightning checkpoints: state ``{"epoch", "consumed"}``.

    ``consumed`` (batches finished in the current epoch) is set by the training engine after each
    optimiser step, not counted at fetch time, so prefetching never skews it. On restore the next
    iteration starts at batch ``consumed`` of epoch ``epoch`` (a finished epoch restarts at 0).
    """

    def __init__(self, dataset: EpochBatches | StreamingBatches, num_workers: int = 0) -> None:
        self.positions: PositionSampler | None = None
        if isinstance(dataset, StreamingBatches):
            super().__init__(dataset, batch_size=None, collate_fn=_identity, num_workers=num_workers)
        else:
            self.positions = PositionSampler(len(dataset))
            super().__init__(
                dataset,
                batch_size=None,
                sampler=self.positions,
                collate_fn=_identity,
                num_workers=num_workers,
            )
        self.consumed = 0

    @property
    def n_batches(self) -> int:
        return len(self.dataset)

    def shard(self, rank: int, world_size: int) -> None:
        """Serve rank ``rank`` of ``world_size``: each rank gets its share of every epoch."""
        self.dataset.shard(rank, world_size)
        if self.positions is not None:
            self.positions.n_batches = len(self.dataset)

    @property
    def epoch(self) -> int:
        return self.positions.epoch if self.positions is not None else self.dataset.epoch

    def set_epoch(self, epoch: int) -> None:
        if self.positions is not None:
            self.positions.set_epoch(epoch)
        else:
            self.dataset.epoch = epoch

    def _set_start(self, start: int) -> None:
        if self.positions is not None:
            self.positions.start = start
        else:
            self.dataset.start = start

    def __iter__(self):
        it = super().__iter__()
        if self.num_workers > 0:
            self._set_start(0)  # the workers hold their own copies of the start position
        return it

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self.epoch), "consumed": int(self.consumed)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, consumed = int(state["epoch"]), int(state["consumed"])
        if consumed >= self.n_batches:  # saved after the epoch's last batch: go on with the next
            epoch, consumed = epoch + 1, 0
        self.set_epoch(epoch)
        self.consumed = max(consumed, 0)
        self._set_start(self.consumed)


class CyclingStream:
    """An endless training stream over a ``ResumableLoader``: its epoch 0, then its epoch 1, ...

    Combined with the main loader (``chemtl.training.engine.fit`` with a dict of loaders), it
    gives one batch per main batch; its own epochs (and so its row order) advance each time it
    runs out, independently of the main stream's. ``advance()`` is called by the engine after each
    optimiser step (not at fetch time, so prefetching never skews the count); a new iteration
    starts at the saved position, so a restored state continues exactly where the run stopped.
    """

    def __init__(self, loader: ResumableLoader) -> None:
        self.loader = loader
        self.epoch = 0
        self.consumed = 0

    @property
    def n_batches(self) -> int:
        return self.loader.n_batches

    def shard(self, rank: int, world_size: int) -> None:
        self.loader.shard(rank, world_size)

    def advance(self) -> None:
        self.consumed += 1
        if self.consumed >= self.n_batches:
            self.epoch, self.consumed = self.epoch + 1, 0

    def __iter__(self) -> Iterator[Any]:
        # A generator: the position is read at the first ``next`` (see PositionSampler).
        epoch, start = self.epoch, self.consumed
        while True:
            self.loader.set_epoch(epoch)
            self.loader._set_start(start)
            yield from self.loader
            epoch, start = epoch + 1, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self.epoch), "consumed": int(self.consumed)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.consumed = int(state["epoch"]), int(state["consumed"])


def eval_loader(
    rows: Sequence, collate: Callable[[list, int], Any], batch_size: int, seed: int = 0
) -> DataLoader:
    """All rows in order, unsharded (every rank scores the whole set); batch ``j`` is collated
    with seed ``derive_seed(seed, "eval", j)``, the same at every evaluation."""
    return DataLoader(_EvalBatches(rows, collate, batch_size, seed), batch_size=None, collate_fn=_identity)


class _EvalBatches(Dataset):
    def __init__(
        self, rows: Sequence, collate: Callable[[list, int], Any], batch_size: int, seed: int
    ) -> None:
        self.rows = rows
        self.collate = collate
        self.batch_size = batch_size
        self.seed = seed

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, j: int) -> Any:
        if not 0 <= j < len(self):
            raise IndexError(j)
        rows = [
            self.rows[i] for i in range(j * self.batch_size, min((j + 1) * self.batch_size, len(self.rows)))
        ]
        return self.collate(rows, derive_seed(self.seed, "eval", j))
