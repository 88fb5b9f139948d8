"""ex07 — CUDA kernels with numba.cuda: map, zip, shared-memory reduce, tiled matmul.

Read exercises/ex07_cuda.md first. Write the three device helpers and the six kernels, and replace each
`raise NotImplementedYet(...)` in the launchers with a launch of your kernel; then run `mtdg check ex07`.
Keep the names and parameters: the CUDA backend (minitorch_dg/backends/cuda.py) calls the launchers for
every operation on a cuda tensor. No GPU? The tests and the grader run your kernels in numba's CUDA
simulator (NUMBA_ENABLE_CUDASIM=1) by themselves.

Each launcher gets `DeviceTensor`s:

    t.storage          1-D device array (the tensor's elements, wherever its strides put them)
    t.shape, t.size    the shape as a Python tuple and the number of elements (for the launch configuration)
    t.device_shape     the shape as an int64 device array  } built once per (shape, strides) by the
    t.device_strides   the strides as an int64 device array } backend and cached: kernels read these
    t.contiguous       True when element i (row-major) sits at storage position i

The element operation is an integer op code, passed to the kernel as an ordinary argument and chosen
inside the given device functions `unary_op`, `binary_op`, `reduce_start` and `reduce_combine` (imported
from minitorch_dg.backends.cuda_ops). Do not build a kernel per op (a closure over a Python function):
each one would be compiled separately.

Rules of kernel code (numba.cuda compiles it for the GPU; the simulator runs it as Python):
    * refer to the CUDA module as `cuda` (the simulator swaps that name), and use only numbers, arrays,
      `math`, the device functions of this module and the given ones: no lists, dicts, tuples you grow,
      or exceptions
    * a kernel returns nothing; it writes its results into `out`
    * every thread of a block must reach every `cuda.syncthreads()`
    * `out` arrives without initialisation (not zero-filled): write every element of it
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from numba import cuda, float64

from minitorch_dg.backends.cuda_ops import (  # given: op codes and element functions (see below)
    BINARY_CODES,
    REDUCE_CODES,
    UNARY_CODES,
    binary_op,
    reduce_combine,
    reduce_start,
    unary_op,
)
from minitorch_dg.errors import NotImplementedYet

if TYPE_CHECKING:
    from minitorch_dg.backends.cuda import DeviceTensor

THREADS_PER_BLOCK = 256  # map / zip: 8 warps per block
MAX_BLOCKS = 2048  # map / zip: more elements than blocks x threads are covered by the grid-stride loop
REDUCE_THREADS = 256  # the largest reduce block (a power of two: the tree halves it)
MIN_REDUCE_THREADS = 32  # never less than one warp
TARGET_REDUCE_BLOCKS = 1024  # enough blocks to fill a GPU; a lone slice is split into this many shares
MAX_GRID_Y = 65535  # CUDA's limit on gridDim.y and gridDim.z
REDUCE_UNROLL = 4  # reduce: loads a thread has in flight at once in its strided loop
TILE = 16  # matmul: a block has TILE x TILE threads, and the inner dim advances TILE at a time
WORK = 8  # matmul: each thread computes WORK x WORK outputs, kept in registers
BLOCK_TILE = WORK * TILE  # matmul: a block computes a BLOCK_TILE x BLOCK_TILE tile of out

# Given, imported above from minitorch_dg.backends.cuda_ops: the op codes UNARY_CODES, BINARY_CODES and
# REDUCE_CODES (UNARY_CODES["exp"] is the code of exp) and the device functions unary_op(op, x),
# binary_op(op, a, b), reduce_start(op) and reduce_combine(op, acc, x), which choose the operation from its
# code. They are generated from the framework's table of element-wise ops (minitorch_dg/elementwise.py):
# torch's meaning, including its edges (exp(1000) = inf, log(0) = -inf, 1/0 = inf, sqrt(-1) = nan),
# computed in float64 and rounded on store.

# ---------------------------------------------------------------------------------------------------
# Part 1: index arithmetic on the device (ex03's ideas, without building index tuples)
# ---------------------------------------------------------------------------------------------------


@cuda.jit(device=True)
def broadcast_position(ordinal, out_shape, in_shape, in_strides):
    """Storage position, in a tensor of `in_shape` / `in_strides`, of the element that element number
    `ordinal` (row-major) of `out_shape` reads when `in_shape` is broadcast to `out_shape`.

    Walk the dims of out_shape from the last: index = ordinal % size, ordinal //= size. The in dims are
    right-aligned with the out dims; a size-1 in dim was stretched, so it contributes nothing. With
    in_shape == out_shape this is simply the position of element `ordinal` of a strided tensor.
    All three are int64 device arrays: read their lengths with len(...).
    """
    # TODO ex07: replace this line with the loop described above.
    return 0


@cuda.jit(device=True)
def slice_position(s, shape, strides, dim):
    """Position of the first element (index 0 along `dim`) of slice number `s`, where the slices of a
    tensor along `dim` are numbered row-major over all the other dims.

    For shape (2, 3, 4) and dim 1 there are 8 slices; slice 5 is the elements (1, :, 1)."""
    # TODO ex07
    return 0


@cuda.jit(device=True)
def batch_position(batch, out_shape, in_shape, in_strides):
    """Position of matrix number `batch` of `out_shape` (all dims but the last two, row-major) inside a
    matmul operand of `in_shape` / `in_strides`, whose batch dims broadcast to out's (right-aligned,
    size-1 dims stretched, missing leading dims allowed).

    out (3, 2, 4, 5) and in (2, 5, 6) with strides (30, 6, 1): matrix 3 of out is out[1, 1]; it reads
    in[1], which starts at position 30."""
    # TODO ex07
    return 0


# ---------------------------------------------------------------------------------------------------
# Part 2: map and zip: a contiguous fast path, and the general strided path
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def map_contiguous_kernel(op, out, a, size):
    """out[i] = unary_op(op, a[i]) for i < size, where out and a are contiguous with the same shape: element
    i of each sits at storage position i, so no index arithmetic is needed. Use a grid-stride loop."""
    # TODO ex07
    pass


@cuda.jit(cache=True)
def zip_contiguous_kernel(op, out, a, b, size):
    """out[i] = binary_op(op, a[i], b[i]) for i < size, out, a and b contiguous with the same shape."""
    # TODO ex07
    pass


@cuda.jit(cache=True)
def map_kernel(op, out, out_shape, out_strides, size, a, a_shape, a_strides):
    """out[i] = unary_op(op, a[i broadcast]) for every element i < size of out (any layout, broadcasting).

    Use a grid-stride loop: thread cuda.grid(1) takes elements grid(1), grid(1) + gridsize(1), ...
    so that any grid covers any size. Find both positions with broadcast_position."""
    # TODO ex07
    pass


@cuda.jit(cache=True)
def zip_kernel(op, out, out_shape, out_strides, size, a, a_shape, a_strides, b, b_shape, b_strides):
    """out[i] = binary_op(op, a[i broadcast], b[i broadcast]) for every element i < size of out."""
    # TODO ex07
    pass


def blocks_for(size: int, threads: int) -> int:
    """Enough blocks of `threads` to give every element a thread, capped at MAX_BLOCKS (the grid-stride
    loop covers the rest)."""
    return max(1, min(MAX_BLOCKS, -(-size // threads)))


def same_contiguous_layout(out: DeviceTensor, *inputs: DeviceTensor) -> bool:
    """True when out and every input are contiguous with out's shape: element i is at storage position i
    in all of them (no broadcasting, no permuted or stepped view)."""
    return out.contiguous and all(t.contiguous and t.shape == out.shape for t in inputs)


def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    """Launch a map kernel: out = op(a) element-wise, a broadcast to out's shape.

    map_contiguous_kernel when same_contiguous_layout(out, a), else map_kernel; THREADS_PER_BLOCK
    threads per block, blocks_for(...) blocks; pass UNARY_CODES[op] as the op code. Launch nothing when
    out has no elements (a grid of 0 blocks is an error on a GPU)."""
    raise NotImplementedYet("ex07", "tensor_map", "launch map_contiguous_kernel or map_kernel")


def tensor_zip(op: str, out: DeviceTensor, a: DeviceTensor, b: DeviceTensor) -> None:
    """Launch a zip kernel: out = op(a, b) element-wise, a and b broadcast to out's shape (BINARY_CODES);
    zip_contiguous_kernel when same_contiguous_layout(out, a, b), else zip_kernel."""
    raise NotImplementedYet("ex07", "tensor_zip", "launch zip_contiguous_kernel or zip_kernel")


# ---------------------------------------------------------------------------------------------------
# Part 3: reduce over one dim, shared-memory tree, multi-pass
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def reduce_kernel(op, out, out_shape, out_strides, slices, a, a_shape, a_strides, dim):
    """Fold `a` along `dim` in shares: out has a's shape except out_shape[dim] == gridDim.x (the number of
    shares). Block (c, y) folds share c of slices y, y + gridDim.y, ...; its threads take the elements
    j = c * blockDim.x + tid, j + stride, j + 2 * stride, ... with stride = gridDim.x * blockDim.x (a
    strided loop, so any length works), and a shared-memory tree combines the block's partial results.
    blockDim.x is a power of two no larger than REDUCE_THREADS.

    For each slice s:
        1. acc = reduce_start(op); fold your elements into it with reduce_combine: while
           j + (REDUCE_UNROLL - 1) * stride < n, load the REDUCE_UNROLL elements j, j + stride, ... into
           separate variables first, then fold them, and advance j by REDUCE_UNROLL * stride; then fold
           the remaining elements one at a time
        2. partial[tid] = acc in a cuda.shared.array(REDUCE_THREADS, float64)
        3. halve: while half > 0, threads tid < half combine partial[tid + half] into partial[tid]
        4. thread 0 writes partial[0] to out at (slice s, index c along dim)
    and put a cuda.syncthreads() wherever a thread is about to read what another thread wrote."""
    # TODO ex07
    pass


def reduce_threads(n: int) -> int:
    """Threads per reduce block: the power of two >= n / (2 * REDUCE_UNROLL), between one warp and
    REDUCE_THREADS, so that each thread folds at least two rounds of REDUCE_UNROLL loads before the tree."""
    threads = MIN_REDUCE_THREADS
    while threads * 2 * REDUCE_UNROLL < n and threads < REDUCE_THREADS:
        threads *= 2
    return threads


def reduce_shares(n: int, slices: int, threads: int) -> int:
    """How many blocks share one slice: enough blocks in all to fill a GPU, never a block without elements."""
    wanted = max(1, -(-TARGET_REDUCE_BLOCKS // max(slices, 1)))
    return max(1, min(wanted, -(-n // threads)))


def tensor_reduce(op: str, out: DeviceTensor, a: DeviceTensor, dim: int,
                  scratch: Callable[[tuple[int, ...]], DeviceTensor]) -> None:
    """Launch reduce_kernel: out = a folded along `dim` with op (out has size 1 at `dim`).

    With shares = reduce_shares(n, slices, reduce_threads(n)) > 1, fold a into
    partials = scratch(a's shape with `shares` at dim) (a new float64 DeviceTensor, not initialised) with
    a grid of (shares, slices) blocks, then fold partials into out with a second launch of (1, slices)
    blocks. Keep gridDim.y <= MAX_GRID_Y (the kernel's loop over slices covers the rest). Do nothing on
    the host between the two launches: the GPU runs them in order."""
    raise NotImplementedYet("ex07", "tensor_reduce", "launch reduce_kernel, in two passes for long dims")


# ---------------------------------------------------------------------------------------------------
# Part 4: batched matmul, tiled in shared memory, WORK x WORK outputs per thread
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def matmul_kernel(out, out_shape, out_strides, batches, a, a_shape, a_strides, b, b_shape, b_strides):
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]; a block of TILE x TILE threads computes one
    BLOCK_TILE x BLOCK_TILE tile of out (BLOCK_TILE = WORK * TILE), each thread WORK x WORK outputs.

    Thread (tx, ty) of block (bx, by, bz) owns the outputs at rows by * BLOCK_TILE + ty + TILE * i and
    columns bx * BLOCK_TILE + tx + TILE * j (0 <= i, j < WORK) of the matrices bz, bz + gridDim.z, ...
    (find them with batch_position), summed in acc = cuda.local.array((WORK, WORK), out.dtype) (zero
    it for every matrix). For each TILE-wide step of the inner dim:
        1. copy into a_tile = cuda.shared.array((BLOCK_TILE, TILE), a.dtype) the elements
           a_tile[ty + TILE * i, tx] = a[row = first row + ty + TILE * i, k = start + tx], and into
           b_tile = cuda.shared.array((TILE, BLOCK_TILE), b.dtype) the elements
           b_tile[ty, tx + TILE * i] = b[k = start + ty, col = first col + tx + TILE * i], for each
           i < WORK (0 outside the matrices)
        2. wait; for kk < TILE: read a_tile[ty + TILE * i, kk] and b_tile[kk, tx + TILE * j] into two
           cuda.local.array(WORK, ...) and add their WORK x WORK products to acc; wait again
    Then write acc[i, j] to out, only where row < rows and col < cols."""
    # TODO ex07
    pass


def tensor_matmul(out: DeviceTensor, a: DeviceTensor, b: DeviceTensor) -> None:
    """Launch matmul_kernel with (TILE, TILE) threads per block on a grid of
    (ceil(cols / BLOCK_TILE), ceil(rows / BLOCK_TILE), min(batches, MAX_GRID_Y)) blocks."""
    raise NotImplementedYet("ex07", "tensor_matmul", "launch matmul_kernel")
