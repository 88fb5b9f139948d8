"""`mt.utils.data`: datasets, mini-batches and splits, with torch's names and meaning.

    ds = TensorDataset(x, y)                       # samples (x[i], y[i])
    train, test = random_split(ds, [0.8, 0.2], generator=mt.Generator().manual_seed(0))
    for xb, yb in DataLoader(train, batch_size=32, shuffle=True):
        ...

Shuffling draws from `generator` when one is given, otherwise from mt's global generator (so that
mt.manual_seed makes a whole training run reproducible). Loading runs in the calling process.
"""

from __future__ import annotations

import collections.abc
import math
from collections.abc import Callable, Iterator, Sequence
from numbers import Number
from typing import Any

import numpy as np

from ..creation import default_generator
from ..creation import tensor as make_tensor
from ..dtypes import float64, int64
from ..ops import stack
from ..random import Generator
from ..tensor import Tensor

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split",
           "ConcatDataset", "DistributedSampler"]


class Dataset:
    """A map-style dataset: subclasses define __getitem__(i) -> sample and __len__()."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__(self)")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is (t[i] for t in tensors); every tensor must have the same first dim."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes Tensors, got {type(t).__name__}")
            if t.dim() == 0:
                raise ValueError("TensorDataset needs tensors with a first (sample) dim, got a 0-d tensor")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"Size mismatch between tensors: their first dims are {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch(self, indices: Sequence[int]) -> list[Tensor]:
        """What default_collate makes of the samples at `indices` (a list, as for any tuple samples), in one
        gather per tensor instead of one stack of many small tensors."""
        rows = np.asarray(indices, dtype=np.int64)
        return [t[rows] for t in self.tensors]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch(self, indices: Sequence[int]) -> Any:
        inner = getattr(self.dataset, "_batch", None)
        if inner is None:
            return None
        return inner([self.indices[i] for i in indices])


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if which == 0 else int(self.cumulative_sizes[which - 1])
        return self.datasets[which][index - start]


# ---------------------------------------------------------------------------------------------------
# Collation: a list of samples -> one batch
# ---------------------------------------------------------------------------------------------------


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as torch's default_collate does:

    tensors are stacked along a new dim 0; numpy arrays and numbers become tensors (ints int64, floats
    float64, bools bool); a sample that is a tuple or list gives a list of collated fields (a namedtuple
    keeps its type); a dict gives a dict of collated values; strings are left as they are.
    """
    if not batch:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {tuple(t.shape) for t in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {sorted(shapes)} in one batch")
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: numpy arrays of dtype {elem.dtype} cannot become tensors")
        return make_tensor(np.stack(batch))
    if isinstance(elem, np.generic):
        return make_tensor(np.array(batch))
    if isinstance(elem, bool):
        return make_tensor(batch)
    if isinstance(elem, int):
        return make_tensor(batch, dtype=int64)
    if isinstance(elem, float):
        return make_tensor(batch, dtype=float64)
    if isinstance(elem, Number):
        raise TypeError(f"default_collate: numbers of type {type(elem).__name__} are not supported")
    if isinstance(elem, (str, bytes)):
        return batch  # as it came: a list at the top, a tuple of one field of tuple samples (as torch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        lengths = {len(sample) for sample in batch}
        if len(lengths) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(field) for field in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {type(elem).__name__}"
    )


# ---------------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------------


def _rng_from(generator: Generator | None) -> np.random.Generator:
    """A numpy generator for one epoch: from `generator`, or seeded from mt's global generator."""
    if generator is not None:
        return generator.numpy_generator()
    return np.random.default_rng(int(default_generator().integers(0, 2**63 - 1)))


class DataLoader:
    """Mini-batches of a dataset: `for batch in DataLoader(ds, batch_size=32, shuffle=True): ...`.

    batch_size  samples per batch; the last batch is smaller unless drop_last=True drops it
    shuffle     a new random order every epoch (from `generator`, else from mt's global generator)
    sampler     an iterable of indices that decides the order instead (e.g. a DistributedSampler)
    collate_fn  list of samples -> batch (default_collate)
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None, generator: Generator | None = None,
                 num_workers: int = 0, sampler: Any = None) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if num_workers != 0:
            raise ValueError("minitorch-dg's DataLoader loads in the calling process: use num_workers=0")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"generator must be an mt.Generator, got {type(generator).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle (the sampler decides the order)")
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator
        self.num_workers = 0

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> list[int]:
        if self.sampler is not None:
            return [int(i) for i in self.sampler]
        n = len(self.dataset)
        if self.shuffle:
            return [int(i) for i in _rng_from(self.generator).permutation(n)]
        return list(range(n))

    def _fetch(self, indices: list[int]) -> Any:
        if self.collate_fn is None:
            fast = getattr(self.dataset, "_batch", None)
            if fast is not None:
                batch = fast(indices)
                if batch is not None:
                    return batch
            return default_collate([self.dataset[i] for i in indices])
        return self.collate_fn([self.dataset[i] for i in indices])

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                return
            yield self._fetch(indices)


# ---------------------------------------------------------------------------------------------------
# random_split
# ---------------------------------------------------------------------------------------------------


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths.

    `lengths` are counts that add up to len(dataset), or fractions that add up to 1 (then the counts are
    floor(fraction · n) and the remainder is dealt one by one to the subsets in order, as torch does).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1:
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths):
        raise ValueError(f"random_split lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    rng = _rng_from(generator)
    order = rng.permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, [int(i) for i in order[start:start + length]]))
        start += length
    return subsets


from .sampler import DistributedSampler  # noqa: E402  (it builds on the classes above)
