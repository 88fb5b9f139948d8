"""ex01 hidden tests: values drawn at grading time (seed MTDG_SEED), compared with torch float64."""

from __future__ import annotations

import random

import pytest
import torch

from grader import judge
from tests.support.compare import assert_close

# ex01 runs in a worker process (grader/judge.py): each call returns a float, a bool, a list of numbers or a
# function that stays in the worker; a lambda passed to it travels as code.
ops = judge.exercise("ex01", results=judge.NUMBERS)

UNARY = {
    "neg": (torch.neg, -50.0, 50.0),
    "exp": (torch.exp, -700.0, 700.0),
    "log": (torch.log, 1e-6, 1e6),
    "inv": (torch.reciprocal, 0.01, 100.0),
    "relu": (torch.relu, -10.0, 10.0),
    "tanh": (torch.tanh, -30.0, 30.0),
    "sigmoid": (torch.sigmoid, -1000.0, 1000.0),
}
BACKWARD = {
    "log_back": (torch.log, 1e-3, 1e3),
    "inv_back": (torch.reciprocal, 0.05, 50.0),
    "exp_back": (torch.exp, -30.0, 30.0),
    "relu_back": (torch.relu, -10.0, 10.0),
    "sigmoid_back": (torch.sigmoid, -200.0, 200.0),
    "tanh_back": (torch.tanh, -15.0, 15.0),
}


def _draw(rng: random.Random, low: float, high: float) -> float:
    x = rng.uniform(low, high)
    return -x if low > 0 and rng.random() < 0.5 and high <= 100.0 else x


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_values(name: str, hidden_rng: random.Random) -> None:
    torch_fn, low, high = UNARY[name]
    for _ in range(20):
        x = _draw(hidden_rng, low, high) if name != "log" else hidden_rng.uniform(low, high)
        expected = torch_fn(torch.tensor(x, dtype=torch.float64))
        assert_close(getattr(ops, name)(x), expected, what=f"{name}(x)", inputs={"x": x})


@pytest.mark.parametrize("name", list(BACKWARD))
def test_backward_helpers(name: str, hidden_rng: random.Random) -> None:
    torch_fn, low, high = BACKWARD[name]
    for _ in range(20):
        x = hidden_rng.uniform(low, high)
        if name in ("inv_back",) and hidden_rng.random() < 0.5:
            x = -x
        d = hidden_rng.uniform(-3.0, 3.0)
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        torch_fn(t).backward(torch.tensor(d, dtype=torch.float64))
        assert_close(getattr(ops, name)(x, d), t.grad, what=f"{name}(x, d)", inputs={"x": x, "d": d})


def test_binary_values(hidden_rng: random.Random) -> None:
    for _ in range(40):
        x = round(hidden_rng.uniform(-20, 20), hidden_rng.choice([0, 1, 6]))
        y = x if hidden_rng.random() < 0.2 else round(hidden_rng.uniform(-20, 20), 3)
        tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
        inputs = {"x": x, "y": y}
        assert_close(ops.add(x, y), tx + ty, what="add(x, y)", inputs=inputs)
        assert_close(ops.mul(x, y), tx * ty, what="mul(x, y)", inputs=inputs)
        assert_close(ops.max(x, y), torch.maximum(tx, ty), what="max(x, y)", inputs=inputs)
        assert_close(ops.lt(x, y), (tx < ty).double(), what="lt(x, y)", inputs=inputs)
        assert_close(ops.eq(x, y), (tx == ty).double(), what="eq(x, y)", inputs=inputs)
        assert bool(ops.is_close(x, y)) == bool(torch.isclose(tx, ty)), f"is_close({x}, {y}) disagrees with torch"


def test_higher_order_functions(hidden_rng: random.Random) -> None:
    for _ in range(10):
        n = hidden_rng.randint(0, 15)
        xs = [hidden_rng.uniform(-3, 3) for _ in range(n)]
        ys = [hidden_rng.uniform(-3, 3) for _ in range(n)]
        tx, ty = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
        inputs = {"xs": xs, "ys": ys}
        assert_close(ops.neg_list(xs), -tx, what="neg_list(xs)", inputs=inputs)
        assert_close(ops.add_lists(xs, ys), tx + ty, what="add_lists(xs, ys)", inputs=inputs)
        assert_close(ops.sum(xs), tx.sum(), what="sum(xs)", inputs=inputs)
        assert_close(ops.prod(xs), tx.prod(), what="prod(xs)", inputs=inputs)
        assert_close(ops.map(ops.exp)(xs), tx.exp(), what="map(exp)(xs)", inputs=inputs)
        with pytest.raises(ValueError):
            ops.zip_with(ops.mul)(xs, ys + [1.0])
