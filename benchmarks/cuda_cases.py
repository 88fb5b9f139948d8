"""The CUDA benchmark cases: ex07's kernels (through the Tensor API) and torch, on the same GPU and inputs.

Used by benchmarks/test_bench_cuda.py (pytest-benchmark) and benchmarks/cuda_table.py (the `mtdg bench`
rows). Goals (issue #19): map / zip / reduce of 10 million float32 at >= 0.5 of torch's speed (half the
card's memory bandwidth); float32 matmul of 2048^2 and 4096^2 at >= 0.3 of torch's, torch without TF32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MATMUL_SIZES = (1024, 2048, 4096)
MATMUL_TARGETS = {2048: 0.3, 4096: 0.3}
ELEMENTS = 10_000_000
ELEMENTWISE_TARGET = 0.5

# name -> (the operation on two tensors of either library, numpy's reference on the host arrays)
OPERATIONS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "map exp": (lambda x, y: x.exp(), lambda x, y: np.exp(x)),
    "zip add": (lambda x, y: x + y, lambda x, y: x + y),
    "reduce sum": (lambda x, y: x.sum(), lambda x, y: np.asarray(x.sum(dtype=np.float64))),
    "reduce sum dim": (lambda x, y: x.view(10_000, -1).sum(1), lambda x, y: x.reshape(10_000, -1).sum(1)),
}


@dataclass(frozen=True)
class CudaCase:
    name: str  # e.g. "matmul 2048^2 float32"
    target: float | None  # the goal for torch time / our time, where the issue sets one
    inputs: Callable[[], tuple[np.ndarray, np.ndarray]]  # host arrays, float32
    run: Callable[[Any, Any], Any]  # the operation, for minitorch-dg and torch tensors alike
    reference: Callable[[np.ndarray, np.ndarray], np.ndarray]  # numpy, float64 where it matters


def _square(n: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(n)
        return rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)

    return make


def _vectors() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, ELEMENTS).astype(np.float32), rng.uniform(-1, 1, ELEMENTS).astype(np.float32)


def cuda_cases() -> list[CudaCase]:
    matmuls = [CudaCase(f"matmul {n}^2 float32", MATMUL_TARGETS.get(n), _square(n), lambda a, b: a @ b,
                        lambda a, b: a[:4].astype(np.float64) @ b) for n in MATMUL_SIZES]
    elementwise = [CudaCase(f"{name} 1e7 float32", ELEMENTWISE_TARGET, _vectors, run, reference)
                   for name, (run, reference) in OPERATIONS.items()]
    return matmuls + elementwise


def first_rows(result: np.ndarray, case: CudaCase) -> np.ndarray:
    """The part of a result that the case's reference computes (matmul: the first 4 rows)."""
    return result[:4] if case.name.startswith("matmul") else result
