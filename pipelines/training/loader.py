"""DeviceLoader: mini-batches cut on the device, with no per-row Dataset and no collate.

Each epoch draws a global permutation from a seeded generator on the tensors' device (seed + epoch, see
`set_epoch`), so the same seed gives the same order on the same device, and batches are index gathers of it.
`shuffle=False` gives the evaluation pass in order, as slices. `drop_last` skips the last partial batch.
`batches` caps the batches per epoch: the processes of a distributed run hold shards that may differ by a few
rows, and each must take the same number of steps (a process with one more step waits forever for the others).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from pipelines.errors import ConfigError


class DeviceLoader:
    """Iterate (batch of tensor 0, batch of tensor 1, ...) over tensors that share their first dimension."""

    def __init__(
        self,
        tensors: tuple[torch.Tensor, ...],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        batches: int | None = None,
    ):
        rows = {t.shape[0] for t in tensors}
        if len(rows) != 1:
            raise ConfigError(f"DeviceLoader needs tensors with the same number of rows, found {sorted(rows)}.")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, found {batch_size}.")
        if batches is not None and batches < 0:
            raise ConfigError(f"batches must be at least 0, found {batches}.")
        self.tensors = tensors
        self.rows = rows.pop()
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.batches = batches
        self.epoch = 0
        self.device = tensors[0].device

    def __len__(self) -> int:
        full, rest = divmod(self.rows, self.batch_size)
        count = full + (1 if rest and not self.drop_last else 0)
        return count if self.batches is None else min(count, self.batches)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            generator = torch.Generator(device=self.device).manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.rows, generator=generator, device=self.device)
        else:
            order = None
        stop = min(self.rows, len(self) * self.batch_size)
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, self.rows)
            if order is None:
                yield tuple(t[start:end] for t in self.tensors)
            else:
                index = order[start:end]
                yield tuple(t.index_select(0, index) for t in self.tensors)
