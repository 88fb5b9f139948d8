"""Host overhead of one CUDA op, layer by layer: allocation, a bare numba launch, ex07's launcher, the backend, the
Tensor op, and torch, each per call over a queued block (GPU drained at both ends).

    .venv/bin/python benchmarks/cuda_overhead.py

For 10 million and 1,000 float32 elements (the small size shows pure host cost), then a cProfile of the Tensor op.
Without a GPU it prints why and exits 0.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from minitorch_dg.backends import cuda as cuda_env  # noqa: E402

cuda: Any = None  # numba.cuda, imported by main() (after the mode check)
_unary_op: Any = None  # cuda_ops.unary_op, set by kernel_lab


def per_call(run: Callable[[], Any], sync: Callable[[], None], calls: int = 200) -> float:
    """Microseconds per call of run() over `calls` queued calls."""
    run()
    sync()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        sync()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> int:
    force = "--simulator" in sys.argv  # a dry run of this script in the simulator (numbers meaningless)
    if cuda_env.mode() != "gpu" and not force:
        print(f"cuda overhead skipped: it needs a real GPU ({cuda_env.mode()})")
        return 0
    os.environ.setdefault("MTDG_SOURCE", "solutions")
    import numpy as np
    import torch

    global cuda
    from numba import cuda

    from numba.cuda.dispatcher import CUDADispatcher

    import minitorch_dg as mt
    from minitorch_dg import course, kernels
    from minitorch_dg.backends import cuda_launch
    from minitorch_dg.backends.cuda_ops import UNARY_CODES

    ex07 = course.load("ex07")
    sizes = (1_000,) if force else (10_000_000, 1_000)
    calls = 2 if force else 200
    sync = cuda.synchronize
    for n in sizes:
        host = np.random.default_rng(0).uniform(-1, 1, n).astype(np.float32)
        x = mt.tensor(host, device="cuda")
        data = x._data
        raw_a = cuda.to_device(host)
        raw_out = cuda.device_array(n, np.float32)
        code = UNARY_CODES["exp"]
        kernel = ex07.map_contiguous_kernel
        configured = kernel[ex07.blocks_for(n, 256), 256]
        rows = {
            "device_array alloc": lambda: cuda.device_array(n, np.float32),
            "bare launch kernel[g, b](...)": lambda: kernel[ex07.blocks_for(n, 256), 256](code, raw_out, raw_a, n),
            "configured launch cfg(...)": lambda: configured(code, raw_out, raw_a, n),
        }
        compiled = next(iter(kernel.overloads.values()), None)
        if compiled is not None and hasattr(compiled, "launch"):
            grid3, block3 = (ex07.blocks_for(n, 256), 1, 1), (256, 1, 1)
            stream = cuda.default_stream()
            rows["_Kernel.launch direct"] = lambda: compiled.launch((code, raw_out, raw_a, n), grid3, block3, stream, 0)
        be = kernels._backend("cuda")
        out_data = mt.zeros(n, device="cuda")._data
        view_a, view_out = be.view(data), be.view(out_data)
        rows["ex07.tensor_map(prebuilt views)"] = lambda: ex07.tensor_map("exp", view_out, view_a)
        rows["backend.view x2"] = lambda: (be.view(out_data), be.view(data))
        rows["backend.map(TensorData)"] = lambda: be.map("exp", data, out_data)
        rows["Tensor x.exp()"] = lambda: x.exp()
        print(f"n = {n} (launches below numba's dispatcher: {'on' if cuda_launch.installed() else 'off'})")
        for name, run in rows.items():
            print(f"  {name:34s} {per_call(run, sync, calls):9.1f} us")
        if cuda_launch.installed():  # the same launches through numba's own dispatcher, for comparison
            cuda_launch.uninstall(CUDADispatcher)
            for name in ("bare launch kernel[g, b](...)", "Tensor x.exp()"):
                print(f"  {'numba path: ' + name:34s} {per_call(rows[name], sync, calls):9.1f} us")
            cuda_launch.install(CUDADispatcher)
        print(f"  launches so far: {cuda_launch.counts}; kept on numba's path: {cuda_launch.refusals or 'none'}")
        if not torch.cuda.is_available():
            continue
        t = torch.from_numpy(host).cuda()
        print(f"  {'torch x.exp()':34s} {per_call(lambda: t.exp(), torch.cuda.synchronize, calls):9.1f} us", flush=True)
    profiler = cProfile.Profile()
    x = mt.tensor(np.ones(1000, np.float32), device="cuda")
    x.exp()
    profiler.enable()
    for _ in range(5 if force else 500):
        x.exp()
    cuda.synchronize()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    kernel_lab(ex07, small=force)
    return 0



# ---------------------------------------------------------------------------------------------------
# Kernel variants: the GPU time of ex07's kernels under other constants and of an unrolled map
# ---------------------------------------------------------------------------------------------------


def _recompiled(kernel: Any, options: dict[str, Any] | None = None, **constants: int) -> Any:
    """ex07's kernel `kernel` compiled afresh with some of its module's constants replaced, and with numba.cuda.jit
    `options` (fastmath=True, ...) when given."""
    import types

    from numba import cuda

    func = kernel.py_func
    scope = dict(func.__globals__, **constants)
    copy = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__, func.__closure__)
    return cuda.jit(copy, **(options or {}))


def _gpu_us(launch: Callable[[], Any], calls: int = 20) -> float:
    """GPU-bound microseconds per launch (a queued block, the GPU drained at both ends)."""
    from numba import cuda

    return per_call(launch, cuda.synchronize, calls)


def map_unrolled(op, out, a, size):
    """The contiguous map with four loads in flight per thread (a grid-stride loop advancing 4 x grid)."""
    g = cuda.gridsize(1)
    i = cuda.grid(1)
    while i + 3 * g < size:
        x0 = a[i]
        x1 = a[i + g]
        x2 = a[i + 2 * g]
        x3 = a[i + 3 * g]
        out[i] = _unary_op(op, x0)
        out[i + g] = _unary_op(op, x1)
        out[i + 2 * g] = _unary_op(op, x2)
        out[i + 3 * g] = _unary_op(op, x3)
        i += 4 * g
    while i < size:
        out[i] = _unary_op(op, a[i])
        i += g



def kernel_lab(ex07: Any, small: bool = False) -> None:
    import numpy as np
    from numba import cuda

    from minitorch_dg.backends.cuda_ops import REDUCE_CODES, UNARY_CODES, unary_op

    global _unary_op
    _unary_op = unary_op
    map_unrolled_kernel = cuda.jit(map_unrolled)

    def lay(shape: tuple[int, ...]) -> tuple[Any, Any]:
        strides, step = [], 1
        for size in reversed(shape):
            strides.append(step)
            step *= size
        return (cuda.to_device(np.array(shape, np.int64)), cuda.to_device(np.array(strides[::-1], np.int64)))

    n = 4096 if small else 10_000_000
    rows, cols = (4, 1024) if small else (10_000, 1000)
    calls = 1 if small else 20
    a = cuda.to_device(np.random.default_rng(0).uniform(-1, 1, n).astype(np.float32))
    out = cuda.device_array(n, np.float32)
    code = UNARY_CODES["exp"]

    print("\nkernel variants (GPU-bound us per launch)")
    for blocks in ((2,) if small else (2048, 4096, n // 256 + 1)):
        us = _gpu_us(lambda: ex07.map_contiguous_kernel[blocks, 256](code, out, a, n), calls)
        print(f"  map exp 1e7, ex07 map_contiguous_kernel, {blocks} blocks: {us:8.1f}")
    for blocks in ((2,) if small else (1024, 2048, 4096)):
        us = _gpu_us(lambda: map_unrolled_kernel[blocks, 256](code, out, a, n), calls)
        print(f"  map exp 1e7, unrolled x4, {blocks} blocks: {us:8.1f}")
    # reduce over the last dim of (10000, 1000) with other block sizes; the whole 1e7 with other share counts
    total = REDUCE_CODES["sum"]
    rows_shape, rows_strides = lay((rows, cols))
    red_shape, red_strides = lay((rows, 1))
    red = cuda.device_array(rows, np.float32)
    for threads in ((32,) if small else (32, 64, 128, 256)):
        us = _gpu_us(lambda: ex07.reduce_kernel[(1, rows), threads](total, red, red_shape, red_strides, rows, a,
                                                                     rows_shape, rows_strides, 1), calls)
        print(f"  reduce ({rows}, {cols}) over dim 1, {threads} threads: {us:8.1f}")
    flat_shape, flat_strides = lay((n,))
    for shares in ((2,) if small else (256, 512, 1024, 2048, 4096)):
        part_shape, part_strides = lay((shares,))
        parts = cuda.device_array(shares, np.float64)
        us = _gpu_us(lambda: ex07.reduce_kernel[(shares, 1), 256](total, parts, part_shape, part_strides, 1, a,
                                                                   flat_shape, flat_strides, 0), calls)
        print(f"  reduce 1e7, first pass, {shares} shares x 256 threads: {us:8.1f}")
    for size in ((20,) if small else (2048, 4096)):
        rng = np.random.default_rng(size)
        ma = cuda.to_device(rng.standard_normal((size * size,), dtype=np.float32))
        mb = cuda.to_device(rng.standard_normal((size * size,), dtype=np.float32))
        mo = cuda.device_array(size * size, np.float32)
        shape, strides = lay((size, size))
        for tile, work, options in ((16, 4, {}), (16, 8, {}), (16, 8, {"fastmath": True}), (8, 8, {}), (16, 6, {})):
            kernel = _recompiled(ex07.matmul_kernel, options, TILE=tile, WORK=work, BLOCK_TILE=tile * work)
            name = f"matmul {size}^2 TILE={tile} WORK={work}{' fastmath' if options else ''}"
            edge = tile * work
            grid = (-(-size // edge), -(-size // edge), 1)
            try:
                us = _gpu_us(lambda: kernel[grid, (tile, tile)](mo, shape, strides, 1, ma, shape, strides, mb, shape,
                                                               strides), calls=1 if small else 5)
            except Exception as error:  # noqa: BLE001 - a report
                print(f"  {name}: failed: {error}")
                continue
            check = mo.copy_to_host()[:size].astype(np.float64)
            want = ma.copy_to_host()[:size].astype(np.float64) @ mb.copy_to_host().reshape(size, size)
            ok = np.allclose(check, want, atol=1e-2)
            print(f"  {name}: {us:9.1f} us  {2 * size ** 3 / us / 1e6:6.2f} TFLOP/s"
                  f"  {'ok' if ok else 'WRONG'}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
