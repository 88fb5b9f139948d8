"""One training epoch of the digits MLP (examples/digits_mlp.py's model) in minitorch-dg and in torch.

    .venv/bin/pytest benchmarks/test_bench_mlp.py --benchmark-enable -s

Both run the same thing: Linear(64, 128) - ReLU - Dropout(0.1) - Linear(128, 10), cross-entropy, Adam,
batches of 32 over the 1438 training digits, float32, on the CPU (minitorch-dg on its default backend:
the fast Numba one when it is available). Numba's compilation happens in a warm-up epoch outside the
timing. The last test prints the ratio of the two epoch times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import course

if "MTDG_SOURCE" not in os.environ and course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # as the test suite: time the reference unless told otherwise

GROUP = "digits MLP: one training epoch (1438 samples, batch 32)"
TIMES: dict[str, float] = {}


def _data() -> tuple[np.ndarray, np.ndarray]:
    x, y = mt.datasets.digits(train=True).tensors
    return x.to_numpy(), y.to_numpy()


def make_epoch(lib: Any) -> Callable[[], float]:
    """One training epoch written once for `lib`, minitorch_dg or torch: the two APIs agree here."""
    x, y = _data()
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(64, 128), lib.nn.ReLU(), lib.nn.Dropout(0.1), lib.nn.Linear(128, 10))
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=32,
                                       shuffle=True, generator=lib.Generator().manual_seed(0))

    def epoch() -> float:
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / len(loader)

    return epoch


def _time(benchmark: Any, name: str, make: Callable[[], Callable[[], float]]) -> None:
    benchmark.group = GROUP
    epoch = make()
    epoch()  # warm-up: Numba compiles its kernels here, torch allocates
    seconds: list[float] = []

    def timed() -> float:
        start = time.perf_counter()
        loss = epoch()
        seconds.append(time.perf_counter() - start)
        return loss

    loss = benchmark.pedantic(timed, rounds=3, iterations=1)
    assert np.isfinite(loss) and loss < 1.0, f"{name}: the mean training loss of an epoch is {loss}"
    TIMES[name] = min(seconds)
    benchmark.extra_info["best_epoch_seconds"] = TIMES[name]


def test_epoch_minitorch(benchmark: Any) -> None:
    _time(benchmark, "minitorch-dg", lambda: make_epoch(mt))
    benchmark.extra_info["backend"] = mt.backends.cpu_backend_name()


def test_epoch_torch(benchmark: Any) -> None:
    _time(benchmark, "torch", lambda: make_epoch(torch))


def test_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    if len(TIMES) < 2:
        pytest.skip(f"the ratio needs both epoch timings; only {sorted(TIMES) or 'none'} ran (run the whole file)")
    ratio = TIMES["minitorch-dg"] / TIMES["torch"]
    with capsys.disabled():
        print(f"\n{GROUP}: minitorch-dg ({mt.backends.cpu_backend_name()} backend) {TIMES['minitorch-dg']:.3f} s, "
              f"torch {TIMES['torch']:.4f} s: minitorch-dg takes {ratio:.1f}x torch's time")
    assert ratio > 0
