"""ex06 — fast CPU kernels with Numba: map, zip, reduce and a blocked matmul (+ optional packed matmul).

Read exercises/ex06_fast_cpu.md first: it explains every step with numbers measured on a 2-core machine.
Replace each `raise NotImplementedYet(...)` with your code, then run `mtdg check ex06`. Keep the names and
parameters: the fast backend (minitorch_dg/backends/fast.py) calls them for every CPU tensor operation
once they are implemented, and makes itself the default CPU backend.

ex04 ran one Python loop iteration per element. Here the same kernels are compiled by Numba, run on all
cores (`prange`), and shaped so that LLVM can vectorise the inner loops.

Contract (what the fast backend hands you):

* storages are 1-D numpy arrays; shapes and strides are 1-D int64 numpy arrays;
* every input arrives with the output's shape: broadcasting was turned into stride 0 beforehand (the
  backend also merges dims and drops size-1 dims, but your kernels must work for any layout);
* `op` is an op id from `minitorch_dg.fast.op_id`. Build each kernel inside its factory
  (`tensor_map(op)`), so that `op` is a closure constant and `unary(op, x)` compiles to that one
  operation;
* decorate every kernel with `cache=True` (the next process loads it from disk instead of compiling),
  and give each kernel a single `prange` loop (Numba compiles one extra parallel function per prange
  loop, so one kernel per case, chosen in Python, compiles faster and only when that case occurs).

From minitorch_dg.fast (framework plumbing, already written) you get the element functions `unary`,
`binary`, `fold` and `identity`; compiled index arithmetic `size_of`, `position`, `is_contiguous` and
`same_strides` (never call ex03's Python functions from a kernel: Numba's cache would keep old ex03 code);
and the register tile `register_tile` / `tile_rows` / `TILE_COLS` for the optional micro-kernel.

Parts 1 to 4 are the exercise (its points); Part 5, packing and a register-tiled micro-kernel, is an
optional part with its own points (`mtdg list`), tested by tests/exercises/test_ex06_fast_cpu_optional.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np  # noqa: F401  (you will need it)
from numba import njit, prange  # noqa: F401  (you will need them)

from minitorch_dg.errors import NotImplementedYet
from minitorch_dg.fast import (  # noqa: F401  (you will need them)
    TILE_COLS,
    binary,
    flat_size,
    fold,
    identity,
    is_contiguous,
    position,
    register_tile,
    same_strides,
    size_of,
    tile_rows,
    unary,
)

Storage = Any  # a 1-D numpy array
Index = Any  # a 1-D int64 numpy array (a shape or strides)
MapKernel = Callable[[Storage, Index, Index, Storage, Index], None]
ZipKernel = Callable[[Storage, Index, Index, Storage, Index, Storage, Index], None]
ReduceKernel = Callable[[Storage, Index, Index, Storage, Index, Index, int, int], None]

ROW_BLOCK = 2048  # elements of a row that one parallel work item handles (long rows are split)
SPLIT_MIN = 32768  # a reduction over a dim at least this long, into fewer outputs than threads, is split
REDUCE_BLOCK = 8192  # across: columns one work item folds at a time (a 4096-wide row in one go)

# matmul blocking of the optional part (see docs/ex06_measurements.md for the numbers behind them)
NR = TILE_COLS  # columns of a register tile (64 with AVX-512, 16 with AVX2: minitorch_dg/fast/memory.py)
KC = 256  # the most depth of a packed block: panels are KC x NR of B and MR x KC of A
MC = 64  # rows of C that one parallel work item computes


# ---------------------------------------------------------------------------------------------------
# Part 1: map
# ---------------------------------------------------------------------------------------------------


def tensor_map(op: int) -> MapKernel:
    """Return a kernel run(out, out_shape, out_strides, a, a_strides) that sets out[i] = unary(op, a[i])
    for every index i of out (a has out's shape; a broadcast dim has stride 0).

    Inside, define two Numba kernels, each @njit(parallel=True, cache=True) with one prange loop:
    * `flat(out, a, size)`, the fast path, for when out and a are laid out identically and contiguously
      (then element i of both is at storage position i): one flat loop, no index arithmetic;
    * `rows(...)` for everything else: work items are blocks of ROW_BLOCK elements of rows of the
      innermost dim; each finds its row's start with `position` once, then steps along the row by the
      innermost strides. Give the unit-stride case its own loop over slices (LLVM vectorises it).
    `run` (plain Python) picks one: the fast path only when the strides really are the same.
    """
    raise NotImplementedYet("ex06", "tensor_map")


# ---------------------------------------------------------------------------------------------------
# Part 2: zip
# ---------------------------------------------------------------------------------------------------


def tensor_zip(op: int) -> ZipKernel:
    """Return a kernel run(out, out_shape, out_strides, a, a_strides, b, b_strides) that sets
    out[i] = binary(op, a[i], b[i]) (a and b have out's shape; broadcast dims have stride 0).

    The same two paths as tensor_map. In `rows`, give each common case its own unit-stride loop: all three
    contiguous along the row, and one input constant along it (stride 0: a bias broadcast over a batch).
    """
    raise NotImplementedYet("ex06", "tensor_zip")


# ---------------------------------------------------------------------------------------------------
# Part 3: reduce
# ---------------------------------------------------------------------------------------------------


def tensor_reduce(op: int) -> ReduceKernel:
    """Return a kernel run(out, out_shape, out_strides, a, a_shape, a_strides, dim, n_threads) that folds `a`
    along `dim` into out (out's shape is a's with size 1 at `dim`):

        out[i] = fold(op, ... fold(op, fold(op, identity(op, x), a[i, dim=0]), a[i, dim=1]) ..., a[i, dim=n-1])

    Four kernels, one prange each, every one parallel over pieces of work that never write the same place:
    * split:   fewer outputs than n_threads and a dim of at least SPLIT_MIN: cut the dim into n_threads
               chunks; each chunk folds into its own slot of a `partial` array, and the partials are
               folded after the parallel loop (never let two threads add into one accumulator);
    * along:   the folded dim is contiguous (stride 1): each output folds one contiguous run. Decorate
               with fastmath={"reassoc", "contract"} so that LLVM may reorder the additions into vector
               accumulators (not fastmath=True: that also assumes no NaN, and max must propagate NaN);
    * across:  the last dim is contiguous in a and out and is not the folded one: fold whole rows of a (up
               to REDUCE_BLOCK columns) into a block of accumulators, vectorised across the outputs. Give
               each thread a contiguous range of the folded dim and its own block of a `partial` array,
               and fold the partials after the loop: a is then read in long contiguous stretches;
    * strided: anything else: one strided fold per output.
    Start every accumulator from identity(op, <an element of out>): the dtype's own zero or one, never 0.0.
    """
    raise NotImplementedYet("ex06", "tensor_reduce")


# ---------------------------------------------------------------------------------------------------
# Part 4: matmul — a blocked, parallel matmul of your own design
# ---------------------------------------------------------------------------------------------------


def tensor_matmul(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_shape: Index, a_strides: Index,
                  b: Storage, b_shape: Index, b_strides: Index) -> None:
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]: a is (..., m, k), b is (..., k, n), out (..., m, n).

    a and b have out's batch dims (broadcast batch dims have stride 0); any of the three may be strided.
    Write a parallel kernel (@njit(parallel=True, cache=True), one prange loop) whose work items are
    blocks of rows of every product (so that a batch of small products and one large product both keep
    every thread busy). Inside a block, order the loops i, k, j, so that the innermost loop walks a row
    of b and a row of out (unit stride when they are contiguous: LLVM vectorises it), and accumulate a
    row of out in a local array of out's dtype before writing it once. k == 0 means out is all zeros.
    The handout states how much faster than the simple backend this must be (`mtdg bench` measures it).
    """
    raise NotImplementedYet("ex06", "tensor_matmul")


# ---------------------------------------------------------------------------------------------------
# Part 5 (optional, its own points): packed panels and a register-tiled micro-kernel
# ---------------------------------------------------------------------------------------------------


@njit(cache=True)
def pack_a(panel: Storage, a: Storage, start: int, row_step: int, col_step: int, depth: int, rows: int) -> None:
    """Copy a rows x depth block of A (at `start`, any strides) into `panel` as depth columns of MR values:
    panel[k * MR + i] = A[i, k], and 0 in the rows i >= rows that pad a partial tile. MR = tile_rows(panel)."""
    raise NotImplementedYet("ex06", "pack_a")


@njit(cache=True)
def pack_b(panel: Storage, b: Storage, start: int, row_step: int, col_step: int, depth: int, cols: int) -> None:
    """Copy a depth x cols block of B into `panel` as depth rows of NR values: panel[k * NR + j] = B[k, j],
    and 0 in the columns j >= cols that pad a partial tile."""
    raise NotImplementedYet("ex06", "pack_b")


@njit(cache=True, fastmath={"contract"})
def micro_kernel(depth: int, packed_a: Storage, packed_b: Storage, c: Storage, start: int, row_step: int,
                 col_step: int, rows: int, cols: int, accumulate: bool) -> None:
    """C[:rows, :cols] (+)= A panel @ B panel for one MR x NR tile of C at `start` (C's strides: row_step,
    col_step), with the MR x NR accumulator in a register tile (acc = register_tile(packed_a)).

    For each k < depth: the MR values of A's column k times the NR values of B's row k, added into acc (loop
    over the columns j outside, the rows i inside). Then write acc's first `rows` x `cols` into C: C = acc,
    or C += acc when `accumulate`.

    With all three written, tensor_matmul can pack every B once (parallel over product, depth block of KC,
    panel of NR columns) and give each work item MC rows: per depth block, pack its rows of A and call
    micro_kernel once per MR x NR tile (accumulate after the first block). That is the optional part's
    goal in `mtdg bench`; its tests call these three functions directly.
    """
    raise NotImplementedYet("ex06", "micro_kernel")
