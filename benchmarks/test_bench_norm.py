"""BatchNorm1d in training (forward + backward) in minitorch-dg and torch, and ex12's fused backward against
autograd of the composed formula.

    .venv/bin/pytest benchmarks/test_bench_norm.py --benchmark-enable -s

Input (256, 128) float32 with an upstream gradient of ones; every implementation runs with the same number
of threads (Numba's and torch's set to Numba's count, 2 on the course machines). Three rows per group:
minitorch-dg's nn.BatchNorm1d (ex12's fused BatchNormFunction), the same maths composed from Tensor ops
and differentiated by autograd, and torch.nn.BatchNorm1d. The last test prints the ratios.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import course

if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # as the test suite: time the reference unless told otherwise

GROUP = "BatchNorm1d training forward+backward, (256, 128) float32"
SHAPE = (256, 128)
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def same_threads() -> Iterator[None]:
    threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield
    torch.set_num_threads(before)


def _input() -> np.ndarray:
    return np.random.default_rng(0).normal(1.0, 2.0, size=SHAPE).astype(np.float32)


def fused() -> Callable[[], Any]:
    layer = mt.nn.BatchNorm1d(SHAPE[1])
    x = mt.tensor(_input(), requires_grad=True)
    upstream = mt.ones(*SHAPE)

    def run() -> Any:
        layer(x).backward(upstream)
        return x.grad

    return run


def composed() -> Callable[[], Any]:
    weight = mt.ones(SHAPE[1], requires_grad=True)
    bias = mt.zeros(SHAPE[1], requires_grad=True)
    x = mt.tensor(_input(), requires_grad=True)
    upstream = mt.ones(*SHAPE)

    def run() -> Any:
        mean = x.mean(0, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(0, keepdim=True)
        ((centered / (var + 1e-5).sqrt()) * weight + bias).backward(upstream)
        return x.grad

    return run


def torch_layer() -> Callable[[], Any]:
    layer = torch.nn.BatchNorm1d(SHAPE[1])
    x = torch.tensor(_input(), requires_grad=True)
    upstream = torch.ones(*SHAPE)

    def run() -> Any:
        layer(x).backward(upstream)
        return x.grad

    return run


def _time(benchmark: Any, name: str, make: Callable[[], Callable[[], Any]]) -> None:
    benchmark.group = GROUP
    run = make()
    run()  # warm-up: Numba compiles or loads its kernels here
    seconds: list[float] = []

    def timed() -> Any:
        start = time.perf_counter()
        out = run()
        seconds.append(time.perf_counter() - start)
        return out

    benchmark.pedantic(timed, rounds=20, iterations=1)
    TIMES[name] = min(seconds)


def test_batchnorm_fused_minitorch(benchmark: Any) -> None:
    _time(benchmark, "minitorch-dg fused", fused)


def test_batchnorm_composed_minitorch(benchmark: Any) -> None:
    _time(benchmark, "minitorch-dg composed", composed)


def test_batchnorm_torch(benchmark: Any) -> None:
    _time(benchmark, "torch", torch_layer)


def test_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    if len(TIMES) < 3:
        pytest.skip(f"the ratios need all three timings; only {sorted(TIMES) or 'none'} ran (run the whole file)")
    with capsys.disabled():
        print(f"\n{GROUP} ({mt.backends.cpu_backend_name()} backend, {numba.get_num_threads()} threads): "
              f"fused {TIMES['minitorch-dg fused'] * 1e3:.2f} ms, composed {TIMES['minitorch-dg composed'] * 1e3:.2f} ms, "
              f"torch {TIMES['torch'] * 1e3:.3f} ms; fused/torch {TIMES['minitorch-dg fused'] / TIMES['torch']:.1f}x, "
              f"composed/fused {TIMES['minitorch-dg composed'] / TIMES['minitorch-dg fused']:.2f}x")
    assert all(t > 0 for t in TIMES.values())
