"""The tensor issue's two-layer MLP, trained on the fast backend: the same loss curve as on the simple backend
(and as torch with the same weights), step by step.

A small generated data set (two interleaved spirals), Linear(2, 12) - tanh - Linear(12, 2), softmax
cross-entropy written with tensor ops, plain gradient descent written by hand. Everything runs through
the Tensor API, so every kernel of both backends takes part: matmul, broadcast adds, exp / log / tanh,
reductions, and their backward passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import backends

STEPS = 25
LEARNING_RATE = 0.5


def spirals(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, size=n)) * 3.0 * np.pi
    label = rng.integers(0, 2, size=n)
    sign = np.where(label == 1, 1.0, -1.0)
    points = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / 10.0
    return points + rng.normal(scale=0.05, size=points.shape), np.eye(2)[label]


def initial_weights(seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.7, size=(2, 12)), np.zeros(12), rng.normal(scale=0.5, size=(12, 2)), np.zeros(2)]


def train(lib: Any, make: Callable[[np.ndarray, bool], Any], no_grad: Any) -> list[float]:
    """The same training loop for minitorch-dg and torch (`lib` is mt or torch)."""
    points, onehot = spirals()
    x, y = make(points, False), make(onehot, False)
    w1, b1, w2, b2 = (make(w, True) for w in initial_weights())
    losses = []
    for _ in range(STEPS):
        logits = (x @ w1 + b1).tanh() @ w2 + b2
        shifted = logits - logits.amax(1, keepdim=True).detach()
        log_probs = shifted - shifted.exp().sum(1, keepdim=True).log()
        loss = -(log_probs * y).sum(1).mean()
        loss.backward()
        losses.append(float(loss.item()))
        with no_grad():
            for p in (w1, b1, w2, b2):
                p -= LEARNING_RATE * p.grad
                p.grad = None
    return losses


def train_minitorch(backend: str, dtype: Any) -> list[float]:
    with mt.use_backend(backend):
        return train(mt, lambda a, grad: mt.tensor(a, dtype=dtype, requires_grad=grad), mt.no_grad)


def train_torch(dtype: Any) -> list[float]:
    return train(torch, lambda a, grad: torch.tensor(a, dtype=dtype, requires_grad=grad), torch.no_grad)


@pytest.mark.parametrize(("dtype", "rtol"), [("float32", 2e-5), ("float64", 1e-11)])
def test_mlp_trains_on_the_fast_backend_with_the_simple_backends_losses(dtype: str, rtol: float) -> None:
    assert backends.get("fast").is_available(), "the fast backend is not available: is ex06 served from solutions/?"
    simple = train_minitorch("simple", getattr(mt, dtype))
    fast = train_minitorch("fast", getattr(mt, dtype))
    reference = train_torch(getattr(torch, dtype))
    assert fast[-1] < 0.8 * fast[0], f"the loss did not fall on the fast backend: {fast[0]:.4f} -> {fast[-1]:.4f}"
    for step, (s, f, r) in enumerate(zip(simple, fast, reference)):
        assert abs(f - s) <= rtol * abs(s), f"step {step}: loss {f!r} on fast, {s!r} on simple ({dtype})"
        assert abs(f - r) <= 10 * rtol * abs(r), f"step {step}: loss {f!r} on fast, {r!r} in torch ({dtype})"
