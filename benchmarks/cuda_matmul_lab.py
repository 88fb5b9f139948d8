"""GPU time of ex07's matmul kernel and of variants of it, for a lent GPU (issue #19: >= 0.3 of torch at 4096^2).

    .venv/bin/python benchmarks/cuda_matmul_lab.py [--sizes 2048 4096]

Each variant is compiled from Python source here with ex07's constants and device functions, launched on the
same contiguous float32 operands, checked against numpy on the first rows, and timed as a queued block (GPU
drained at both ends). torch (no TF32) is timed alongside. Without a GPU it prints why and exits 0.

Measured on an H200 (issue #19): ex07's kernel 9.03 ms at 4096^2 (15.2 TFLOP/s, 0.296 of torch), the same
with fastmath 9.03 ms, with the next tiles prefetched into registers 12.05 ms (likely the 16 more registers
per thread leave fewer warps to hide latency with), so ex07 keeps the plain kernel.
"""

from __future__ import annotations

import argparse
import os
import sys
import types
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from cuda_overhead import per_call  # noqa: E402  (microseconds per call of a queued block)

from minitorch_dg.backends import cuda as cuda_env  # noqa: E402

cuda: Any = None  # numba.cuda, set by main()
TILE = WORK = BLOCK_TILE = 0  # ex07's constants, replaced in each variant's globals
float64: Any = None


def batch_position(batch, out_shape, in_shape, in_strides):  # noqa: ANN001, ANN201 - ex07's, replaced
    return 0


def matmul_prefetch(out, out_shape, out_strides, batches,  # noqa: ANN001, ANN201 - a numba.cuda kernel
                    a, a_shape, a_strides, b, b_shape, b_strides):  # noqa: ANN001
    """ex07's matmul with the next tiles' elements loaded into registers while the current tiles are used."""
    a_tile = cuda.shared.array((BLOCK_TILE, TILE), a.dtype)
    b_tile = cuda.shared.array((TILE, BLOCK_TILE), b.dtype)
    acc = cuda.local.array((WORK, WORK), out.dtype)
    a_part = cuda.local.array(WORK, a.dtype)
    b_part = cuda.local.array(WORK, b.dtype)
    a_next = cuda.local.array(WORK, a.dtype)
    b_next = cuda.local.array(WORK, b.dtype)
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
        for i in range(WORK):
            row = first_row + ty + TILE * i
            a_next[i] = a[a_base + row * a_row + tx * a_col] if row < rows and tx < inner else 0
            col = first_col + tx + TILE * i
            b_next[i] = b[b_base + ty * b_row + col * b_col] if ty < inner and col < cols else 0
        for start in range(0, inner, TILE):
            for i in range(WORK):
                a_tile[ty + TILE * i, tx] = a_next[i]
                b_tile[ty, tx + TILE * i] = b_next[i]
            cuda.syncthreads()
            following = start + TILE
            for i in range(WORK):
                row = first_row + ty + TILE * i
                k = following + tx
                a_next[i] = a[a_base + row * a_row + k * a_col] if row < rows and k < inner else 0
                col = first_col + tx + TILE * i
                k = following + ty
                b_next[i] = b[b_base + k * b_row + col * b_col] if k < inner and col < cols else 0
            for kk in range(TILE):
                for i in range(WORK):
                    a_part[i] = a_tile[ty + TILE * i, kk]
                    b_part[i] = b_tile[kk, tx + TILE * i]
                for i in range(WORK):
                    for j in range(WORK):
                        acc[i, j] += a_part[i] * b_part[j]
            cuda.syncthreads()
        out_base = batch_position(batch, out_shape, out_shape, out_strides)
        for i in range(WORK):
            row = first_row + ty + TILE * i
            for j in range(WORK):
                col = first_col + tx + TILE * j
                if row < rows and col < cols:
                    out[out_base + row * out_row + col * out_col] = acc[i, j]


def compiled(function: Any, scope: dict[str, Any], **options: Any) -> Any:
    """`function` compiled for the GPU with `scope` as its globals."""
    copy = types.FunctionType(function.__code__, scope, function.__name__)
    return cuda.jit(copy, **options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    args = parser.parse_args()
    if cuda_env.mode() != "gpu":
        print(f"matmul lab skipped: it needs a real GPU ({cuda_env.mode()})")
        return 0
    os.environ.setdefault("MTDG_SOURCE", "solutions")
    import numpy as np
    import torch

    global cuda
    import minitorch_dg as mt
    from minitorch_dg import course

    mt.zeros(1, device="cuda")  # the backend first (allocator, launcher)
    from numba import cuda

    ex07 = course.load("ex07")
    scope = dict(ex07.matmul_kernel.py_func.__globals__)
    variants = {
        "ex07 matmul_kernel": ex07.matmul_kernel,
        "ex07 + fastmath": compiled(ex07.matmul_kernel.py_func, scope, fastmath=True),
        "prefetch next tiles": compiled(matmul_prefetch, scope),
        "prefetch + fastmath": compiled(matmul_prefetch, scope, fastmath=True),
    }
    torch.backends.cuda.matmul.allow_tf32 = False
    for size in args.sizes:
        rng = np.random.default_rng(size)
        a_host = rng.standard_normal((size, size), dtype=np.float32)
        b_host = rng.standard_normal((size, size), dtype=np.float32)
        a, b = cuda.to_device(a_host.ravel()), cuda.to_device(b_host.ravel())
        out = cuda.device_array(size * size, np.float32)
        shape = cuda.to_device(np.array([size, size], np.int64))
        strides = cuda.to_device(np.array([size, 1], np.int64))
        grid = (-(-size // ex07.BLOCK_TILE), -(-size // ex07.BLOCK_TILE), 1)
        want = a_host[:4].astype(np.float64) @ b_host
        ta, tb = torch.from_numpy(a_host).cuda(), torch.from_numpy(b_host).cuda()
        theirs = per_call(lambda: ta @ tb, torch.cuda.synchronize, 10) / 1e3  # ms
        print(f"{size}^2 float32: torch {theirs:.3f} ms ({2 * size ** 3 / theirs / 1e9:.1f} TFLOP/s)", flush=True)
        for name, kernel in variants.items():
            def launch(kernel: Any = kernel) -> None:
                kernel[grid, (ex07.TILE, ex07.TILE)](out, shape, strides, 1, a, shape, strides, b, shape, strides)

            try:
                ours = per_call(launch, cuda.synchronize, 5) / 1e3
            except Exception as error:  # noqa: BLE001 - a report
                print(f"  {name}: failed: {type(error).__name__}: {error}", flush=True)
                continue
            got = out.copy_to_host().reshape(size, size)[:4].astype(np.float64)
            ok = np.allclose(got, want, rtol=1e-3, atol=1e-3 * np.sqrt(size))
            print(f"  {name:24s} {ours:8.3f} ms {2 * size ** 3 / ours / 1e9:6.1f} TFLOP/s  torch/ours "
                  f"{theirs / ours:.3f}  {'ok' if ok else 'WRONG'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
