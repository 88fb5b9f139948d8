"""ex04 — tensor map, zip, reduce and matmul over strided storage, in plain Python (reference solution).

This is the "simple" CPU backend: one Python loop over the output elements, index arithmetic from ex03,
and a scalar function from ex01 per element. It is slow and obviously correct; ex06 makes it fast.

All kernels write into a preallocated `out` (a 1-D storage with its own shape and strides) and return
nothing. Inputs may be any views: permuted, sliced, or broadcast (stride 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minitorch_dg import course

ex03 = course.ExerciseProxy("ex03")

Storage = Any  # a 1-D numpy array
Shape = tuple[int, ...]
Strides = tuple[int, ...]
MapKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides], None]
ZipKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides, Storage, Shape, Strides], None]
ReduceKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides, int], None]


def _size(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def tensor_map(fn: Callable[[float], float]) -> MapKernel:
    """Return a kernel that sets out[i] = fn(in[j]) for every output index i.

    `in_shape` must broadcast to `out_shape`: j is `broadcast_index(i, out_shape, in_shape)`, so a map can
    also copy a small tensor into a larger one (expand + contiguous).
    """

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               in_storage: Storage, in_shape: Shape, in_strides: Strides) -> None:
        for ordinal in range(_size(out_shape)):
            out_index = ex03.to_index(ordinal, out_shape)
            in_index = ex03.broadcast_index(out_index, out_shape, in_shape)
            value = in_storage[ex03.index_to_position(in_index, in_strides)]
            out[ex03.index_to_position(out_index, out_strides)] = fn(value)

    return kernel


def tensor_zip(fn: Callable[[float, float], float]) -> ZipKernel:
    """Return a kernel that sets out[i] = fn(a[ja], b[jb]) where a and b broadcast to out's shape."""

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               a: Storage, a_shape: Shape, a_strides: Strides,
               b: Storage, b_shape: Shape, b_strides: Strides) -> None:
        for ordinal in range(_size(out_shape)):
            out_index = ex03.to_index(ordinal, out_shape)
            a_pos = ex03.index_to_position(ex03.broadcast_index(out_index, out_shape, a_shape), a_strides)
            b_pos = ex03.index_to_position(ex03.broadcast_index(out_index, out_shape, b_shape), b_strides)
            out[ex03.index_to_position(out_index, out_strides)] = fn(a[a_pos], b[b_pos])

    return kernel


def tensor_reduce(fn: Callable[[float, float], float], start: float) -> ReduceKernel:
    """Return a kernel that folds `a` along `dim` into out (whose shape is a's with size 1 at `dim`).

    out[i] = fn(...fn(fn(start, a[i with dim=0]), a[i with dim=1])..., a[i with dim=n-1])
    """

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               a: Storage, a_shape: Shape, a_strides: Strides, dim: int) -> None:
        for ordinal in range(_size(out_shape)):
            out_index = ex03.to_index(ordinal, out_shape)
            a_index = list(out_index)
            acc = start
            for j in range(a_shape[dim]):
                a_index[dim] = j
                acc = fn(acc, a[ex03.index_to_position(tuple(a_index), a_strides)])
            out[ex03.index_to_position(out_index, out_strides)] = acc

    return kernel


def tensor_matmul(out: Storage, out_shape: Shape, out_strides: Strides,
                  a: Storage, a_shape: Shape, a_strides: Strides,
                  b: Storage, b_shape: Shape, b_strides: Strides) -> None:
    """Batched matrix product: out[..., i, j] = sum_k a[..., i, k] * b[..., k, j].

    a is (..., n, k), b is (..., k, m), out is (..., n, m); the batch dims (...) of a and b broadcast to
    out's batch dims (each may have fewer dims or size-1 dims).
    """
    batch_shape = out_shape[:-2]
    inner = a_shape[-1]
    for ordinal in range(_size(out_shape)):
        out_index = ex03.to_index(ordinal, out_shape)
        batch = out_index[:-2]
        i, j = out_index[-2], out_index[-1]
        a_batch = ex03.broadcast_index(batch, batch_shape, a_shape[:-2])
        b_batch = ex03.broadcast_index(batch, batch_shape, b_shape[:-2])
        acc = 0.0
        for k in range(inner):
            acc += a[ex03.index_to_position(a_batch + (i, k), a_strides)] * \
                   b[ex03.index_to_position(b_batch + (k, j), b_strides)]
        out[ex03.index_to_position(out_index, out_strides)] = acc
