"""ex05 hidden tests: random tensor programs drawn at grading time (shapes, broadcasting, reductions, views,
matrix products), every leaf gradient compared with torch.autograd on the same data.

The seed comes from MTDG_SEED (the `hidden_rng` fixture), chosen when grading, so no answer can be
hard-coded. A failure names the program that was drawn, value by value, and the first mismatch.

ex05 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there, on the
same data, and torch and the comparison stay here.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import random_tensor_graphs as graphs
from tests.support.tensor_oracle import check_op, in_framework

ag = judge.exercise("ex05")

FAMILIES: dict[str, tuple[str, ...]] = {
    "element-wise": graphs.UNARY + graphs.NUMBER + graphs.BINARY,
    "reductions": graphs.REDUCE + ("neg", "mul_number", "add", "mul"),
    "matmul": graphs.MATMUL + ("tanh", "add", "sum"),
    "views": graphs.VIEWS + ("mul", "add"),
}


def _check(program: graphs.Program, dtype: str) -> None:
    check_op(graphs.replay, *program.leaves, dtype=dtype, layouts=program.layouts, library=True,
             params=graphs.replay_params(program), label=f"program [{program.describe()}]",
             upstream_seed=len(program.steps), worker=ag)


@pytest.mark.parametrize("case", range(16))
def test_random_tensor_program(case: int, hidden_rng: random.Random) -> None:
    program = graphs.random_tensor_program(hidden_rng, n_leaves=hidden_rng.randint(1, 3),
                                           n_steps=hidden_rng.randint(5, 16))
    _check(program, "float64")


@pytest.mark.parametrize("case", range(3))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_random_program_of_one_family_in_float32(family: str, case: int, hidden_rng: random.Random) -> None:
    program = graphs.random_tensor_program(hidden_rng, n_leaves=hidden_rng.randint(1, 2),
                                           n_steps=hidden_rng.randint(2, 6), ops=FAMILIES[family])
    _check(program, "float32")


@pytest.mark.parametrize("case", range(2))
def test_long_random_tensor_program(case: int, hidden_rng: random.Random) -> None:
    program = graphs.random_tensor_program(hidden_rng, n_leaves=3, n_steps=60)
    _check(program, "float64")


@pytest.mark.parametrize("case", range(3))
def test_random_two_layer_network(case: int, hidden_rng: random.Random) -> None:
    """A batch through Linear -> activation -> Linear and a loss, with sizes and choices drawn at grading time."""
    rng = np.random.default_rng(hidden_rng.getrandbits(63))
    batch, n_in, hidden, n_out = (hidden_rng.randint(1, 5) for _ in range(4))
    activation = hidden_rng.choice(["relu", "tanh", "sigmoid"])
    loss_kind = hidden_rng.choice(["mse", "logistic"])
    arrays = [rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, hidden)) * 0.7, rng.normal(size=(hidden,)),
              rng.normal(size=(hidden, n_out)) * 0.7, rng.normal(size=(n_out,)), rng.uniform(0, 1, size=(batch, n_out))]
    arrays[0] = np.where(np.abs(arrays[0]) < 1e-3, 0.5, arrays[0])

    def network(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, y: Any, activation: str, loss_kind: str) -> Any:
        h = getattr(x @ w1 + b1, activation)()
        out = h @ w2 + b2
        if loss_kind == "mse":
            return ((out - y) ** 2).mean()
        p = out.sigmoid()
        return -(y * p.log() + (1.0 - y) * (1.0 - p).log()).sum(1).mean()

    for attempt in range(5):  # relu's kink: redraw the first layer if a pre-activation is within 1e-6 of 0
        pre = arrays[0] @ arrays[1] + arrays[2]
        if activation != "relu" or np.abs(pre).min() > 1e-6:
            break
        arrays[1] = rng.normal(size=(n_in, hidden)) * 0.7
    check_op(network, *arrays, params=[activation, loss_kind], worker=ag, upstream_seed=case,
             label=f"{batch}x{n_in} -> Linear({n_in}, {hidden}) -> {activation} -> Linear({hidden}, {n_out}) -> "
             f"{loss_kind} loss")


def _grid_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values from a small grid, so that exact ties (and exact zeros) are frequent."""
    return rng.choice(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), size=shape)


@pytest.mark.parametrize("case", range(6))
def test_ties_and_kinks_on_leaves(case: int, hidden_rng: random.Random) -> None:
    """max(dim) gives the gradient to the first maximum, amax and max() share it among ties, relu is 0 at 0.

    The values are leaves (no arithmetic before the op), so a tie is exact in both libraries.
    """
    rng = np.random.default_rng(hidden_rng.getrandbits(63))
    shape = tuple(hidden_rng.randint(1, 4) for _ in range(hidden_rng.randint(1, 3)))
    x = _grid_values(rng, shape)
    n = len(shape)
    layout = tuple(hidden_rng.sample(range(n), n)) if n >= 2 and hidden_rng.random() < 0.5 else None
    dim, keepdim = hidden_rng.randint(-n, n - 1), hidden_rng.random() < 0.5
    dims = tuple(sorted(hidden_rng.sample(range(n), hidden_rng.randint(1, n))))
    check_op(lambda v, d, k: v.max(d, keepdim=k)[0], x, layouts=[layout], params=[dim, keepdim], worker=ag,
             label=f"x.max({dim}, keepdim={keepdim}).values of x = {x.tolist()}", upstream_seed=case)
    check_op(lambda v, d, k: v.amax(d, keepdim=k), x, layouts=[layout], params=[dims, keepdim], worker=ag,
             label=f"x.amax({dims}, keepdim={keepdim}) of x = {x.tolist()}", upstream_seed=case)
    check_op(lambda v: v.max(), x, layouts=[layout], worker=ag, label=f"x.max() of x = {x.tolist()}",
             upstream_seed=case)
    check_op(lambda v: v.relu(), x, layouts=[layout], worker=ag, label=f"x.relu() of x = {x.tolist()}",
             upstream_seed=case)


# Functions whose backward needs a tensor saved in forward, the same in torch, and which tensor to change
# in place between forward and backward: an input that does not require grad ("w"), the input itself
# ("x", changed under no_grad as an optimizer step would), or the output ("out").
SAVING: dict[str, tuple[Any, str]] = {
    "x * w": (lambda x, w: x * w, "w"),
    "x / w": (lambda x, w: x / w, "w"),
    "x @ w.T": (lambda x, w: x @ w.transpose(0, 1), "w"),
    "x.log()": (lambda x, w: x.log(), "x"),
    "x ** 3": (lambda x, w: x ** 3, "x"),
    "x.amax(1)": (lambda x, w: x.amax(1), "x"),
    "x.exp()": (lambda x, w: x.exp(), "out"),
    "x.sigmoid()": (lambda x, w: x.sigmoid(), "out"),
    "x.tanh()": (lambda x, w: x.tanh(), "out"),
}


@pytest.mark.parametrize("case", range(6))
def test_saved_tensors_are_version_checked_and_freed(case: int, hidden_rng: random.Random) -> None:
    """As in torch: an in-place change to a tensor saved for backward raises at backward, and a second
    backward through the same graph raises (the saved tensors were freed). Both need save_for_backward."""
    name = hidden_rng.choice(sorted(SAVING))
    fn, changed = SAVING[name]
    rng = np.random.default_rng(hidden_rng.getrandbits(63))
    shape = (hidden_rng.randint(1, 4), hidden_rng.randint(2, 4))
    x_values, w_values = rng.uniform(0.5, 2.0, size=shape), rng.uniform(0.5, 2.0, size=shape)
    theirs = saved_tensor_messages(torch, fn, changed, x_values, w_values)
    assert theirs[0] is not None and theirs[1] is not None, f"torch raises in both cases: {theirs}"
    ours = in_framework(ag, saved_tensor_messages, fn, changed, x_values, w_values)
    first, second = ours
    assert first is not None and "modified by an inplace operation" in first, (
        f"y = {name} with x of shape {shape}, then `{changed}.mul_(1.5)` under no_grad, then y.sum().backward() "
        "must raise a RuntimeError that says the tensor was 'modified by an inplace operation' (the value that "
        "backward needs has changed); keep the tensors that backward needs with ctx.save_for_backward and read "
        f"them with ctx.saved_tensors" + (f". It raised: {first}" if first else "; nothing was raised")
    )
    assert second is not None and "second time" in second, (
        f"a second backward through y = {name} (x of shape {shape}) must raise a RuntimeError that says it goes "
        "through the graph a 'second time': the saved tensors were freed by the first one; keep them with "
        "ctx.save_for_backward, not as ctx attributes" + (f". It raised: {second}" if second else
                                                          "; nothing was raised")
    )


def saved_tensor_messages(lib: Any, fn: Any, changed: str, x_values: Any, w_values: Any) -> tuple[Any, Any]:
    """(message of the RuntimeError that backward raises after an in-place change to a saved tensor, message of
    the one a second backward raises), None where nothing is raised; other errors propagate. `lib` is torch or
    minitorch_dg: this runs in the exercise's worker too, so it names only its arguments."""

    def message(call: Any) -> Any:
        try:
            call()
        except RuntimeError as error:
            return str(error)
        return None

    x = lib.tensor(x_values, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(w_values, dtype=lib.float64)
    out = fn(x, w)
    loss = out.sum()
    with lib.no_grad():
        {"w": w, "x": x, "out": out}[changed].mul_(1.5)
    first = message(loss.backward)
    x = lib.tensor(x_values, dtype=lib.float64, requires_grad=True)
    loss = fn(x, lib.tensor(w_values, dtype=lib.float64)).sum()
    loss.backward()
    return first, message(loss.backward)
