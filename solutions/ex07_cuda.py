"""ex07 — CUDA kernels with numba.cuda: map, zip, shared-memory reduce, tiled matmul (reference solution).

The CUDA backend (minitorch_dg/backends/cuda.py) keeps every cuda tensor's storage in GPU memory and
calls the four launchers at the bottom of this module. Each launcher gets `DeviceTensor`s:

    t.storage          1-D device array (the tensor's elements, wherever its strides put them)
    t.shape, t.size    the shape as a Python tuple and the number of elements (for the launch configuration)
    t.device_shape     the shape as an int64 device array  } built once per (shape, strides) by the
    t.device_strides   the strides as an int64 device array } backend and cached: kernels read these
    t.contiguous       True when element i (row-major) sits at storage position i

Kernels are compiled once per combination of argument types. The element operation is an integer op
code passed as an ordinary argument and chosen inside a module-level device function (unary_op, ...,
from minitorch_dg.backends.cuda_ops), so a kernel is never rebuilt per op (a closure over a Python
function would force one compilation per op). The
backend hands over outputs that are not initialised (no zero-fill): every kernel writes all of out.

Layout of the work:
    map / zip   a 1-D grid-stride loop: 256 threads per block, thread i handles elements i, i + grid, ...;
                contiguous operands of one shape take a kernel without any index arithmetic
    reduce      block (c, s) folds share c of slice s with a strided loop (four loads in flight), then a
                shared-memory tree; with several shares per slice a second launch folds the partial
                results (multi-pass), queued right behind the first
    matmul      128 x 128 output tiles per block of 16 x 16 threads, each thread 8 x 8 outputs in registers;
                the block walks the inner dim through shared-memory tiles of a and b
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
    """
    position = 0
    d_in = len(in_shape) - 1
    for d in range(len(out_shape) - 1, -1, -1):
        size = out_shape[d]
        index = ordinal % size
        ordinal //= size
        if d_in >= 0:
            if in_shape[d_in] != 1:
                position += index * in_strides[d_in]
            d_in -= 1
    return position


@cuda.jit(device=True)
def slice_position(s, shape, strides, dim):
    """Position of the first element (index 0 along `dim`) of slice number `s`, where the slices of a
    tensor along `dim` are numbered row-major over all the other dims."""
    position = 0
    for d in range(len(shape) - 1, -1, -1):
        if d != dim:
            size = shape[d]
            position += (s % size) * strides[d]
            s //= size
    return position


@cuda.jit(device=True)
def batch_position(batch, out_shape, in_shape, in_strides):
    """Position of matrix number `batch` of `out_shape` (all dims but the last two, row-major) inside a
    matmul operand of `in_shape` / `in_strides`, whose batch dims broadcast to out's."""
    position = 0
    d_in = len(in_shape) - 3
    for d in range(len(out_shape) - 3, -1, -1):
        size = out_shape[d]
        index = batch % size
        batch //= size
        if d_in >= 0:
            if in_shape[d_in] != 1:
                position += index * in_strides[d_in]
            d_in -= 1
    return position


# ---------------------------------------------------------------------------------------------------
# Part 2: map and zip: a contiguous fast path, and the general strided path
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def map_contiguous_kernel(op, out, a, size):
    """out[i] = unary_op(op, a[i]) for i < size, where out and a are contiguous with the same shape: element
    i of each sits at storage position i, so there is no index arithmetic at all. Grid-stride loop."""
    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        out[i] = unary_op(op, a[i])


@cuda.jit(cache=True)
def zip_contiguous_kernel(op, out, a, b, size):
    """out[i] = binary_op(op, a[i], b[i]) for i < size, out, a and b contiguous with the same shape."""
    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        out[i] = binary_op(op, a[i], b[i])


@cuda.jit(cache=True)
def map_kernel(op, out, out_shape, out_strides, size, a, a_shape, a_strides):
    """out[i] = unary_op(op, a[i broadcast]) for every element i < size of out, by a grid-stride loop."""
    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        value = a[broadcast_position(i, out_shape, a_shape, a_strides)]
        out[broadcast_position(i, out_shape, out_shape, out_strides)] = unary_op(op, value)


@cuda.jit(cache=True)
def zip_kernel(op, out, out_shape, out_strides, size, a, a_shape, a_strides, b, b_shape, b_strides):
    """out[i] = binary_op(op, a[i broadcast], b[i broadcast]) for every element i < size of out."""
    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        x = a[broadcast_position(i, out_shape, a_shape, a_strides)]
        y = b[broadcast_position(i, out_shape, b_shape, b_strides)]
        out[broadcast_position(i, out_shape, out_shape, out_strides)] = binary_op(op, x, y)


def blocks_for(size: int, threads: int) -> int:
    """Enough blocks of `threads` to give every element a thread, capped at MAX_BLOCKS (the grid-stride
    loop covers the rest)."""
    return max(1, min(MAX_BLOCKS, -(-size // threads)))


def same_contiguous_layout(out: DeviceTensor, *inputs: DeviceTensor) -> bool:
    """True when out and every input are contiguous with out's shape: element i is at storage position i
    in all of them (no broadcasting, no permuted or stepped view)."""
    return out.contiguous and all(t.contiguous and t.shape == out.shape for t in inputs)


def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    """Launch a map kernel: out = op(a) element-wise, a broadcast to out's shape; the contiguous kernel
    when the layouts allow it."""
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    code = UNARY_CODES[op]
    if same_contiguous_layout(out, a):
        map_contiguous_kernel[blocks, THREADS_PER_BLOCK](code, out.storage, a.storage, out.size)
        return
    map_kernel[blocks, THREADS_PER_BLOCK](code, out.storage, out.device_shape, out.device_strides,
                                          out.size, a.storage, a.device_shape, a.device_strides)


def tensor_zip(op: str, out: DeviceTensor, a: DeviceTensor, b: DeviceTensor) -> None:
    """Launch a zip kernel: out = op(a, b) element-wise, a and b broadcast to out's shape; the contiguous
    kernel when the layouts allow it."""
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    code = BINARY_CODES[op]
    if same_contiguous_layout(out, a, b):
        zip_contiguous_kernel[blocks, THREADS_PER_BLOCK](code, out.storage, a.storage, b.storage, out.size)
        return
    zip_kernel[blocks, THREADS_PER_BLOCK](code, out.storage, out.device_shape, out.device_strides,
                                          out.size, a.storage, a.device_shape, a.device_strides,
                                          b.storage, b.device_shape, b.device_strides)


# ---------------------------------------------------------------------------------------------------
# Part 3: reduce over one dim, shared-memory tree, multi-pass
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def reduce_kernel(op, out, out_shape, out_strides, slices, a, a_shape, a_strides, dim):
    """Fold `a` along `dim` in shares: out has a's shape except out_shape[dim] == gridDim.x (the number of
    shares). Block (c, y) folds share c of slices y, y + gridDim.y, ...; its threads take the elements
    j = c * blockDim.x + tid, j + stride, j + 2 * stride, ... with stride = gridDim.x * blockDim.x (a
    strided loop, so any length works; consecutive threads read consecutive elements), REDUCE_UNROLL
    loads at a time so that they are in flight together, and a shared-memory tree combines the block's
    partial results. blockDim.x must be a power of two no larger than REDUCE_THREADS."""
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    tid = cuda.threadIdx.x
    share = cuda.blockIdx.x
    n = a_shape[dim]
    step = a_strides[dim]
    stride = cuda.gridDim.x * cuda.blockDim.x
    for s in range(cuda.blockIdx.y, slices, cuda.gridDim.y):
        base = slice_position(s, a_shape, a_strides, dim)
        acc = reduce_start(op)
        j = share * cuda.blockDim.x + tid
        while j + (REDUCE_UNROLL - 1) * stride < n:  # four loads issued before the first one is used
            x0 = a[base + j * step]
            x1 = a[base + (j + stride) * step]
            x2 = a[base + (j + 2 * stride) * step]
            x3 = a[base + (j + 3 * stride) * step]
            acc = reduce_combine(op, acc, x0)
            acc = reduce_combine(op, acc, x1)
            acc = reduce_combine(op, acc, x2)
            acc = reduce_combine(op, acc, x3)
            j += REDUCE_UNROLL * stride
        while j < n:  # the last few elements of this thread, one at a time
            acc = reduce_combine(op, acc, a[base + j * step])
            j += stride
        partial[tid] = acc
        cuda.syncthreads()  # every thread's partial is in shared memory before anyone reads a neighbour's
        half = cuda.blockDim.x // 2
        while half > 0:
            if tid < half:
                partial[tid] = reduce_combine(op, partial[tid], partial[tid + half])
            cuda.syncthreads()  # this level is complete before the next level reads it
            half //= 2
        if tid == 0:
            out[slice_position(s, out_shape, out_strides, dim) + share * out_strides[dim]] = partial[0]


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


def _launch_reduce(code: int, out: DeviceTensor, a: DeviceTensor, dim: int, shares: int, slices: int) -> None:
    threads = reduce_threads(-(-a.shape[dim] // shares))
    grid = (shares, min(slices, MAX_GRID_Y))
    reduce_kernel[grid, threads](code, out.storage, out.device_shape, out.device_strides, slices,
                                 a.storage, a.device_shape, a.device_strides, dim)


def tensor_reduce(op: str, out: DeviceTensor, a: DeviceTensor, dim: int,
                  scratch: Callable[[tuple[int, ...]], DeviceTensor]) -> None:
    """Launch reduce_kernel: out = a folded along `dim` with op (out has size 1 at `dim`).

    A long dim is split into shares folded by separate blocks into `scratch(shape)` (a new float64
    DeviceTensor with a's shape but `shares` at dim, not initialised: every share is written); a second
    launch folds the shares into out. Both launches are queued at once: nothing waits on the host.
    """
    n = a.shape[dim]
    slices = out.size
    if slices == 0:
        return
    code = REDUCE_CODES[op]
    shares = reduce_shares(n, slices, reduce_threads(n))
    if shares == 1:
        _launch_reduce(code, out, a, dim, 1, slices)
        return
    partials = scratch(tuple(shares if d == dim else size for d, size in enumerate(a.shape)))
    _launch_reduce(code, partials, a, dim, shares, slices)
    _launch_reduce(code, out, partials, dim, 1, slices)


# ---------------------------------------------------------------------------------------------------
# Part 4: batched matmul, tiled in shared memory, WORK x WORK outputs per thread
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def matmul_kernel(out, out_shape, out_strides, batches, a, a_shape, a_strides, b, b_shape, b_strides):
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]; a block of TILE x TILE threads computes one
    BLOCK_TILE x BLOCK_TILE tile of out (BLOCK_TILE = WORK * TILE), each thread WORK x WORK of its outputs.

    Thread (tx, ty) of block (bx, by, bz) owns the outputs at rows by * BLOCK_TILE + ty + TILE * i and
    columns bx * BLOCK_TILE + tx + TILE * j (0 <= i, j < WORK) of the matrices bz, bz + gridDim.z, ...,
    accumulated in registers. For each TILE-wide step of the inner dim, the block copies a
    BLOCK_TILE x TILE tile of a and a TILE x BLOCK_TILE tile of b into shared memory (WORK elements of
    each per thread, zero outside the matrices), waits, multiplies: for each kk it reads WORK values of
    a and WORK of b into registers and makes WORK x WORK products with them; and waits again before the
    next copy overwrites the tiles.
    """
    a_tile = cuda.shared.array((BLOCK_TILE, TILE), a.dtype)
    b_tile = cuda.shared.array((TILE, BLOCK_TILE), b.dtype)
    acc = cuda.local.array((WORK, WORK), out.dtype)
    a_part = cuda.local.array(WORK, a.dtype)
    b_part = cuda.local.array(WORK, b.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    first_row = cuda.blockIdx.y * BLOCK_TILE
    first_col = cuda.blockIdx.x * BLOCK_TILE
    dims, a_dims, b_dims = len(out_shape), len(a_shape), len(b_shape)
    rows, cols, inner = out_shape[dims - 2], out_shape[dims - 1], a_shape[a_dims - 1]
    a_row, a_col = a_strides[a_dims - 2], a_strides[a_dims - 1]
    b_row, b_col = b_strides[b_dims - 2], b_strides[b_dims - 1]
    out_row, out_col = out_strides[dims - 2], out_strides[dims - 1]
    for batch in range(cuda.blockIdx.z, batches, cuda.gridDim.z):
        a_base = batch_position(batch, out_shape, a_shape, a_strides)
        b_base = batch_position(batch, out_shape, b_shape, b_strides)
        for i in range(WORK):
            for j in range(WORK):
                acc[i, j] = 0
        for start in range(0, inner, TILE):
            for i in range(WORK):
                row = first_row + ty + TILE * i
                k = start + tx
                if row < rows and k < inner:
                    a_tile[ty + TILE * i, tx] = a[a_base + row * a_row + k * a_col]
                else:
                    a_tile[ty + TILE * i, tx] = 0
                col = first_col + tx + TILE * i
                k = start + ty
                if k < inner and col < cols:
                    b_tile[ty, tx + TILE * i] = b[b_base + k * b_row + col * b_col]
                else:
                    b_tile[ty, tx + TILE * i] = 0
            cuda.syncthreads()  # both tiles are complete before anyone multiplies them
            for kk in range(TILE):
                for i in range(WORK):
                    a_part[i] = a_tile[ty + TILE * i, kk]
                    b_part[i] = b_tile[kk, tx + TILE * i]
                for i in range(WORK):
                    for j in range(WORK):
                        acc[i, j] += a_part[i] * b_part[j]
            cuda.syncthreads()  # everyone is done with these tiles before the next step overwrites them
        out_base = batch_position(batch, out_shape, out_shape, out_strides)
        for i in range(WORK):
            row = first_row + ty + TILE * i
            for j in range(WORK):
                col = first_col + tx + TILE * j
                if row < rows and col < cols:
                    out[out_base + row * out_row + col * out_col] = acc[i, j]


def tensor_matmul(out: DeviceTensor, a: DeviceTensor, b: DeviceTensor) -> None:
    """Launch matmul_kernel with TILE x TILE threads per block on a grid of BLOCK_TILE x BLOCK_TILE tiles
    covering out's last two dims, one grid layer per batch matrix (capped at MAX_GRID_Y; the kernel
    loops over the rest)."""
    if out.size == 0:
        return
    rows, cols = out.shape[-2], out.shape[-1]
    batches = out.size // (rows * cols)
    grid = (-(-cols // BLOCK_TILE), -(-rows // BLOCK_TILE), min(batches, MAX_GRID_Y))
    matmul_kernel[grid, (TILE, TILE)](out.storage, out.device_shape, out.device_strides, batches,
                                      a.storage, a.device_shape, a.device_strides,
                                      b.storage, b.device_shape, b.device_strides)
