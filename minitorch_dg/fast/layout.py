"""Layouts for the fast backend (plain Python, run once per kernel call on shapes, never per element).

Before a kernel runs, the backend rewrites the operands' shapes and strides into the simplest equivalent
iteration space:

* broadcasting becomes strides: an input is expanded to the output's shape with stride 0 on the dims it
  is broadcast along (ex03's broadcasting, said with strides), so a kernel never needs broadcast_index;
* dims of size 1 are dropped, and the dims are ordered by the output's strides (largest first), so that
  the output is walked in memory order;
* neighbouring dims that every operand steps through as one (stride[d] == stride[d+1] * shape[d+1] for
  all of them) are merged.

A contiguous tensor becomes one dim with stride 1; a broadcast add of (n, m) and (m,) becomes two dims
whose inner one has stride 1 in all operands; a transposed input stays two dims. Kernels then take a
flat loop when they can, and loop over rows of the innermost dim otherwise.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

Shape = tuple[int, ...]
Strides = tuple[int, ...]


def expand_strides(shape: Shape, strides: Strides, out_shape: Shape) -> Strides:
    """Strides that make a view of `shape` read as `out_shape` (which it broadcasts to): 0 where it repeats."""
    lead = len(out_shape) - len(shape)
    if lead < 0:
        raise ValueError(f"shape {shape} does not broadcast to {out_shape}")
    result = [0] * lead
    for d, (size, stride) in enumerate(zip(shape, strides)):
        target = out_shape[lead + d]
        if size == target:
            result.append(stride if size != 1 else 0)
        elif size == 1:
            result.append(0)
        else:
            raise ValueError(f"shape {shape} does not broadcast to {out_shape}")
    return tuple(result)


def coalesce(shape: Shape, strides: Sequence[Strides], order: bool = True) -> tuple[Shape, list[Strides]]:
    """The simplest iteration space equivalent to `shape` walked with each operand's `strides` (first: out).

    Returns (shape, strides per operand). A tensor with no element of size > 1 becomes 0-d: shape ().
    With `order`, dims are sorted by the first operand's strides (largest first) before merging.
    """
    if all(s == strides[0] for s in strides[1:]) and _row_major(shape, strides[0]):
        size = 1
        for n in shape:
            size *= n
        return ((size,), [(1,) for _ in strides]) if size != 1 else ((), [() for _ in strides])
    dims = [d for d, size in enumerate(shape) if size != 1]
    if any(size == 0 for size in shape):
        return (0,), [(1,) for _ in strides]
    if order and dims:
        dims.sort(key=lambda d: tuple(-abs(s[d]) for s in strides))
    out_shape: list[int] = []
    out_strides: list[list[int]] = [[] for _ in strides]
    for d in dims:
        if out_shape and all(s[-1] == st[d] * shape[d] for s, st in zip(out_strides, strides)):
            out_shape[-1] *= shape[d]
            for s, st in zip(out_strides, strides):
                s[-1] = st[d]
            continue
        out_shape.append(shape[d])
        for s, st in zip(out_strides, strides):
            s.append(st[d])
    return tuple(out_shape), [tuple(s) for s in out_strides]


def _row_major(shape: Shape, strides: Strides) -> bool:
    """True when `strides` walk `shape` contiguously in row-major order (size-1 dims may have any stride)."""
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def coalesce_around(shape: Shape, strides: Sequence[Strides], dim: int) -> tuple[Shape, list[Strides], int]:
    """`coalesce` for a reduction over `dim`: the dims before it and after it are merged separately, and
    `dim` itself is kept (so that the kernel still sees which dim it folds). Returns (shape, strides, dim)."""
    before = coalesce(shape[:dim], [s[:dim] for s in strides], order=False)
    after = coalesce(shape[dim + 1:], [s[dim + 1:] for s in strides], order=False)
    new_shape = before[0] + (shape[dim],) + after[0]
    new_strides = [b + (s[dim],) + a for b, s, a in zip(before[1], strides, after[1])]
    return new_shape, new_strides, len(before[0])


class IndexArrays:
    """int64 numpy arrays for shape and stride tuples, made once per distinct tuple (kernels take arrays)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._arrays: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()

    def __call__(self, values: tuple[int, ...]) -> np.ndarray:
        found = self._arrays.get(values)
        if found is None:
            found = np.array(values, dtype=np.int64)
            self._arrays[values] = found
            if len(self._arrays) > self.capacity:
                self._arrays.popitem(last=False)
        return found
