"""ex05 hidden tests: random tensor programs drawn at grading time (shapes, broadcasting, reductions, views,
matrix products), every leaf gradient compared with torch.autograd on the same data.

The seed comes from MTDG_SEED (the `hidden_rng` fixture), chosen when grading, so no answer can be
hard-coded. A failure names the program that was drawn, value by value, and the first mismatch.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from tests.support import random_tensor_graphs as graphs
from tests.support.tensor_oracle import check_op

FAMILIES: dict[str, tuple[str, ...]] = {
    "element-wise": graphs.UNARY + graphs.NUMBER + graphs.BINARY,
    "reductions": graphs.REDUCE + ("neg", "mul_number", "add", "mul"),
    "matmul": graphs.MATMUL + ("tanh", "add", "sum"),
    "views": graphs.VIEWS + ("mul", "add"),
}


def _check(program: graphs.Program, dtype: str) -> None:
    check_op(graphs.replayer(program), *program.leaves, dtype=dtype, layouts=program.layouts,
             label=f"program [{program.describe()}]", upstream_seed=len(program.steps))


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

    def network(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, y: Any) -> Any:
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
    check_op(network, *arrays, label=f"{batch}x{n_in} -> Linear({n_in}, {hidden}) -> {activation} -> "
             f"Linear({hidden}, {n_out}) -> {loss_kind} loss", upstream_seed=case)
