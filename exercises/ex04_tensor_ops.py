"""ex04 — tensor map, zip, reduce and matmul over strided storage, in plain Python.

Read exercises/ex04_tensor_ops.md first. Replace each `raise NotImplementedYet(...)` with your code,
then run `mtdg check ex04`. Keep the names and parameters: the simple CPU backend
(minitorch_dg/backends/simple.py) calls them for every tensor operation.

This is the "simple" backend: one Python loop over the output elements, the index arithmetic of ex03
(through `ex03`, served by the course), and a scalar function per element. Slow and obviously correct;
ex06 makes it fast.

Every kernel writes into a preallocated `out` — a 1-D storage with its own shape and strides — and
returns nothing. Inputs may be any views: permuted, sliced with steps, or broadcast (stride 0), and so
may `out` (never broadcast). Never assume that a storage is contiguous: always go through the strides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minitorch_dg import course
from minitorch_dg.errors import NotImplementedYet

ex03 = course.ExerciseProxy("ex03")

Storage = Any  # a 1-D numpy array
Shape = tuple[int, ...]
Strides = tuple[int, ...]
MapKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides], None]
ZipKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides, Storage, Shape, Strides], None]
ReduceKernel = Callable[[Storage, Shape, Strides, Storage, Shape, Strides, int], None]


def tensor_map(fn: Callable[[float], float]) -> MapKernel:
    """Return a kernel that sets out[i] = fn(in[j]) for every index i of `out_shape`.

    `in_shape` broadcasts to `out_shape`, and j = ex03.broadcast_index(i, out_shape, in_shape), so a map
    can also copy a small tensor into a larger one. For each ordinal n in 0 .. size(out_shape) - 1:
        i = ex03.to_index(n, out_shape)
        out[index_to_position(i, out_strides)] = fn(in_storage[index_to_position(j, in_strides)])
    """

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               in_storage: Storage, in_shape: Shape, in_strides: Strides) -> None:
        raise NotImplementedYet("ex04", "tensor_map")

    return kernel


def tensor_zip(fn: Callable[[float, float], float]) -> ZipKernel:
    """Return a kernel that sets out[i] = fn(a[ja], b[jb]) for every index i of `out_shape`.

    a and b both broadcast to out_shape:  ja = broadcast_index(i, out_shape, a_shape),
                                          jb = broadcast_index(i, out_shape, b_shape).
    Each of the three storages is read or written through its own strides.
    """

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               a: Storage, a_shape: Shape, a_strides: Strides,
               b: Storage, b_shape: Shape, b_strides: Strides) -> None:
        raise NotImplementedYet("ex04", "tensor_zip")

    return kernel


def tensor_reduce(fn: Callable[[float, float], float], start: float) -> ReduceKernel:
    """Return a kernel that folds `a` along `dim` into `out`, whose shape is a's with size 1 at `dim`.

    For every index i of out_shape, with n = a_shape[dim] and i[dim -> j] the index i with its dim `dim`
    set to j:
        out[i] = fn(...fn(fn(start, a[i[dim -> 0]]), a[i[dim -> 1]])..., a[i[dim -> n-1]])
    The fold starts from `start` (0 for sum, 1 for prod, -inf for max), never from a's first element.
    """

    def kernel(out: Storage, out_shape: Shape, out_strides: Strides,
               a: Storage, a_shape: Shape, a_strides: Strides, dim: int) -> None:
        raise NotImplementedYet("ex04", "tensor_reduce")

    return kernel


def tensor_matmul(out: Storage, out_shape: Shape, out_strides: Strides,
                  a: Storage, a_shape: Shape, a_strides: Strides,
                  b: Storage, b_shape: Shape, b_strides: Strides) -> None:
    """Batched matrix product:  out[..., i, j] = sum over k of a[..., i, k] * b[..., k, j].

    a is (..., n, K), b is (..., K, m), out is (..., n, m). The batch dims `...` of a and of b broadcast to
    out's batch dims out_shape[:-2] (either may have fewer batch dims, or size-1 ones): map out's batch
    index into each with ex03.broadcast_index, then append (i, k) or (k, j).
    """
    raise NotImplementedYet("ex04", "tensor_matmul")
