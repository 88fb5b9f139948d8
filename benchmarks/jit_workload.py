"""The whole fast backend, once: every kernel it has for float32, compiled (or loaded from Numba's cache).

    .venv/bin/python benchmarks/jit_workload.py          # prints the seconds the workload took

Run in a fresh process with NUMBA_CACHE_DIR pointing to an empty folder, this is the cold JIT cost of the
backend: every element op as a map or zip on contiguous tensors (the flat kernels), a broadcast add and mul
and a map of a transposed tensor (the row kernels), every reduction over the contiguous last dim, the first
dim (across) and a long vector (split), one over a transposed tensor (strided), and matmul. Run again with
the same folder, it is the cost of a cached start. benchmarks/table.py runs it both ways.
"""

from __future__ import annotations

import os
import sys
import time

started = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("MTDG_SOURCE", "solutions")

import minitorch_dg as mt  # noqa: E402
from minitorch_dg import kernels as K  # noqa: E402
from minitorch_dg.elementwise import BINARY_OPS, REDUCE_OPS, UNARY_OPS  # noqa: E402


def workload() -> None:
    x = mt.rand(64, 48) + 0.5
    y = mt.rand(64, 48) + 0.5
    row = mt.rand(48)
    for op in UNARY_OPS:
        K.map(op, x)
    K.map("exp", x.t())
    for op in BINARY_OPS:
        K.zip(op, x, y)
    K.zip("add", x, row)
    K.zip("mul", x, row)
    long = mt.rand(100_000)
    for op in REDUCE_OPS:
        K.reduce(op, x, 1)
        K.reduce(op, x, 0)
        K.reduce(op, long, 0)
    K.reduce("sum", x.t(), 1)
    _ = x @ y.t()


if __name__ == "__main__":
    imported = time.perf_counter()
    with mt.use_backend("fast"):
        workload()
    done = time.perf_counter()
    print(f"import {imported - started:.2f} s, workload {done - imported:.2f} s, total {done - started:.2f} s")
