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
inside the given device functions `unary_op`, `binary_op`, `reduce_start` and `reduce_combine`. Do not
build a kernel per op (a closure over a Python function): each one would be compiled separately.

Rules of kernel code (numba.cuda compiles it for the GPU; the simulator runs it as Python):
    * refer to the CUDA module as `cuda` (the simulator swaps that name), and use only numbers, arrays,
      `math` and the device functions of this module: no lists, dicts, tuples you grow, or exceptions
    * a kernel returns nothing; it writes its results into `out`
    * every thread of a block must reach every `cuda.syncthreads()`
    * `out` arrives without initialisation (not zero-filled): write every element of it
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from numba import cuda, float64

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
WORK = 4  # matmul: each thread computes WORK x WORK outputs, kept in registers
BLOCK_TILE = WORK * TILE  # matmul: a block computes a BLOCK_TILE x BLOCK_TILE tile of out

INF = math.inf
NAN = math.nan

# ---------------------------------------------------------------------------------------------------
# Given: op codes and the scalar functions: torch's meaning, including its edges (exp(1000) = inf,
# log(0) = -inf, 1/0 = inf, sqrt(-1) = nan). Written with explicit tests instead of relying on IEEE
# arithmetic, so that they give the same answers on a GPU and in the simulator (which runs Python,
# where math.exp(1000) raises). Everything is computed in float64 and rounded on store.
# ---------------------------------------------------------------------------------------------------

UNARY_NAMES = ("id", "neg", "exp", "log", "sigmoid", "relu", "tanh", "inv", "abs", "sqrt", "logical_not")
BINARY_NAMES = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "lt", "le", "gt", "ge", "eq", "ne",
                "relu_back", "log_back", "inv_back", "sigmoid_back", "tanh_back")
REDUCE_NAMES = ("sum", "prod", "max", "min")
UNARY_CODES = {name: code for code, name in enumerate(UNARY_NAMES)}
BINARY_CODES = {name: code for code, name in enumerate(BINARY_NAMES)}
REDUCE_CODES = {name: code for code, name in enumerate(REDUCE_NAMES)}

ID, NEG, EXP, LOG, SIGMOID, RELU, TANH, INV, ABS, SQRT, LOGICAL_NOT = range(11)
(ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, LT, LE, GT, GE, EQ, NE,
 RELU_BACK, LOG_BACK, INV_BACK, SIGMOID_BACK, TANH_BACK) = range(18)
SUM, PROD, MAX, MIN = range(4)

EXP_LIMIT = 709.782712893384  # exp(x) overflows float64 above this


@cuda.jit(device=True)
def _divide(a, b):
    if b == 0:
        if a == 0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


@cuda.jit(device=True)
def _power(a, b):
    if a != a or b != b:
        return NAN
    if a == 0:
        if b < 0:
            return INF
        return 1.0 if b == 0 else 0.0
    if a < 0 and math.floor(b) != b:
        return NAN
    if b * math.log(abs(a)) > EXP_LIMIT:
        if a < 0 and math.fmod(b, 2.0) != 0:
            return -INF
        return INF
    return math.pow(a, b)


@cuda.jit(device=True)
def _maximum(a, b):
    if a != a or b != b:
        return NAN
    return a if a > b else b


@cuda.jit(device=True)
def _minimum(a, b):
    if a != a or b != b:
        return NAN
    return a if a < b else b


@cuda.jit(device=True)
def unary_op(op, x):
    """op(x) for a UNARY op code."""
    if op == ID:
        return x * 1.0
    if op == NEG:
        return -x * 1.0
    if op == EXP:
        return INF if x > EXP_LIMIT else math.exp(x)
    if op == LOG:
        if x > 0:
            return math.log(x)
        return -INF if x == 0 else NAN
    if op == SIGMOID:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if op == RELU:
        return x * 1.0 if (x > 0 or x != x) else 0.0
    if op == TANH:
        return math.tanh(x)
    if op == INV:
        if x == 0:
            return math.copysign(INF, x)
        return 1.0 / x
    if op == ABS:
        return abs(x) * 1.0
    if op == SQRT:
        return math.sqrt(x) if x >= 0 else NAN
    if op == LOGICAL_NOT:
        return 1.0 if x == 0 else 0.0
    return NAN


@cuda.jit(device=True)
def binary_op(op, a, b):
    """op(a, b) for a BINARY op code (comparisons give 1.0 / 0.0; the *_back ops take (input, gradient))."""
    if op == ADD:
        return a + b * 1.0
    if op == SUB:
        return a - b * 1.0
    if op == MUL:
        return a * b * 1.0
    if op == DIV:
        return _divide(a * 1.0, b * 1.0)
    if op == POW:
        return _power(a * 1.0, b * 1.0)
    if op == MAXIMUM:
        return _maximum(a * 1.0, b * 1.0)
    if op == MINIMUM:
        return _minimum(a * 1.0, b * 1.0)
    if op == LT:
        return 1.0 if a < b else 0.0
    if op == LE:
        return 1.0 if a <= b else 0.0
    if op == GT:
        return 1.0 if a > b else 0.0
    if op == GE:
        return 1.0 if a >= b else 0.0
    if op == EQ:
        return 1.0 if a == b else 0.0
    if op == NE:
        return 1.0 if a != b else 0.0
    if op == RELU_BACK:
        return b * 1.0 if a > 0 else 0.0
    if op == LOG_BACK:
        return _divide(b * 1.0, a * 1.0)
    if op == INV_BACK:
        return -_divide(b * 1.0, a * a * 1.0)
    if op == SIGMOID_BACK:
        return b * a * (1.0 - a)
    if op == TANH_BACK:
        return b * (1.0 - a * a)
    return NAN


@cuda.jit(device=True)
def reduce_start(op):
    """The identity of a REDUCE op: the value an empty fold gives."""
    if op == SUM:
        return 0.0
    if op == PROD:
        return 1.0
    if op == MAX:
        return -INF
    return INF


@cuda.jit(device=True)
def reduce_combine(op, acc, x):
    """acc folded with one more value x."""
    if op == SUM:
        return acc + x
    if op == PROD:
        return acc * x
    if op == MAX:
        return _maximum(acc, x * 1.0)
    return _minimum(acc, x * 1.0)


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
    """Threads per reduce block: the power of two >= n, between one warp and REDUCE_THREADS."""
    threads = MIN_REDUCE_THREADS
    while threads < n and threads < REDUCE_THREADS:
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
