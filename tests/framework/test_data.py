"""mt.utils.data against torch.utils.data: TensorDataset, DataLoader (batches, shuffling, drop_last,
collation), random_split, Subset, ConcatDataset, and mt.Generator."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import minitorch_dg as mt
from minitorch_dg.utils.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def _dataset(n: int = 10) -> TensorDataset:
    x = mt.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = mt.tensor(np.arange(n) % 4)
    return TensorDataset(x, y)


def _rows(batch: Any) -> list[int]:
    return [int(v) for v in batch[0].to_numpy()[:, 0] // 3]


def test_tensor_dataset() -> None:
    ds = _dataset(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert x.tolist() == [6.0, 7.0, 8.0] and y.item() == 2
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(mt.zeros(3, 2), mt.zeros(4))


@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (10, 5, False), (10, 5, True),
                                                    (7, 10, False), (7, 10, True), (1, 1, False)])
def test_batches_in_order_like_torch(n: int, batch_size: int, drop_last: bool) -> None:
    mine = DataLoader(_dataset(n), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.arange(n * 3.0).reshape(n, 3), torch.arange(n) % 4),
                              batch_size=batch_size, drop_last=drop_last)
    assert len(mine) == len(theirs)
    got = list(mine)
    want = list(theirs)
    assert len(got) == len(want)
    assert all(isinstance(batch, list) for batch in got), "tuple samples collate to a list, as in torch"
    for (gx, gy), (wx, wy) in zip(got, want):
        assert gx.dtype is mt.float32 and gy.dtype is mt.int64
        assert np.array_equal(gx.to_numpy(), wx.numpy()) and np.array_equal(gy.to_numpy(), wy.numpy())


def test_shuffle_visits_every_sample_once_per_epoch_in_a_new_order() -> None:
    loader = DataLoader(_dataset(20), batch_size=6, shuffle=True, generator=mt.Generator().manual_seed(0))
    epochs = [[i for batch in loader for i in _rows(batch)] for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != epochs[1] != epochs[2]
    again = DataLoader(_dataset(20), batch_size=6, shuffle=True, generator=mt.Generator().manual_seed(0))
    assert [i for batch in again for i in _rows(batch)] == epochs[0], "the same seed must give the same order"


def test_shuffle_without_a_generator_follows_manual_seed() -> None:
    def first_epoch() -> list[int]:
        return [i for batch in DataLoader(_dataset(15), batch_size=4, shuffle=True) for i in _rows(batch)]

    mt.manual_seed(3)
    a = first_epoch()
    mt.manual_seed(3)
    b = first_epoch()
    mt.manual_seed(4)
    c = first_epoch()
    assert a == b and a != c


def test_drop_last_with_shuffle_drops_only_the_short_batch() -> None:
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, drop_last=True, generator=mt.Generator().manual_seed(1))
    sizes = [len(_rows(b)) for b in loader]
    assert sizes == [4, 4] and len(loader) == 2


def test_loader_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(ValueError, match="num_workers=0"):
        DataLoader(_dataset(), num_workers=2)


class Pairs(Dataset):
    """A dataset whose samples are not tensors, to exercise default_collate."""

    Point = namedtuple("Point", "x y")

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> Any:
        if self.kind == "tuple":
            return (float(i) / 2, i, np.array([i, i + 1], dtype=np.float32), "s" + str(i), i % 2 == 0)
        if self.kind == "dict":
            return {"value": float(i), "label": i, "vec": [i, 2 * i]}
        return self.Point(i, float(i))


def _same(got: Any, want: Any) -> None:
    if isinstance(want, torch.Tensor):
        assert isinstance(got, mt.Tensor), f"expected a tensor, got {type(got).__name__}"
        assert got.dtype.name == str(want.dtype).replace("torch.", "")
        assert np.array_equal(got.to_numpy(), want.numpy())
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            _same(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got).__name__ == type(want).__name__ and len(got) == len(want)
        for a, b in zip(got, want):
            _same(a, b)
    else:
        assert got == want


@pytest.mark.parametrize("kind", ["tuple", "dict", "namedtuple"])
def test_default_collate_matches_torch(kind: str) -> None:
    ds = Pairs(kind)
    got = next(iter(DataLoader(ds, batch_size=3)))
    want = next(iter(tdata.DataLoader(ds, batch_size=3)))  # torch collates the same Python samples
    _same(got, want)


def test_custom_collate_fn() -> None:
    loader = DataLoader(_dataset(6), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 2]


def test_collate_refuses_ragged_tensors() -> None:
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([mt.zeros(2), mt.zeros(3)])


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.34, 0.33, 0.33], [10, 0]])
def test_random_split(lengths: list[Any]) -> None:
    ds = _dataset(10)
    parts = random_split(ds, lengths, generator=mt.Generator().manual_seed(5))
    expected = [len(p) for p in tdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(5))]
    assert [len(p) for p in parts] == expected, "the same sizes as torch (fractions: remainders dealt in order)"
    indices = [i for p in parts for i in p.indices]
    assert sorted(indices) == list(range(10)), "the parts cover the data set exactly once"
    again = random_split(ds, lengths, generator=mt.Generator().manual_seed(5))
    assert [p.indices for p in again] == [p.indices for p in parts]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])


def test_subset_and_concat_feed_a_loader() -> None:
    ds = _dataset(10)
    sub = Subset(ds, [9, 0, 4])
    assert [_rows(b) for b in DataLoader(sub, batch_size=2)] == [[9, 0], [4]]
    both = ConcatDataset([sub, Subset(ds, [1])])
    assert len(both) == 4 and int(both[3][1].item()) == 1 and int(both[-1][1].item()) == 1
    assert [_rows(b) for b in DataLoader(both, batch_size=4)] == [[9, 0, 4, 1]]
    slow = next(iter(DataLoader(sub, batch_size=3, collate_fn=default_collate)))
    fast = next(iter(DataLoader(sub, batch_size=3)))
    assert type(slow) is type(fast) and all(np.array_equal(a.to_numpy(), b.to_numpy()) for a, b in zip(slow, fast))


def test_generator() -> None:
    g = mt.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(12) is g and g.initial_seed() == 12
    with pytest.raises(ValueError):
        mt.Generator("cuda")
