"""The CUDA lines of the benchmark table: ex07's kernels against torch on the same GPU (cases and goals:
benchmarks/cuda_cases.py; the one-table summary with ratios: benchmarks/cuda_table.py, `mtdg bench`).

    .venv/bin/pytest benchmarks/test_bench_cuda.py --benchmark-enable --benchmark-group-by=group

Each group holds minitorch-dg and torch on the same inputs: matmul of n x n float32 for n = 1024, 2048,
4096 (torch without TF32); map (exp), zip (add) and reduce (sum of everything, and sum over the last dim
of a matrix) over 10 million float32 elements. Timings include a device synchronisation, so they measure the kernels, not
their queueing. They run only where a real GPU exists; torch's lines also need a CUDA build of torch.
Under the CUDA simulator the same operations run once at small sizes, for correctness only (the
simulator says nothing about speed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from cuda_cases import ELEMENTS, MATMUL_SIZES, OPERATIONS
from minitorch_dg import course
from minitorch_dg.backends import cuda as cuda_env

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the project root: tests.support
from tests.support import cuda_schedule  # noqa: E402  (the tests' strict simulator schedule; imports no numba)

cuda_env.use_simulator_without_gpu()  # before numba is imported: no GPU, so the simulator checks correctness
if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # as the test suite: time the reference unless told otherwise
ON_GPU = cuda_env.mode() == "gpu"
TORCH_ON_GPU = ON_GPU and torch.cuda.is_available()
NO_GPU = (f"needs a real GPU: {cuda_env.describe_mode()}. Under the simulator only "
          "test_simulator_correctness_of_the_benchmarked_operations runs.")
NO_TORCH_GPU = "torch has no GPU here (a CPU build of torch, or no GPU): the minitorch-dg lines still run"

if TORCH_ON_GPU:
    torch.backends.cuda.matmul.allow_tf32 = False  # the goals compare with plain float32 matmul
    torch.backends.cudnn.allow_tf32 = False


def _sync_mt() -> None:
    from numba import cuda

    cuda.synchronize()


def _timed(benchmark: Any, fn: Callable[[], Any], sync: Callable[[], None]) -> Any:
    def run() -> Any:
        out = fn()
        sync()
        return out

    run()  # compile and warm up outside the timing
    return benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


# ---------------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not ON_GPU, reason=NO_GPU)
@pytest.mark.parametrize("n", MATMUL_SIZES)
def test_matmul_minitorch(benchmark: Any, n: int) -> None:
    benchmark.group = f"cuda matmul {n}x{n} float32"
    benchmark.extra_info["gflop"] = 2 * n**3 / 1e9
    rng = np.random.default_rng(0)
    a_host = rng.standard_normal((n, n), dtype=np.float32)
    b_host = rng.standard_normal((n, n), dtype=np.float32)
    a, b = mt.tensor(a_host, device="cuda"), mt.tensor(b_host, device="cuda")
    out = _timed(benchmark, lambda: a @ b, _sync_mt)
    rows = out[:4].to_numpy()  # check a few rows against numpy on the host
    np.testing.assert_allclose(rows, a_host[:4].astype(np.float64) @ b_host, rtol=1e-3, atol=1e-3 * np.sqrt(n))


@pytest.mark.skipif(not TORCH_ON_GPU, reason=NO_TORCH_GPU if ON_GPU else NO_GPU)
@pytest.mark.parametrize("n", MATMUL_SIZES)
def test_matmul_torch(benchmark: Any, n: int) -> None:
    benchmark.group = f"cuda matmul {n}x{n} float32"
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    _timed(benchmark, lambda: a @ b, torch.cuda.synchronize)


# ---------------------------------------------------------------------------------------------------
# map / zip / reduce at 10 million elements
# ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not ON_GPU, reason=NO_GPU)
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_elementwise_and_reduce_minitorch(benchmark: Any, name: str) -> None:
    benchmark.group = f"cuda {name} 1e7 float32"
    rng = np.random.default_rng(1)
    x_host = rng.uniform(-1, 1, ELEMENTS).astype(np.float32)
    y_host = rng.uniform(-1, 1, ELEMENTS).astype(np.float32)
    x, y = mt.tensor(x_host, device="cuda"), mt.tensor(y_host, device="cuda")
    fn, reference = OPERATIONS[name]
    out = _timed(benchmark, lambda: fn(x, y), _sync_mt)
    np.testing.assert_allclose(out.to_numpy(), reference(x_host, y_host), rtol=1e-4, atol=1e-3)


@pytest.mark.skipif(not TORCH_ON_GPU, reason=NO_TORCH_GPU if ON_GPU else NO_GPU)
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_elementwise_and_reduce_torch(benchmark: Any, name: str) -> None:
    benchmark.group = f"cuda {name} 1e7 float32"
    x = torch.rand(ELEMENTS, device="cuda") * 2 - 1
    y = torch.rand(ELEMENTS, device="cuda") * 2 - 1
    fn, _ = OPERATIONS[name]
    _timed(benchmark, lambda: fn(x, y), torch.cuda.synchronize)


# ---------------------------------------------------------------------------------------------------
# under the simulator: the same operations, small, for correctness only
# ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not cuda_env.simulator_enabled(),
                    reason=f"runs only under the CUDA simulator ({cuda_env.describe_mode()})")
def test_simulator_correctness_of_the_benchmarked_operations() -> None:
    rng = np.random.default_rng(2)
    with cuda_schedule.serial_schedule():
        a_host = rng.standard_normal((24, 20), dtype=np.float32)
        b_host = rng.standard_normal((20, 18), dtype=np.float32)
        got = (mt.tensor(a_host, device="cuda") @ mt.tensor(b_host, device="cuda")).to_numpy()
        np.testing.assert_allclose(got, a_host.astype(np.float64) @ b_host, rtol=1e-4, atol=1e-5)
        x_host = rng.uniform(-1, 1, 2000).astype(np.float32)
        y_host = rng.uniform(-1, 1, 2000).astype(np.float32)
        x, y = mt.tensor(x_host, device="cuda"), mt.tensor(y_host, device="cuda")
        for name, (fn, reference) in OPERATIONS.items():
            if name == "reduce sum dim":
                got = x.view(20, -1).sum(1).to_numpy()
                want = x_host.reshape(20, -1).sum(1)
            else:
                got, want = fn(x, y).to_numpy(), reference(x_host, y_host)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
