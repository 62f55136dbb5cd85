"""DeviceLoader: seeded global shuffles, in-order evaluation passes, batch counts (CPU tensors)."""

from __future__ import annotations

import pytest
import torch

from pipelines.errors import ConfigError
from pipelines.training.loader import DeviceLoader

ROWS = 103


def _tensors() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.arange(ROWS)
    features = torch.stack([ids.float(), -ids.float()], dim=1)
    return ids, features


def _order(loader: DeviceLoader) -> torch.Tensor:
    return torch.cat([ids for ids, _ in loader])


def test_each_epoch_visits_every_row_once_and_keeps_rows_aligned():
    loader = DeviceLoader(_tensors(), batch_size=10, shuffle=True, seed=7)
    for epoch in range(3):
        loader.set_epoch(epoch)
        for ids, features in loader:
            assert torch.equal(features[:, 0], ids.float())
            assert torch.equal(features[:, 1], -ids.float())
        order = _order(loader)
        assert torch.equal(torch.sort(order).values, torch.arange(ROWS))
        assert not torch.equal(order, torch.arange(ROWS))


def test_shuffle_is_global_not_within_batches():
    loader = DeviceLoader(_tensors(), batch_size=10, shuffle=True, seed=0)
    first = next(iter(loader))[0]
    assert first.max() >= 10  # rows from outside the first in-order block


def test_same_seed_and_epoch_give_the_same_order():
    a = DeviceLoader(_tensors(), batch_size=16, seed=3)
    b = DeviceLoader(_tensors(), batch_size=16, seed=3)
    a.set_epoch(2)
    b.set_epoch(2)
    assert torch.equal(_order(a), _order(b))
    assert torch.equal(_order(a), _order(a))  # iterating again repeats the epoch


def test_another_epoch_or_seed_gives_another_order():
    loader = DeviceLoader(_tensors(), batch_size=16, seed=3)
    first = _order(loader)
    loader.set_epoch(1)
    assert not torch.equal(_order(loader), first)
    assert not torch.equal(_order(DeviceLoader(_tensors(), batch_size=16, seed=4)), first)


def test_without_shuffle_rows_come_in_order():
    batches = list(DeviceLoader(_tensors(), batch_size=25, shuffle=False))
    assert [len(ids) for ids, _ in batches] == [25, 25, 25, 25, 3]
    assert torch.equal(torch.cat([ids for ids, _ in batches]), torch.arange(ROWS))


@pytest.mark.parametrize(
    ("batch_size", "drop_last", "sizes"),
    [
        (25, False, [25, 25, 25, 25, 3]),
        (25, True, [25, 25, 25, 25]),
        (103, True, [103]),
        (200, False, [103]),
        (200, True, []),
        (1, True, [1] * ROWS),
    ],
)
@pytest.mark.parametrize("shuffle", [True, False])
def test_drop_last_batch_counts_and_len(batch_size, drop_last, sizes, shuffle):
    loader = DeviceLoader(_tensors(), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(ids) for ids, _ in batches] == sizes
    seen = torch.cat([ids for ids, _ in batches]) if batches else torch.empty(0, dtype=torch.long)
    assert len(torch.unique(seen)) == sum(sizes)


def test_mismatched_row_counts_are_a_config_error():
    with pytest.raises(ConfigError, match=r"same number of rows, found \[9, 10\]"):
        DeviceLoader((torch.zeros(10), torch.zeros(9, 3)), batch_size=4)


def test_batch_size_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="batch_size"):
        DeviceLoader(_tensors(), batch_size=0)


@pytest.mark.parametrize(("rows", "batches"), [(103, 4), (100, 4), (97, 4)])
def test_batches_caps_an_epoch_so_shards_of_unequal_size_take_equal_steps(rows, batches):
    """A distributed run gives each process a shard of its own size; `batches` makes their step counts equal."""
    ids = torch.arange(rows)
    loader = DeviceLoader((ids,), batch_size=24, seed=1, drop_last=True, batches=batches)
    sizes = [len(batch) for (batch,) in loader]
    assert len(loader) == batches and sizes == [24] * batches
    order = torch.cat([batch for (batch,) in loader])
    assert len(torch.unique(order)) == 24 * batches  # distinct rows, drawn from the whole shard's permutation
    loader.set_epoch(1)
    assert not torch.equal(torch.cat([batch for (batch,) in loader]), order)


def test_batches_over_what_the_rows_give_is_what_they_give():
    loader = DeviceLoader(_tensors(), batch_size=25, drop_last=True, batches=10)
    assert len(loader) == 4 and [len(ids) for ids, _ in loader] == [25] * 4
    with pytest.raises(ConfigError, match="batches must be at least 0"):
        DeviceLoader(_tensors(), batch_size=4, batches=-1)
