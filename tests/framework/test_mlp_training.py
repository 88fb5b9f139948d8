"""Integration: a two-layer MLP written with raw minitorch-dg tensors trains on the simple backend, and its
loss curve is torch's.

No nn module is used: the parameters are leaf tensors W1, b1, W2, b2; the forward pass is `@`, `+`, an
activation and a loss; the update is plain gradient descent written in place under `no_grad()` with
`p.grad = None` afterwards — exactly what an optimizer does. The same model runs in torch from the same
initial weights (float64 in both). Tolerance: every loss of the curve and the final weights agree within
the float64 policy of tests/support/compare.py (rtol 1e-7, atol 1e-9); the two runs do the same maths and
differ only by rounding in summation order, which 30 steps of gradient descent do not amplify beyond that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from tests.support.compare import assert_close

STEPS = 30
N_SAMPLES, N_IN, HIDDEN = 48, 3, 8


def make_data(task: str) -> tuple[np.ndarray, np.ndarray]:
    """A small generated data set: a smooth regression target, or two classes split by a curved boundary."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1.0, 1.0, size=(N_SAMPLES, N_IN))
    if task == "regression":
        y = np.sin(2.0 * x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    else:
        y = (x[:, :1] ** 2 + x[:, 1:2] > 0.3).astype(np.float64)
    return x, y


def initial_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(N_IN), size=(N_IN, HIDDEN)),
        "b1": rng.normal(0.0, 0.1, size=(HIDDEN,)),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(HIDDEN), size=(HIDDEN, 1)),
        "b2": np.zeros(1),
    }


def mse(out: Any, y: Any) -> Any:
    return ((out - y) ** 2).mean()


def logistic(out: Any, y: Any) -> Any:
    """Binary cross-entropy of sigmoid(out) against 0/1 targets, written out: -mean(y log p + (1 - y) log(1 - p))."""
    p = out.sigmoid()
    return -(y * p.log() + (1.0 - y) * (1.0 - p).log()).mean()


CONFIGS: dict[str, tuple[str, str, Callable[[Any, Any], Any], float]] = {
    # name: (task, activation, loss, learning rate)
    "tanh + MSE regression": ("regression", "tanh", mse, 0.3),
    "relu + logistic classification": ("classification", "relu", logistic, 0.5),
}


def train(lib: Any, config: str) -> tuple[list[float], dict[str, np.ndarray]]:
    """Full-batch gradient descent for STEPS steps; returns the loss before each step and the final weights."""
    task, activation, loss_fn, lr = CONFIGS[config]
    x_np, y_np = make_data(task)
    x, y = lib.tensor(x_np, dtype=lib.float64), lib.tensor(y_np, dtype=lib.float64)
    params = {name: lib.tensor(v, dtype=lib.float64, requires_grad=True) for name, v in initial_weights().items()}
    losses = []
    for _ in range(STEPS):
        hidden = getattr(x @ params["W1"] + params["b1"], activation)()
        loss = loss_fn(hidden @ params["W2"] + params["b2"], y)
        loss.backward()
        losses.append(loss.item())
        with lib.no_grad():
            for p in params.values():
                p.sub_(lr * p.grad)
                p.grad = None
    return losses, {name: p.detach().numpy().copy() for name, p in params.items()}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_two_layer_mlp_trains_and_matches_torch(config: str) -> None:
    with mt.use_backend("simple"):
        ours, our_weights = train(mt, config)
    theirs, their_weights = train(torch, config)

    assert ours[-1] < 0.7 * ours[0], f"{config}: the loss did not fall enough in {STEPS} steps: {ours[0]:.4f} -> {ours[-1]:.4f}"
    assert all(np.isfinite(ours)), f"{config}: non-finite loss in {ours}"
    assert_close(np.array(ours), np.array(theirs), what=f"{config}: loss curve over {STEPS} steps (step index)")
    for name in our_weights:
        assert_close(our_weights[name], their_weights[name], what=f"{config}: {name} after {STEPS} steps")
