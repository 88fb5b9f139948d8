"""ex02 hidden tests: random expression graphs drawn at grading time, all leaf gradients vs torch.autograd.

ex02 runs in a worker process (grader/judge.py); the drawn graphs travel there as plain data and run on its
Scalars (tests/support/scalar_oracle.py), and torch runs the same steps here.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from grader import judge
from tests.support.random_graphs import random_program, run_steps
from tests.support.scalar_oracle import check_scalar_expression

ad = judge.exercise("ex02", results=judge.NUMBERS | {"s"})


@pytest.mark.parametrize("case", range(12))
def test_random_expression_graph(case: int, hidden_rng: random.Random) -> None:
    program = random_program(hidden_rng, n_leaves=hidden_rng.randint(1, 4), n_steps=hidden_rng.randint(4, 25))
    check_scalar_expression(ad, run_steps, list(program.inputs), data=program.as_data(),
                            label=f"graph [{program.describe()}]")


def _chain(v: list[Any], data: list[float]) -> Any:
    factor, depth = data
    y = v[0]
    for i in range(int(depth)):
        y = y * factor if i % 2 else y + 0.0
    return y


@pytest.mark.parametrize("depth", [2_000, 12_000])
def test_deep_random_chain(depth: int, hidden_rng: random.Random) -> None:
    factor = 1.0 + hidden_rng.uniform(-1e-4, 1e-4)
    x0 = hidden_rng.uniform(0.5, 2.0)
    check_scalar_expression(ad, _chain, [x0], data=[factor, depth], label=f"chain of {depth} nodes")


def _central_difference_of_polynomial(coeffs: list[float], x: float) -> float:
    """A program: ex's central_difference of the polynomial with these coefficients, at x."""

    def polynomial(v: float) -> float:
        return sum(c * v**i for i, c in enumerate(coeffs))

    return ex.central_difference(polynomial, x)  # type: ignore[name-defined]  # noqa: F821  (the worker's `ex`)


def test_central_difference_on_random_polynomials(hidden_rng: random.Random) -> None:
    for _ in range(10):
        coeffs = [hidden_rng.uniform(-2, 2) for _ in range(4)]
        x = hidden_rng.uniform(-2, 2)
        exact = sum(i * c * x ** (i - 1) for i, c in enumerate(coeffs) if i)
        got = ad.run_program(_central_difference_of_polynomial, coeffs, x)
        assert abs(got - exact) <= 1e-5 * max(1.0, abs(exact)), (
            f"central_difference of a cubic at x={x:.6g}: expected {exact:.8g}, got {got:.8g}"
        )
