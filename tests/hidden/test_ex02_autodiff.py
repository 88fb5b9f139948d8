"""ex02 hidden tests: random expression graphs drawn at grading time, all leaf gradients vs torch.autograd."""

from __future__ import annotations

import random

import pytest

from minitorch_dg import course
from tests.support.random_graphs import random_program, run
from tests.support.scalar_oracle import check_scalar_expression

ad = course.ExerciseProxy("ex02")


@pytest.mark.parametrize("case", range(12))
def test_random_expression_graph(case: int, hidden_rng: random.Random) -> None:
    program = random_program(hidden_rng, n_leaves=hidden_rng.randint(1, 4), n_steps=hidden_rng.randint(4, 25))
    check_scalar_expression(lambda leaves: run(program, leaves), list(program.inputs),
                            label=f"graph [{program.describe()}]")


@pytest.mark.parametrize("depth", [2_000, 12_000])
def test_deep_random_chain(depth: int, hidden_rng: random.Random) -> None:
    factor = 1.0 + hidden_rng.uniform(-1e-4, 1e-4)
    x0 = hidden_rng.uniform(0.5, 2.0)

    def chain(v: list) -> object:
        y = v[0]
        for i in range(depth):
            y = y * factor if i % 2 else y + 0.0
        return y

    check_scalar_expression(chain, [x0], label=f"chain of {depth} nodes")


def test_central_difference_on_random_polynomials(hidden_rng: random.Random) -> None:
    for _ in range(10):
        coeffs = [hidden_rng.uniform(-2, 2) for _ in range(4)]
        x = hidden_rng.uniform(-2, 2)
        exact = sum(i * c * x ** (i - 1) for i, c in enumerate(coeffs) if i)
        got = ad.central_difference(lambda v: sum(c * v**i for i, c in enumerate(coeffs)), x)
        assert abs(got - exact) <= 1e-5 * max(1.0, abs(exact)), (
            f"central_difference of a cubic at x={x:.6g}: expected {exact:.8g}, got {got:.8g}"
        )
