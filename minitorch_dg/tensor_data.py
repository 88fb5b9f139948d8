"""`TensorData`: a flat storage buffer with a shape and strides — the memory behind every Tensor.

Views (permute, view, expand, basic indexing) make new TensorData objects over the same buffer: on the
CPU the buffer is a 1-D numpy array and a view that starts further in is a numpy slice of it, so no
offset needs to travel with the strides. Views share one `VersionCounter`, which in-place operations bump
so that autograd can tell when a tensor saved for backward was changed.

The arithmetic on shapes and strides is ex03's, served by the course.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import course
from .dtypes import DType, from_numpy
from .errors import ShapeError

Shape = tuple[int, ...]
Strides = tuple[int, ...]

ex03 = course.ExerciseProxy("ex03")


@dataclass
class VersionCounter:
    """Shared by a tensor and all its views; incremented by every in-place change."""

    value: int = 0


def prod(shape: Shape) -> int:
    return math.prod(shape)


def shape_args(args: Sequence[Any]) -> Shape:
    """The sizes given to view/reshape/zeros/...: either one sequence, `(2, 3)`, or loose ints, `2, 3`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


# Contiguous strides per shape and broadcast shapes per pair, from ex03 (kept while the course's generation
# holds: installing another ex03 or switching the plan starts them afresh).
_strides: dict[Shape, Strides] = {}
_broadcasts: dict[tuple[Shape, Shape], Shape] = {}
_strides_generation = -1


def contiguous_strides(shape: Shape) -> Strides:
    """ex03's strides_from_shape(shape) as a tuple, asked once per shape."""
    global _strides_generation
    if _strides_generation != course._generation:
        _strides.clear()
        _broadcasts.clear()
        _strides_generation = course._generation
    found = _strides.get(shape)
    if found is None:
        found = tuple(int(s) for s in ex03.strides_from_shape(shape))
        if len(_strides) > 4096:
            _strides.clear()
        _strides[shape] = found
    return found


def broadcast_shape(a: Shape, b: Shape) -> Shape:
    """ex03's shape_broadcast(a, b) as a tuple, asked once per pair of shapes (while the generation holds;
    a pair that does not broadcast raises ex03's error every time)."""
    if _strides_generation != course._generation:
        contiguous_strides(())  # clears both memories
    found = _broadcasts.get((a, b))
    if found is None:
        found = tuple(int(s) for s in ex03.shape_broadcast(a, b))
        if len(_broadcasts) > 4096:
            _broadcasts.clear()
        _broadcasts[(a, b)] = found
    return found


@dataclass
class TensorData:
    """Storage + shape + strides (+ the device the storage lives on)."""

    storage: Any  # 1-D numpy array on the CPU; a 1-D device array on CUDA
    shape: Shape
    strides: Strides
    device: str = "cpu"
    version: VersionCounter = field(default_factory=VersionCounter)

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.strides = tuple(int(s) for s in self.strides)
        if len(self.shape) != len(self.strides):
            raise ShapeError(f"shape {self.shape} and strides {self.strides} have different lengths")

    @classmethod
    def fresh(cls, storage: Any, shape: Shape, strides: Strides, device: str = "cpu",
              dtype: DType | None = None) -> TensorData:
        """A new TensorData from a shape and strides that are already tuples of ints of equal length (the
        kernels' outputs): the same object the constructor makes, without re-checking what is known."""
        data = cls.__new__(cls)
        data.storage = storage
        data.shape = shape
        data.strides = strides
        data.device = device
        data.version = VersionCounter()
        if dtype is not None:
            data.__dict__["dtype"] = dtype  # what the cached property would find
        return data

    # -- facts ------------------------------------------------------------------------------------

    @functools.cached_property
    def dtype(self) -> DType:
        """The element type (found once per TensorData: a storage never changes its dtype)."""
        return from_numpy(self.storage.dtype)

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def dims(self) -> int:
        return len(self.shape)

    def is_contiguous(self) -> bool:
        return bool(ex03.is_contiguous(self.shape, self.strides))

    def span(self) -> int:
        """How many storage elements this view reaches: 1 + the position of its last element."""
        if self.size == 0:
            return 0
        return 1 + sum((n - 1) * s for n, s in zip(self.shape, self.strides))

    # -- construction -----------------------------------------------------------------------------

    @staticmethod
    def contiguous_from(array: np.ndarray, device: str = "cpu") -> TensorData:
        """A fresh contiguous TensorData holding a copy of `array`."""
        flat = np.ascontiguousarray(array).reshape(-1).copy()
        shape = tuple(array.shape)
        return TensorData(flat, shape, tuple(ex03.strides_from_shape(shape)), device)

    def _view(self, shape: Shape, strides: Strides, storage: Any = None) -> TensorData:
        return TensorData(self.storage if storage is None else storage, shape, strides, self.device, self.version)

    # -- views (no data moves) ----------------------------------------------------------------------

    def permute(self, order: tuple[int, ...]) -> TensorData:
        shape, strides = ex03.permute(self.shape, self.strides, tuple(order))
        return self._view(tuple(shape), tuple(strides))

    def view(self, new_shape: Shape) -> TensorData | None:
        """The same elements with `new_shape` (already resolved, same numel), or None when strides cannot say it."""
        strides = ex03.view_strides(self.shape, self.strides, tuple(new_shape))
        if strides is None:
            return None
        return self._view(tuple(new_shape), tuple(strides))

    def expand(self, new_shape: Shape) -> TensorData:
        """Broadcast to `new_shape` with stride 0 on stretched dims (torch's expand)."""
        lead = len(new_shape) - len(self.shape)
        if lead < 0:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to fewer dims {tuple(new_shape)}")
        strides: list[int] = []
        for d, size in enumerate(new_shape):
            if d < lead:
                if size < 0:
                    raise ShapeError(f"expand: size -1 is not allowed for the new leading dim {d}")
                strides.append(0)
                continue
            old = self.shape[d - lead]
            if size == -1 or size == old:
                strides.append(self.strides[d - lead])
            elif old == 1:
                strides.append(0)
            else:
                raise ShapeError(
                    f"expand: the expanded size of the tensor ({size}) must match the existing size ({old}) at "
                    f"non-singleton dimension {d}; target sizes {tuple(new_shape)}, tensor sizes {self.shape}"
                )
        shape = tuple(self.shape[d - lead] if (d >= lead and s == -1) else s for d, s in enumerate(new_shape))
        return self._view(shape, tuple(strides))

    def select(self, starts: list[int], shape: Shape, strides: Strides) -> TensorData:
        """A view starting at multi-index `starts` with the given shape and strides (used by basic indexing)."""
        offset = sum(i * s for i, s in zip(starts, self.strides))
        return self._view(shape, strides, self.storage[offset:] if offset else self.storage)

    def basic_index(self, key: tuple[Any, ...]) -> TensorData:
        """The view that a basic indexing key selects (ints, slices with a positive step and None, as
        minitorch_dg.indexing.normalize_key leaves them): starts, shape and strides; no data moves."""
        starts: list[int] = []
        shape: list[int] = []
        strides: list[int] = []
        d = 0
        for item in key:
            if item is None:
                shape.append(1)
                strides.append(0)
                continue
            size, stride = self.shape[d], self.strides[d]
            if isinstance(item, int):
                starts.append(item)
            else:
                start, stop, step = item.indices(size)
                count = max(0, (stop - start + step - 1) // step)
                starts.append(start if count else 0)
                shape.append(count)
                strides.append(stride * step)
            d += 1
        for rest in range(d, len(self.shape)):
            starts.append(0)
            shape.append(self.shape[rest])
            strides.append(self.strides[rest])
        return self.select(starts, tuple(shape), tuple(strides))
