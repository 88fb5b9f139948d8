"""ex06 — fast CPU kernels with Numba: map, zip, reduce and a blocked matmul (reference solution).

The simple backend (ex04) runs one Python loop iteration per element, with ex03's index arithmetic and an
ex01 function call each time. These kernels do the same work compiled by Numba, on all cores, and shaped
so that LLVM can vectorise the inner loops.

Contract (the fast backend, minitorch_dg/backends/fast.py, calls these):

* storages are 1-D numpy arrays; shapes and strides are 1-D int64 numpy arrays;
* every input arrives with the output's shape: broadcasting was turned into stride 0 beforehand (the
  backend also merges dims and drops size-1 dims first, but the kernels must work for any layout);
* `op` is an op id from `minitorch_dg.fast.op_id`; inside a kernel it is a closure constant, so that
  `unary(op, x)` compiles to just that operation;
* every kernel is compiled with cache=True (the next process loads it from disk), and each kernel has
  one `prange` loop: Numba compiles a separate parallel function for every prange loop, so a kernel per
  case, picked in Python, compiles faster and only for the cases that actually occur.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange

from minitorch_dg.fast import (
    MATMUL_PARALLEL_MIN,
    PARALLEL_MIN,
    TILE_COLS,
    binary,
    flat_size,
    fold,
    identity,
    position,
    register_tile,
    serial_twin,
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

# matmul blocking (measured on this machine, see the handout)
NR = TILE_COLS  # columns of a register tile (64 with AVX-512, 16 with AVX2: minitorch_dg/fast/memory.py)
KC = 256  # the most depth of a packed block: panels are KC x NR of B (16 KB with AVX2: it stays in L1) and MR x KC of A
MC = 64  # rows of C that one parallel work item computes
ITEMS_PER_THREAD = 4  # a product with fewer row blocks than this many per thread is also cut into column blocks
DOT_OUTPUTS_MAX = 128 * 128  # products of at most this many outputs may run as dot products (_dots_win) ...
DOT_DEPTH_MIN = 16  # ... of at least this depth k
DOT_TINY = 1 << 15  # multiply-adds: any smaller product runs as dot products


# ---------------------------------------------------------------------------------------------------
# Part 1: map
# ---------------------------------------------------------------------------------------------------


def tensor_map(op: int) -> MapKernel:
    """A kernel that sets out[i] = op(a[i]) for every index i of out (a has out's shape, maybe stride 0).

    Fast path: out and a are laid out identically and contiguously, so element i of both is at storage
    position i: one flat loop, no index arithmetic. Otherwise: rows of the innermost dim, cut into blocks
    of ROW_BLOCK; each block finds its start with index arithmetic once and then steps along the row by
    the innermost strides (unit strides get their own loop, which LLVM vectorises).
    """

    @njit(parallel=True, cache=True)
    def flat(out: Storage, a: Storage, size: int) -> None:
        flat_out = out[:size]
        flat_a = a[:size]
        for i in prange(size):
            flat_out[i] = unary(op, flat_a[i])

    @njit(parallel=True, cache=True)
    def rows(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, size: int) -> None:
        nd = len(out_shape)
        inner = out_shape[nd - 1]
        step_out = out_strides[nd - 1]
        step_a = a_strides[nd - 1]
        outer = out_shape[: nd - 1]
        blocks = (inner + ROW_BLOCK - 1) // ROW_BLOCK
        for item in prange((size // inner) * blocks):
            row = item // blocks
            start = (item - row * blocks) * ROW_BLOCK
            n = min(ROW_BLOCK, inner - start)
            at_out = position(row, outer, out_strides[: nd - 1]) + start * step_out
            at_a = position(row, outer, a_strides[: nd - 1]) + start * step_a
            if step_out == 1 and step_a == 1:
                row_out = out[at_out : at_out + n]
                row_a = a[at_a : at_a + n]
                for j in range(n):
                    row_out[j] = unary(op, row_a[j])
            elif step_a == 0:
                value = unary(op, a[at_a])
                row_out = out[at_out : at_out + (n - 1) * step_out + 1 : step_out]
                for j in range(n):
                    row_out[j] = value
            else:
                # Strided views rather than out[at_out + j * step_out]: an index LLVM cannot prove >= 0 gets
                # Numba's negative-index wrap-around check, which keeps the loop from being vectorised.
                row_out = out[at_out : at_out + (n - 1) * step_out + 1 : step_out]
                row_a = a[at_a : at_a + (n - 1) * step_a + 1 : step_a]
                for j in range(n):
                    row_out[j] = unary(op, row_a[j])

    flat_serial, rows_serial = serial_twin(flat), serial_twin(rows)  # for fewer than PARALLEL_MIN elements

    def run(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index) -> None:
        size = flat_size(out_shape, out_strides, a_strides, a_strides)
        if size > 0:
            (flat if size >= PARALLEL_MIN else flat_serial)(out, a, size)
        elif size < 0:
            size = size_of(out_shape)
            if size > 0:
                (rows if size >= PARALLEL_MIN else rows_serial)(out, out_shape, out_strides, a, a_strides, size)

    return run


# ---------------------------------------------------------------------------------------------------
# Part 2: zip
# ---------------------------------------------------------------------------------------------------


def tensor_zip(op: int) -> ZipKernel:
    """A kernel that sets out[i] = op(a[i], b[i]) (a and b have out's shape; broadcast dims have stride 0).

    Fast path: out, a and b laid out identically and contiguously: one flat loop. Otherwise rows of the
    innermost dim as in tensor_map, with a unit-stride loop for each common case: all three contiguous
    along the row, or one input constant along it (stride 0, e.g. a bias broadcast over a batch).

    In place (`x.add_(y)`, `x.mul_(0.9)`: out is a, the same storage) the loop reads and writes out under
    one name. LLVM vectorises a loop only after checking at run time that what it writes does not overlap
    what it reads, and out[i] = op(a[i], ...) with a = out fails that check: the loop then runs one element
    at a time, 3-4x slower (an optimizer's step is made of these).
    """

    @njit(parallel=True, cache=True)
    def flat(out: Storage, a: Storage, b: Storage, size: int) -> None:
        flat_out = out[:size]
        flat_a = a[:size]
        flat_b = b[:size]
        for i in prange(size):
            flat_out[i] = binary(op, flat_a[i], flat_b[i])

    @njit(parallel=True, cache=True)
    def flat_into(out: Storage, b: Storage, size: int) -> None:
        """flat with a = out, read through out's own name (in place: see the docstring above)."""
        flat_out = out[:size]
        flat_b = b[:size]
        for i in prange(size):
            flat_out[i] = binary(op, flat_out[i], flat_b[i])

    @njit(parallel=True, cache=True)
    def value_into(out: Storage, b: Storage, size: int) -> None:
        """In place with one value of b for every element (x.mul_(0.9))."""
        flat_out = out[:size]
        value_b = b[0]  # b's strides are all 0: every element of b is this one
        for i in prange(size):
            flat_out[i] = binary(op, flat_out[i], value_b)

    @njit(parallel=True, cache=True)
    def rows(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, b: Storage,
             b_strides: Index, size: int) -> None:
        nd = len(out_shape)
        inner = out_shape[nd - 1]
        step_out = out_strides[nd - 1]
        step_a = a_strides[nd - 1]
        step_b = b_strides[nd - 1]
        outer = out_shape[: nd - 1]
        blocks = (inner + ROW_BLOCK - 1) // ROW_BLOCK
        for item in prange((size // inner) * blocks):
            row = item // blocks
            start = (item - row * blocks) * ROW_BLOCK
            n = min(ROW_BLOCK, inner - start)
            at_out = position(row, outer, out_strides[: nd - 1]) + start * step_out
            at_a = position(row, outer, a_strides[: nd - 1]) + start * step_a
            at_b = position(row, outer, b_strides[: nd - 1]) + start * step_b
            if step_out == 1 and step_a == 1 and step_b == 1:
                row_out = out[at_out : at_out + n]
                row_a = a[at_a : at_a + n]
                row_b = b[at_b : at_b + n]
                for j in range(n):
                    row_out[j] = binary(op, row_a[j], row_b[j])
            elif step_out == 1 and step_a == 1 and step_b == 0:
                row_out = out[at_out : at_out + n]
                row_a = a[at_a : at_a + n]
                value_b = b[at_b]
                for j in range(n):
                    row_out[j] = binary(op, row_a[j], value_b)
            elif step_out == 1 and step_a == 0 and step_b == 1:
                row_out = out[at_out : at_out + n]
                value_a = a[at_a]
                row_b = b[at_b : at_b + n]
                for j in range(n):
                    row_out[j] = binary(op, value_a, row_b[j])
            elif step_a != 0 and step_b != 0:
                row_out = out[at_out : at_out + (n - 1) * step_out + 1 : step_out]
                row_a = a[at_a : at_a + (n - 1) * step_a + 1 : step_a]
                row_b = b[at_b : at_b + (n - 1) * step_b + 1 : step_b]
                for j in range(n):
                    row_out[j] = binary(op, row_a[j], row_b[j])
            else:
                for j in range(n):
                    out[at_out + j * step_out] = binary(op, a[at_a + j * step_a], b[at_b + j * step_b])

    flat_serial, rows_serial = serial_twin(flat), serial_twin(rows)  # for fewer than PARALLEL_MIN elements
    flat_into_serial, value_into_serial = serial_twin(flat_into), serial_twin(value_into)

    def run(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, b: Storage,
            b_strides: Index) -> None:
        size = flat_size(out_shape, out_strides, a_strides, b_strides)
        if out is a and size > 0:
            (flat_into if size >= PARALLEL_MIN else flat_into_serial)(out, b, size)
        elif out is a and (one := value_into_size(out_shape, out_strides, a_strides, b_strides)) > 0:
            (value_into if one >= PARALLEL_MIN else value_into_serial)(out, b, one)
        elif size > 0:
            (flat if size >= PARALLEL_MIN else flat_serial)(out, a, b, size)
        elif size < 0:
            size = size_of(out_shape)
            if size > 0:
                (rows if size >= PARALLEL_MIN else rows_serial)(out, out_shape, out_strides, a, a_strides, b,
                                                               b_strides, size)

    return run


@njit(cache=True)
def value_into_size(shape: Index, out_strides: Index, a_strides: Index, b_strides: Index) -> int:
    """For out is a (in place): the element count when out (= a) is contiguous and b is one value (stride 0
    along every dim of more than one element), as in x.mul_(0.9); -1 otherwise."""
    for d in range(len(shape)):
        if shape[d] != 1 and b_strides[d] != 0:
            return -1
    return flat_size(shape, out_strides, a_strides, a_strides)


# ---------------------------------------------------------------------------------------------------
# Part 3: reduce
# ---------------------------------------------------------------------------------------------------


def tensor_reduce(op: int) -> ReduceKernel:
    """A kernel that folds `a` along `dim` into out (out's shape is a's with size 1 at `dim`).

    out[i] = fold(...fold(fold(identity, a[i with dim=0]), a[i with dim=1])..., a[i with dim=n-1])

    Four cases, each parallel over pieces of work that never write the same place:
    * split:  fewer outputs than threads and a long dim: the dim is cut into one chunk per thread, each
              chunk folds into its own slot of `partial`, and the partials are folded after the loop;
    * along:  the folded dim is contiguous: each output folds one contiguous run. fastmath's `reassoc`
              lets LLVM reorder the additions into several vector accumulators (without it the loop
              runs one addition at a time, in order);
    * across: the last dim is contiguous in a and out (and is not folded): whole rows of a are folded into
              a block of accumulators, vectorised across the outputs; each thread takes a contiguous range
              of the folded dim (so that it reads a in long stretches) into its own block of `partial`,
              and the partials are folded after the loop;
    * strided: one strided fold per output.
    """

    @njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
    def split(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, length: int,
              step: int, outputs: int, chunks: int) -> None:
        partial = np.empty(outputs * chunks, dtype=out.dtype)
        for item in prange(outputs * chunks):
            target = item // chunks
            c = item - target * chunks
            base = position(target, out_shape, a_strides)
            lo = c * length // chunks
            hi = (c + 1) * length // chunks
            acc = identity(op, out[0])
            if step == 1:
                chunk = a[base + lo : base + hi]
                for j in range(hi - lo):
                    acc = fold(op, acc, chunk[j])
            else:
                for j in range(lo, hi):
                    acc = fold(op, acc, a[base + j * step])
            partial[item] = acc
        for target in range(outputs):
            total = identity(op, out[0])
            for c in range(chunks):
                total = fold(op, total, partial[target * chunks + c])
            out[position(target, out_shape, out_strides)] = total

    @njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
    def along(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, length: int,
              outputs: int) -> None:
        for o in prange(outputs):
            base = position(o, out_shape, a_strides)
            values = a[base : base + length]
            acc = identity(op, out[0])
            for j in range(length):
                acc = fold(op, acc, values[j])
            out[position(o, out_shape, out_strides)] = acc

    @njit(parallel=True, cache=True)
    def across(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, length: int,
               step: int, outputs: int, chunks: int) -> None:
        last = len(out_shape) - 1
        inner = out_shape[last]
        outer = out_shape[:last]
        blocks = (inner + REDUCE_BLOCK - 1) // REDUCE_BLOCK
        partial = np.empty(chunks * outputs, dtype=out.dtype)  # chunk c's fold of output o: partial[c * outputs + o]
        for item in prange((outputs // inner) * blocks * chunks):
            c = item % chunks
            rest = item // chunks
            row = rest // blocks
            start = (rest - row * blocks) * REDUCE_BLOCK
            n = min(REDUCE_BLOCK, inner - start)
            at_a = position(row, outer, a_strides[:last]) + start
            block = partial[c * outputs + row * inner + start : c * outputs + row * inner + start + n]
            for j in range(n):
                block[j] = identity(op, out[0])
            for k in range(c * length // chunks, (c + 1) * length // chunks):
                row_a = a[at_a + k * step : at_a + k * step + n]
                for j in range(n):
                    block[j] = fold(op, block[j], row_a[j])
        for o in range(outputs):
            total = partial[o]
            for c in range(1, chunks):
                total = fold(op, total, partial[c * outputs + o])
            row = o // inner
            out[position(row, outer, out_strides[:last]) + o - row * inner] = total

    @njit(parallel=True, cache=True)
    def strided(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, length: int,
                step: int, outputs: int) -> None:
        for o in prange(outputs):
            base = position(o, out_shape, a_strides)
            acc = identity(op, out[0])
            if step > 0:
                values = a[base : base + (length - 1) * step + 1 : step]
                for j in range(length):
                    acc = fold(op, acc, values[j])
            else:  # a broadcast dim (stride 0): the same element, length times
                for j in range(length):
                    acc = fold(op, acc, a[base])
            out[position(o, out_shape, out_strides)] = acc

    along_serial, across_serial, strided_serial = serial_twin(along), serial_twin(across), serial_twin(strided)

    def run(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_shape: Index, a_strides: Index,
            dim: int, n_threads: int) -> None:
        outputs = size_of(out_shape)
        if outputs == 0:
            return
        length = a_shape[dim]
        step = a_strides[dim]
        last = len(a_shape) - 1
        small = outputs * length < PARALLEL_MIN
        if outputs < n_threads and length >= SPLIT_MIN:
            split(out, out_shape, out_strides, a, a_strides, length, step, outputs, n_threads)
        elif step == 1 or length == 1:
            (along_serial if small else along)(out, out_shape, out_strides, a, a_strides, length, outputs)
        elif dim != last and a_strides[last] == 1 and out_strides[last] == 1:
            chunks = n_threads if length >= 64 * n_threads else 1
            (across_serial if small else across)(out, out_shape, out_strides, a, a_strides, length, step, outputs,
                                                  chunks)
        else:
            (strided_serial if small else strided)(out, out_shape, out_strides, a, a_strides, length, step, outputs)

    return run


# ---------------------------------------------------------------------------------------------------
# Part 5 (optional) and Part 4: the reference's matmul is the optional part's design (packed panels, a
# register-tiled micro-kernel, cache blocking); any blocked parallel matmul passes Part 4's tests
# ---------------------------------------------------------------------------------------------------


@njit(cache=True)
def pack_a(panel: Storage, a: Storage, start: int, row_step: int, col_step: int, depth: int, rows: int) -> None:
    """Copy a rows x depth block of A (at `start`, any strides) into `panel` as depth columns of MR values:
    panel[k * MR + i] = A[i, k], and 0 in the rows i >= rows that pad a partial tile."""
    mr = tile_rows(panel)
    if col_step == 1:
        for i in range(rows):
            src = a[start + i * row_step : start + i * row_step + depth]
            for k in range(depth):
                panel[k * mr + i] = src[k]
    else:
        for k in range(depth):
            for i in range(rows):
                panel[k * mr + i] = a[start + i * row_step + k * col_step]
    for k in range(depth):
        for i in range(rows, mr):
            panel[k * mr + i] = 0


@njit(cache=True)
def pack_b(panel: Storage, b: Storage, start: int, row_step: int, col_step: int, depth: int, cols: int) -> None:
    """Copy a depth x cols block of B into `panel` as depth rows of NR values: panel[k * NR + j] = B[k, j],
    and 0 in the columns j >= cols that pad a partial tile. A transposed B (unit row step) is read column by
    column, in memory order."""
    if row_step == 1 and col_step != 1:  # a transposed B: read each column in order (a row of B is scattered)
        for j in range(cols):
            src = b[start + j * col_step : start + j * col_step + depth]
            for k in range(depth):
                panel[k * NR + j] = src[k]
        for k in range(depth):
            for j in range(cols, NR):
                panel[k * NR + j] = 0
        return
    for k in range(depth):
        dst = panel[k * NR : (k + 1) * NR]
        at = start + k * row_step
        if col_step == 1:
            src = b[at : at + cols]
            for j in range(cols):
                dst[j] = src[j]
        else:
            for j in range(cols):
                dst[j] = b[at + j * col_step]
        for j in range(cols, NR):
            dst[j] = 0


@njit(cache=True, fastmath={"contract"})
def micro_kernel(depth: int, packed_a: Storage, packed_b: Storage, c: Storage, start: int, row_step: int,
                 col_step: int, rows: int, cols: int, accumulate: bool) -> None:
    """C[:rows, :cols] (+)= A panel @ B panel for one MR x NR tile, the tile held in registers.

    For each k: the MR values of A's column k times the NR values of B's row k, added into the MR x NR
    accumulator, column by column (LLVM turns the j loop into vector instructions, each vector of B used
    for all MR rows). The accumulator is a register tile; C is read and written once per call, not once per k.
    """
    _tile_product(depth, packed_a, 0, 1, tile_rows(packed_a), packed_b, c, start, row_step, col_step, rows, cols,
                  accumulate)


@njit(cache=True, fastmath={"contract"})
def _tile_product(depth: int, a: Storage, a_at: int, a_row_step: int, a_col_step: int, packed_b: Storage,
                  c: Storage, start: int, row_step: int, col_step: int, rows: int, cols: int, accumulate: bool) -> None:
    """micro_kernel with A read through strides: A[i, k] = a[a_at + i * a_row_step + k * a_col_step], a packed
    panel (steps 1 and MR) or A itself where packing does not pay (see _row_block). Each value of A is
    broadcast to a vector, so where it comes from costs one scalar load either way."""
    mr = tile_rows(a)
    acc = register_tile(a)
    for i in range(mr):
        for j in range(NR):
            acc[i, j] = 0
    for k in range(depth):
        a_k = a_at + k * a_col_step
        b_k = packed_b[k * NR : (k + 1) * NR]
        for j in range(NR):  # j outside, i inside: each value of B serves the MR rows of the tile
            b_kj = b_k[j]
            for i in range(mr):
                acc[i, j] += a[a_k + i * a_row_step] * b_kj
    for i in range(rows):
        at = start + i * row_step
        if col_step == 1:
            c_row = c[at : at + cols]
            if accumulate:
                for j in range(cols):
                    c_row[j] += acc[i, j]
            else:
                for j in range(cols):
                    c_row[j] = acc[i, j]
        else:
            for j in range(cols):
                if accumulate:
                    c[at + j * col_step] += acc[i, j]
                else:
                    c[at + j * col_step] = acc[i, j]


@njit(cache=True)
def _pack_a_columns(packed_a: Storage, a: Storage, start: int, col_step: int, depth: int, rows: int) -> None:
    """pack_a of every tile of a block of `rows` rows of an A whose columns are contiguous (row step 1):
    the same panels, filled column by column of A. Per tile, pack_a would read MR values from each of
    `depth` columns that lie col_step apart (a different page each); here each column is read once."""
    mr = tile_rows(packed_a)
    tiles = (rows + mr - 1) // mr
    for k in range(depth):
        column = a[start + k * col_step : start + k * col_step + rows]
        for i in range(rows):
            p = i // mr
            packed_a[p * depth * mr + k * mr + i - p * mr] = column[i]
        for i in range(rows, tiles * mr):
            p = i // mr
            packed_a[p * depth * mr + k * mr + i - p * mr] = 0


@njit(cache=True)
def _row_block(out: Storage, c_at: int, c_rows: int, c_cols: int, a: Storage, a_at: int, a_rows: int,
               a_cols: int, packed_b: Storage, packed_a: Storage, m: int, n: int, k: int, first: int,
               last: int, depth: int) -> None:
    """C block (m x the columns of panels first .. last - 1, m <= MC) = A block (m x k) @ B, with B already
    packed (panels of NR columns, in blocks of `depth` <= KC rows). For each depth block: pack the A rows once,
    then one micro-kernel call per tile.

    A block that meets a single panel (n <= NR) would be read once from its packed copy: packing it costs a
    read and a write of every value for nothing, so the micro-kernel reads such A in place (its full tiles;
    a partial last tile is still packed, its padding rows zero). On the digits CNN's convolutions (n = 16 to
    64) this halves the product's time.
    """
    mr = tile_rows(packed_a)
    tiles = (m + mr - 1) // mr
    panels = (n + NR - 1) // NR
    in_place = panels == 1  # then the block has that one panel: first = 0, last = 1
    for pc in range(0, k, depth):
        kc = min(depth, k - pc)
        if in_place:
            if m % mr:  # the partial last tile, packed into the first panel slot
                pack_a(packed_a[: kc * mr], a, a_at + (tiles - 1) * mr * a_rows + pc * a_cols, a_rows, a_cols, kc,
                       m - (tiles - 1) * mr)
        elif a_rows == 1 and a_cols != 1:  # a transposed A: a column of the block is contiguous, pack in one pass
            _pack_a_columns(packed_a, a, a_at + pc * a_cols, a_cols, kc, m)
        else:
            for p in range(tiles):
                pack_a(packed_a[p * kc * mr : (p + 1) * kc * mr], a, a_at + p * mr * a_rows + pc * a_cols, a_rows,
                       a_cols, kc, min(mr, m - p * mr))
        for q in range(first, last):
            panel_b = packed_b[pc * panels * NR + q * kc * NR : pc * panels * NR + (q + 1) * kc * NR]
            cols = min(NR, n - q * NR)
            for p in range(tiles):
                rows = min(mr, m - p * mr)
                c_start = c_at + p * mr * c_rows + q * NR * c_cols
                if in_place and rows == mr:
                    _tile_product(kc, a, a_at + p * mr * a_rows + pc * a_cols, a_rows, a_cols, panel_b, out, c_start,
                                  c_rows, c_cols, rows, cols, pc > 0)
                else:
                    at = 0 if in_place else p * kc * mr
                    _tile_product(kc, packed_a, at, 1, mr, panel_b, out, c_start, c_rows, c_cols, rows, cols, pc > 0)


@njit(cache=True, parallel=True)
def _matmul_kernel(out: Storage, out_shape: Index, out_strides: Index, a_in: Storage, a_in_strides: Index,
                   b_in: Storage, b_in_strides: Index, k: int, threads: int, transposed: bool) -> None:
    nd = len(out_shape)
    batch = out_shape[: nd - 2]
    # `transposed`: compute Cᵀ (n x m) = Bᵀ @ Aᵀ instead, by reading every matrix with its two strides
    # swapped (Aᵀ's row step is A's column step): the loops below only ever see strides
    if transposed:
        m, n = out_shape[nd - 1], out_shape[nd - 2]
        c_row_step, c_col_step = out_strides[nd - 1], out_strides[nd - 2]
        a, a_batch, a_row_step, a_col_step = b_in, b_in_strides[: nd - 2], b_in_strides[nd - 1], b_in_strides[nd - 2]
        b, b_batch, b_row_step, b_col_step = a_in, a_in_strides[: nd - 2], a_in_strides[nd - 1], a_in_strides[nd - 2]
    else:
        m, n = out_shape[nd - 2], out_shape[nd - 1]
        c_row_step, c_col_step = out_strides[nd - 2], out_strides[nd - 1]
        a, a_batch, a_row_step, a_col_step = a_in, a_in_strides[: nd - 2], a_in_strides[nd - 2], a_in_strides[nd - 1]
        b, b_batch, b_row_step, b_col_step = b_in, b_in_strides[: nd - 2], b_in_strides[nd - 2], b_in_strides[nd - 1]
    batches = size_of(batch)
    panels = (n + NR - 1) // NR
    per_batch = panels * NR * k  # packed B of one product: depth blocks of `panels` panels of NR columns
    packed_b = np.empty(batches * per_batch, dtype=out.dtype)
    # 1. pack every B once, in parallel over (product, depth block, panel); the depth blocks are of equal
    #    size, at most KC (k = 288 gives two of 144, not 256 and a short 32)
    depth_blocks = (k + KC - 1) // KC
    depth = (k + depth_blocks - 1) // depth_blocks
    for item in prange(batches * depth_blocks * panels):
        t = item // (depth_blocks * panels)
        rest = item - t * depth_blocks * panels
        pc = (rest // panels) * depth
        q = rest - (rest // panels) * panels
        kc = min(depth, k - pc)
        at = t * per_batch + pc * panels * NR + q * kc * NR
        pack_b(packed_b[at : at + kc * NR], b, position(t, batch, b_batch) + pc * b_row_step + q * NR * b_col_step,
               b_row_step, b_col_step, kc, min(NR, n - q * NR))
    # 2. blocks of MC rows of every product, in parallel; each packs its own rows of A. When those blocks are
    #    too few to keep every thread busy (a wide product: 64 x 25088), they are cut into column blocks too.
    row_blocks = (m + MC - 1) // MC
    wanted = ITEMS_PER_THREAD * threads
    col_blocks = min(panels, max(1, (wanted + batches * row_blocks - 1) // (batches * row_blocks)))
    per_item = (panels + col_blocks - 1) // col_blocks  # panels of one column block
    col_blocks = (panels + per_item - 1) // per_item
    for item in prange(batches * row_blocks * col_blocks):
        t = item // (row_blocks * col_blocks)
        rest = item - t * row_blocks * col_blocks
        ic = (rest // col_blocks) * MC
        first = (rest - (rest // col_blocks) * col_blocks) * per_item
        packed_a = np.empty(MC * depth, dtype=out.dtype)  # MC is a multiple of every tile height
        _row_block(out, position(t, batch, out_strides[: nd - 2]) + ic * c_row_step, c_row_step, c_col_step, a,
                   position(t, batch, a_batch) + ic * a_row_step, a_row_step, a_col_step,
                   packed_b[t * per_batch : (t + 1) * per_batch], packed_a, min(MC, m - ic), n, k, first,
                   min(panels, first + per_item), depth)


_matmul_kernel_serial = serial_twin(_matmul_kernel)  # products of fewer than MATMUL_PARALLEL_MIN multiply-adds


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dot_block(out: Storage, c_at: int, c_row_step: int, c_col_step: int, a: Storage, a_at: int, a_row_step: int,
               b: Storage, b_at: int, b_col_step: int, m: int, n: int, k: int) -> None:
    """C[i, j] = Σ_p A[i, p] · B[p, j] as m·n dot products: row i of A at a[a_at + i·a_row_step :] and column j
    of B at b[b_at + j·b_col_step :], both contiguous along p.

    Four rows of A against two columns of B at a time: eight sums held in registers, six loads for eight
    multiply-adds. `reassoc` lets LLVM split each sum into vector lanes (a float sum is otherwise kept in
    order, one element at a time), so each sum is added in another order than the loop's: the same value up
    to rounding. A last block of fewer rows or columns repeats the last one (it writes the same value twice).
    """
    zero = np.zeros(1, dtype=out.dtype)[0]
    for i0 in range(0, m, 4):
        i1, i2, i3 = min(i0 + 1, m - 1), min(i0 + 2, m - 1), min(i0 + 3, m - 1)
        a0 = a[a_at + i0 * a_row_step : a_at + i0 * a_row_step + k]
        a1 = a[a_at + i1 * a_row_step : a_at + i1 * a_row_step + k]
        a2 = a[a_at + i2 * a_row_step : a_at + i2 * a_row_step + k]
        a3 = a[a_at + i3 * a_row_step : a_at + i3 * a_row_step + k]
        for j0 in range(0, n, 2):
            j1 = min(j0 + 1, n - 1)
            b0 = b[b_at + j0 * b_col_step : b_at + j0 * b_col_step + k]
            b1 = b[b_at + j1 * b_col_step : b_at + j1 * b_col_step + k]
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = zero
            for p in range(k):
                y0, y1 = b0[p], b1[p]
                x = a0[p]
                s00 += x * y0
                s01 += x * y1
                x = a1[p]
                s10 += x * y0
                s11 += x * y1
                x = a2[p]
                s20 += x * y0
                s21 += x * y1
                x = a3[p]
                s30 += x * y0
                s31 += x * y1
            for i, s0, s1 in ((i0, s00, s01), (i1, s10, s11), (i2, s20, s21), (i3, s30, s31)):
                out[c_at + i * c_row_step + j0 * c_col_step] = s0
                out[c_at + i * c_row_step + j1 * c_col_step] = s1


@njit(cache=True)
def _gather_rows(rows: Storage, x: Storage, at: int, row_step: int, col_step: int, m: int, k: int) -> None:
    """rows[i·k + p] = X[i, p] for the m x k matrix X at x[at] (strides row_step, col_step): X's rows, made
    contiguous (only tiny products copy, so the order of the reads does not matter)."""
    for i in range(m):
        for p in range(k):
            rows[i * k + p] = x[at + i * row_step + p * col_step]


@njit(cache=True)
def _dot_products(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_strides: Index, b: Storage,
                  b_strides: Index, k: int) -> None:
    """Every product of the batch as dot products (_dot_block). A's rows and B's columns are used where they
    lie when they are contiguous along k (A = X, B = Wᵀ: a Linear layer); otherwise copied into such rows
    first, which costs (m + n)·k moves against the product's m·n·k multiply-adds."""
    nd = len(out_shape)
    m, n = out_shape[nd - 2], out_shape[nd - 1]
    batch = out_shape[: nd - 2]
    a_row_step, a_col_step = a_strides[nd - 2], a_strides[nd - 1]
    b_row_step, b_col_step = b_strides[nd - 2], b_strides[nd - 1]
    a_rows = np.empty(0 if a_col_step == 1 or k == 1 else m * k, dtype=out.dtype)
    b_cols = np.empty(0 if b_row_step == 1 or k == 1 else n * k, dtype=out.dtype)
    for t in range(size_of(batch)):
        a_at = position(t, batch, a_strides[: nd - 2])
        b_at = position(t, batch, b_strides[: nd - 2])
        if a_rows.size:
            _gather_rows(a_rows, a, a_at, a_row_step, a_col_step, m, k)
            a_src, a_at, a_step = a_rows, 0, k
        else:
            a_src, a_step = a, a_row_step
        if b_cols.size:
            _gather_rows(b_cols, b, b_at, b_col_step, b_row_step, n, k)  # the rows of Bᵀ: B's columns
            b_src, b_at, b_step = b_cols, 0, k
        else:
            b_src, b_step = b, b_col_step
        _dot_block(out, position(t, batch, out_strides[: nd - 2]), out_strides[nd - 2], out_strides[nd - 1], a_src,
                   a_at, a_step, b_src, b_at, b_step, m, n, k)


@njit(cache=True)
def _fill_zero(out: Storage, out_shape: Index, out_strides: Index) -> None:
    for i in range(size_of(out_shape)):
        out[position(i, out_shape, out_strides)] = 0


def _filled(size: int, tile: int) -> float:
    """The share of the tiles' rows (or columns) that hold real values when `size` is cut into tiles of `tile`."""
    return size / (-(-size // tile) * tile)


def _transpose_wins(m: int, n: int, mr: int) -> bool:
    """Whether computing Cᵀ = Bᵀ @ Aᵀ wastes fewer multiply-adds on padding than C = A @ B.

    A tile is MR x NR and NR is wide (64 with AVX-512), so a narrow C pads most of every tile with zeros: a
    2048 x 16 product computes 2048 x 64 values and keeps a quarter. Its transpose, 16 x 2048, fills every
    tile (4x faster on the digits CNN's first convolution); the loops read the operands through swapped strides.
    """
    return _filled(m, NR) * _filled(n, mr) > _filled(n, NR) * _filled(m, mr)


def _dots_win(out_shape: Index, a_strides: Index, b_strides: Index, k: int) -> bool:
    """Whether the products run faster as dot products (_dot_products) than as register tiles.

    A tile is MR x NR = 4 x 64 with AVX-512: a product of few outputs fills a fraction of it (9 x 16 keeps
    19 % of the multiply-adds, the better way round) and pays for packing and padding on top; a dot product
    wastes nothing. So: products that run on one thread, of at most DOT_OUTPUTS_MAX outputs, whose A rows and B
    columns are already contiguous along k (X @ Wᵀ, the gradients of a convolution's weights) and not too
    short (DOT_DEPTH_MIN); and any product of fewer than DOT_TINY multiply-adds, where copying the operands
    into rows costs less than the tile path's setup. The digits CNN's weight-gradient products went from
    105-147 us to 13-55 us (docs/ex06_measurements.md).
    """
    nd = len(out_shape)
    m, n = int(out_shape[nd - 2]), int(out_shape[nd - 1])
    work = size_of(out_shape) * k
    if work < DOT_TINY:
        return True
    if m * n > DOT_OUTPUTS_MAX or work >= MATMUL_PARALLEL_MIN or k < DOT_DEPTH_MIN:
        return False
    return a_strides[nd - 1] == 1 and b_strides[nd - 2] == 1


def tensor_matmul(out: Storage, out_shape: Index, out_strides: Index, a: Storage, a_shape: Index, a_strides: Index,
                  b: Storage, b_shape: Index, b_strides: Index) -> None:
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]: a is (..., m, k), b is (..., k, n), out (..., m, n).

    a and b have out's batch dims (broadcast batch dims have stride 0). B is packed once per product;
    work items are blocks of MC rows of every product, so a batch of small products and one large
    product both keep all threads busy; a product of few row blocks (64 x 25088) is cut into column blocks
    as well, ITEMS_PER_THREAD work items per thread.
    """
    if size_of(out_shape) == 0:
        return
    k = int(a_shape[len(a_shape) - 1])
    if k == 0:  # an empty sum: every element is 0
        _fill_zero(out, out_shape, out_strides)
        return
    nd = len(out_shape)
    if _dots_win(out_shape, a_strides, b_strides, k):
        _dot_products(out, out_shape, out_strides, a, a_strides, b, b_strides, k)
        return
    transposed = _transpose_wins(int(out_shape[nd - 2]), int(out_shape[nd - 1]), tile_rows(out))
    if size_of(out_shape) * k < MATMUL_PARALLEL_MIN:
        _matmul_kernel_serial(out, out_shape, out_strides, a, a_strides, b, b_strides, k, 1, transposed)
    else:
        _matmul_kernel(out, out_shape, out_strides, a, a_strides, b, b_strides, k, get_num_threads(), transposed)
