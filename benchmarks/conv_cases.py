"""ex10's benchmark cases: conv2d and max_pool2d forward + backward, and one epoch of the digits CNN,
minitorch-dg (its default CPU backend: the fast one) beside torch on the same inputs.

Used by benchmarks/test_bench_conv.py (pytest-benchmark) and, through bench_cases.cases(), by
benchmarks/table.py (`mtdg bench`). The issue's targets are ratios torch time / ours:

    conv2d fwd+bwd, batch 32, 32 -> 64 channels, 28x28, 3x3, padding 1, float32     >= 0.5
    max_pool2d 2x2 fwd+bwd on that output                                            >= 0.5
    one training epoch of the digits CNN (examples/digits_cnn.py's model with --channels1 16 --channels2 32,
    batch 32: the smaller variant, so that a benchmark round stays short)           >= 0.5
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import minitorch_dg as mt

Runner = Callable[[], Any]

CONV_X = (32, 32, 28, 28)
CONV_W = (64, 32, 3, 3)
POOL_X = (32, 64, 28, 28)


def _fast(run: Runner) -> Runner:
    """`run` on the fast CPU backend (the default once ex06 is implemented; said explicitly here)."""

    def inner() -> Any:
        with mt.use_backend("fast"):
            return run()

    return inner


def _leaf(lib: Any, array: np.ndarray) -> Any:
    return lib.tensor(array, requires_grad=True)


def _fwd_bwd(lib: Any, op: Callable[..., Any], arrays: list[np.ndarray], upstream: np.ndarray) -> Runner:
    """A runner: forward `op` on fresh-gradient leaves, backward with `upstream`; returns the input's gradient."""
    leaves = [_leaf(lib, a) for a in arrays]
    grad = lib.tensor(upstream)

    def run() -> Any:
        for leaf in leaves:
            leaf.grad = None
        op(*leaves).backward(grad)
        return leaves[0].grad

    return run


def conv2d_case() -> dict[str, Runner]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=CONV_X).astype(np.float32)
    w = (rng.normal(size=CONV_W) * 0.1).astype(np.float32)
    b = rng.normal(size=CONV_W[0]).astype(np.float32)
    up = rng.normal(size=(CONV_X[0], CONV_W[0], CONV_X[2], CONV_X[3])).astype(np.float32)
    return {
        "fast": _fast(_fwd_bwd(mt, lambda x, w, b: mt.nn.functional.conv2d(x, w, b, padding=1), [x, w, b], up)),
        "torch": _fwd_bwd(torch, lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1), [x, w, b], up),
    }


def max_pool2d_case() -> dict[str, Runner]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=POOL_X).astype(np.float32)
    up = rng.normal(size=(*POOL_X[:2], POOL_X[2] // 2, POOL_X[3] // 2)).astype(np.float32)
    return {
        "fast": _fast(_fwd_bwd(mt, lambda x: mt.nn.functional.max_pool2d(x, 2), [x], up)),
        "torch": _fwd_bwd(torch, lambda x: torch.nn.functional.max_pool2d(x, 2), [x], up),
    }


def make_cnn_epoch(lib: Any) -> Callable[[], float]:
    """One epoch of examples/digits_cnn.py's model (16/32 channels, batch 32) and Adam, written once for
    minitorch_dg or torch."""
    x, y = mt.datasets.digits(train=True, flatten=False).tensors
    x_np, y_np = x.to_numpy(), y.to_numpy()
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
    optimizer = lib.optim.Adam(model.parameters(), lr=3e-3)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(x_np), lib.tensor(y_np)),
                                       batch_size=32, shuffle=True, generator=lib.Generator().manual_seed(0))

    def epoch() -> float:
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / len(loader)

    return epoch


def cnn_epoch_case() -> dict[str, Runner]:
    return {"fast": _fast(make_cnn_epoch(mt)), "torch": make_cnn_epoch(torch)}


def cases() -> list[Any]:
    from bench_cases import Case

    return [
        Case("conv", "conv2d fwd+bwd 32x32x28x28 * 64x32x3x3 pad 1 float32", conv2d_case, 0.5),
        Case("conv", "max_pool2d 2x2 fwd+bwd 32x64x28x28 float32", max_pool2d_case, 0.5),
        Case("conv", "digits CNN: one training epoch (1438 images, batch 32)", cnn_epoch_case, 0.5, compare=False),
    ]
