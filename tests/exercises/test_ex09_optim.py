"""ex09 public tests: every optimizer against torch.optim, step by step, and gradient clipping against
torch.nn.utils.

Each optimizer run starts minitorch-dg and torch from the same parameters and feeds both the same
gradients for 20 steps; after every step the parameters must agree, and at the end the optimizer state
(the running averages, under torch's names). Exercise code is reached through the framework
(mt.optim.*, mt.nn.utils.*), which calls exercises/ex09_optim.py through the course.

ex09 runs in a worker process (grader/judge.py): a program there runs the minitorch-dg optimizer through
all its steps on the gradients drawn here and returns the parameters after every step; torch runs the same
steps here, and the comparison is made step by step, as before.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import nn_programs
from tests.support.optim_programs import clipped, optimizer_steps
from tests.support.compare import assert_close

ag = judge.exercise("ex09")  # ex09 runs in a worker process (grader/judge.py)
run = ag.run_program

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 20
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop"]  # the same names in mt.optim and torch.optim


def _state_value(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().double().numpy()
    return np.asarray(value, dtype=np.float64)


def run_against_torch(name: str, kwargs: dict[str, Any], dtype: str = "float64", steps: int = STEPS,
                      shapes: list[tuple[int, ...]] = SHAPES, seed: int = 0, grad_scale: float = 1.0) -> None:
    """Drive both optimizers with identical parameters and gradients; compare after every step."""
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(scale=grad_scale, size=s) for s in shapes] for _ in range(steps)]
    t_params = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in start]
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    got = run(optimizer_steps, name, [{"params": start}], kwargs, dtype, grads)
    label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) [{dtype}]"
    for step in range(1, steps + 1):
        for tp, g in zip(t_params, grads[step - 1]):
            tp.grad = torch.tensor(g, dtype=getattr(torch, dtype))
        t_opt.step()
        for i, tp in enumerate(t_params):
            assert_close(got["after"][step - 1][i], tp, what=f"{label}: parameter {i} after step {step}", dtype=dtype)
    for i, tp in enumerate(t_params):
        t_state, m_state = t_opt.state[tp], got["states"][i]
        for key, value in t_state.items():
            if value is None:
                continue
            assert key in m_state, (
                f"{label}: the state of parameter {i} has no {key!r} after {steps} steps (it has {sorted(m_state)}); "
                "keep it under torch's name"
            )
            assert_close(_state_value(m_state[key]), _state_value(value), what=f"{label}: state[{key!r}] of parameter {i}",
                         dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Part 1: SGD
# ---------------------------------------------------------------------------------------------

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.8, dampening=0.2, weight_decay=0.1),
    dict(lr=0.02, momentum=0.95, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, maximize=True),
]


@pytest.mark.hint("SGD: the momentum buffer starts as a copy of the first gradient, without dampening (torch's rule).")
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sgd_matches_torch_for_20_steps(kwargs: dict[str, Any]) -> None:
    run_against_torch("SGD", kwargs)


def test_sgd_in_float32() -> None:
    run_against_torch("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), dtype="float32")


# ---------------------------------------------------------------------------------------------
# Part 2: Adam and AdamW
# ---------------------------------------------------------------------------------------------

ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99)),
    dict(lr=0.05, eps=1e-3),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.02, maximize=True),
]


@pytest.mark.hint("Adam: divide m by (1 - beta1^t) and v by (1 - beta2^t): the bias correction, with t from 1.")
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_adam_matches_torch_for_20_steps(kwargs: dict[str, Any]) -> None:
    run_against_torch("Adam", kwargs)


ADAMW_CASES = [
    dict(),
    dict(lr=0.05, weight_decay=0.3),
    dict(lr=0.01, weight_decay=0.0),
    dict(lr=0.02, betas=(0.7, 0.95), eps=1e-4, weight_decay=0.1),
]


@pytest.mark.hint("AdamW decays the parameter itself, param *= 1 - lr * weight_decay; the gradient stays as it is.")
@pytest.mark.parametrize("kwargs", ADAMW_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_adamw_matches_torch_for_20_steps(kwargs: dict[str, Any]) -> None:
    run_against_torch("AdamW", kwargs)


def test_adam_and_adamw_in_float32() -> None:
    run_against_torch("Adam", dict(lr=0.01, weight_decay=0.01), dtype="float32")
    run_against_torch("AdamW", dict(lr=0.01, weight_decay=0.1), dtype="float32")


def test_adam_with_tiny_gradients_relies_on_the_bias_correction() -> None:
    # With gradients of 1e-6 the first steps are lr-sized only thanks to the bias correction.
    run_against_torch("Adam", dict(lr=0.1), grad_scale=1e-6, steps=5)


# ---------------------------------------------------------------------------------------------
# Part 3: RMSprop
# ---------------------------------------------------------------------------------------------

RMSPROP_CASES = [
    dict(),
    dict(lr=0.01, alpha=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.005, alpha=0.95, eps=1e-3, weight_decay=0.1, momentum=0.5, centered=True),
    dict(lr=0.01, weight_decay=0.05, maximize=True),
]


@pytest.mark.hint("RMSprop centered: subtract the square of the running mean gradient before the square root.")
@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_rmsprop_matches_torch_for_20_steps(kwargs: dict[str, Any]) -> None:
    run_against_torch("RMSprop", kwargs)


def test_rmsprop_in_float32() -> None:
    run_against_torch("RMSprop", dict(lr=0.01, momentum=0.9, centered=True), dtype="float32")


# ---------------------------------------------------------------------------------------------
# Groups and a real training loop
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameter_groups_use_their_own_hyper_parameters(name: str) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    extra = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    t_opt = getattr(torch.optim, name)([{"params": [ta]}, {"params": [tb], "lr": 0.001, **extra}], lr=0.05)
    grads = [[rng.normal(size=a.shape), rng.normal(size=b.shape)] for _ in range(10)]
    got = run(optimizer_steps, name, [{"params": [a]}, {"params": [b], "lr": 0.001, **extra}], {"lr": 0.05},
              "float64", grads)
    for step, (ga, gb) in enumerate(grads):
        ta.grad, tb.grad = torch.tensor(ga), torch.tensor(gb)
        t_opt.step()
        assert_close(got["after"][step][0], ta, what=f"{name}: group 0 parameter after step {step + 1}")
        assert_close(got["after"][step][1], tb, what=f"{name}: group 1 parameter (its own lr) after step {step + 1}")


@pytest.mark.hint("A whole loop: zero_grad, forward, loss, backward, step — five times, as torch.")
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                         ("AdamW", dict(lr=0.01, weight_decay=0.1)), ("RMSprop", dict(lr=0.01))])
def test_training_loop_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    layers = [("Linear", 4, 6), ("Tanh",), ("Linear", 6, 3)]
    reference = nn_programs.torch_module(layers, "float64")
    state = nn_programs.state_of(reference)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
    got = run(nn_programs.training_run, nn_programs.build, layers, state, name, kwargs, x, y, 5)
    want = nn_programs.torch_training_run(reference, name, kwargs, x, y, 5)
    for step, (m_loss, t_loss) in enumerate(zip(got["losses"], want["losses"])):
        assert_close(m_loss, t_loss, what=f"{name}: loss at step {step}")
    for pname, value in want["params"].items():
        assert_close(got["params"][pname], value, what=f"{name}: {pname} after 5 training steps")


# ---------------------------------------------------------------------------------------------
# Part 4: gradient clipping
# ---------------------------------------------------------------------------------------------


def _clip_data(seed: int, scale: float) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Four parameters and their gradients; the last has no gradient (it is skipped, as in torch)."""
    rng = np.random.default_rng(seed)
    values, grads = [], []
    for i, shape in enumerate([(3, 4), (5,), (2, 2), (3,)]):
        values.append(rng.normal(size=shape))
        grads.append(rng.normal(scale=scale, size=shape) if i != 3 else None)
    return values, grads


def _torch_params(values: list[np.ndarray], grads: list[np.ndarray | None]) -> list[torch.Tensor]:
    params = [torch.tensor(a, requires_grad=True) for a in values]
    for p, g in zip(params, grads):
        p.grad = None if g is None else torch.tensor(g)
    return params


@pytest.mark.hint("One norm over all gradients together: (sum over every element of every grad of |g|^p)^(1/p).")
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
def test_clip_grad_norm_(norm_type: float, max_norm: float) -> None:
    values, grads = _clip_data(0, 2.0)
    t_params = _torch_params(values, grads)
    want = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type=norm_type)
    got = run(clipped, "clip_grad_norm_", values, grads, [0, 1, 2, 3], [max_norm], {"norm_type": norm_type})
    what = f"clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type})"
    assert got["tensor"], f"{what} must return the total norm as a tensor, got {got['class']}"
    assert_close(got["returned"], want, what=f"{what}: the returned total norm")
    for i, tp in enumerate(t_params):
        if tp.grad is None:
            assert got["grads"][i] is None, f"{what}: a parameter without a gradient must keep grad None"
            continue
        assert_close(got["grads"][i], tp.grad, what=f"{what}: gradient {i} after clipping")


def test_clip_grad_norm_of_one_tensor_and_of_no_gradients() -> None:
    values, grads = _clip_data(1, 3.0)
    t_params = _torch_params(values, grads)
    got = run(clipped, "clip_grad_norm_", values, grads, 0, [1.0], {})
    assert_close(got["returned"], torch.nn.utils.clip_grad_norm_(t_params[0], 1.0),
                 what="clip_grad_norm_(a single tensor, 1.0)")
    assert_close(got["grads"][0], t_params[0].grad, what="clip_grad_norm_(a single tensor): its gradient")
    empty = run(clipped, "clip_grad_norm_", values, grads, [3], [1.0], {})
    assert_close(empty["returned"], 0.0, what="clip_grad_norm_ of parameters without gradients (torch returns 0)")


@pytest.mark.hint("clip_grad_value_ clamps every element into [-clip_value, clip_value], in place.")
@pytest.mark.parametrize("clip_value", [0.1, 1.0, 100.0])
def test_clip_grad_value_(clip_value: float) -> None:
    values, grads = _clip_data(2, 2.0)
    t_params = _torch_params(values, grads)
    torch.nn.utils.clip_grad_value_(t_params, clip_value)
    got = run(clipped, "clip_grad_value_", values, grads, [0, 1, 2, 3], [clip_value], {})
    assert got["class"] == "NoneType", f"clip_grad_value_ returns None (as torch), not a {got['class']}"
    for i, tp in enumerate(t_params):
        if tp.grad is not None:
            assert_close(got["grads"][i], tp.grad, what=f"clip_grad_value_({clip_value}): gradient {i}")
