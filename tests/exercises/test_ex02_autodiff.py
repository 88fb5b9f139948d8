"""ex02 public tests: scalar autodiff against torch.autograd (float64) on the same expressions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from minitorch_dg import course
from minitorch_dg.scalar import Scalar
from tests.support.compare import TOLERANCES, assert_close
from tests.support.scalar_oracle import check_scalar_expression

ad = course.ExerciseProxy("ex02")

small = st.floats(-5.0, 5.0, allow_nan=False)
positive = st.floats(0.05, 20.0)
away_from_zero = small.filter(lambda v: abs(v) > 0.05)

# ---------------------------------------------------------------------------------------------
# Part 1: central differences
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Divide by 2ε and change only the argument `arg`.")
@given(small, small)
def test_central_difference_matches_the_exact_derivative(x: float, y: float) -> None:
    rtol, atol = TOLERANCES["finite_difference"]

    def f(a: float, b: float) -> float:
        return a * a * b + math.sin(b)

    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    (tx * tx * ty + torch.sin(ty)).backward()
    inputs = {"x": x, "y": y}
    assert_close(ad.central_difference(f, x, y, arg=0), tx.grad, what="central_difference(f, x, y, arg=0)",
                 inputs=inputs, rtol=rtol, atol=atol)
    assert_close(ad.central_difference(f, x, y, arg=1), ty.grad, what="central_difference(f, x, y, arg=1)",
                 inputs=inputs, rtol=rtol, atol=atol)


def test_central_difference_default_argument_is_the_first() -> None:
    got = ad.central_difference(lambda a, b: a * b, 3.0, 4.0)
    assert_close(got, 4.0, what="central_difference(a*b, 3, 4) (default arg=0: d/da = b)", rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Part 3 (checked first by most students): each function, forward and backward, against torch
# ---------------------------------------------------------------------------------------------

UNARY: dict[str, tuple[Callable[[Any], Any], st.SearchStrategy[float]]] = {
    "Neg": (lambda x: -x, small),
    "Inv": (lambda x: 1.0 / x, away_from_zero),
    "Log": (lambda x: x.log(), positive),
    "Exp": (lambda x: x.exp(), small),
    "Sigmoid": (lambda x: x.sigmoid(), st.floats(-30.0, 30.0)),
    "ReLU": (lambda x: x.relu(), small.filter(lambda v: v != 0.0)),
    "Tanh": (lambda x: x.tanh(), small),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_function_forward_and_backward(name: str, data: st.DataObject) -> None:
    fn, domain = UNARY[name]
    x = data.draw(domain, label="x")
    check_scalar_expression(lambda v: fn(v[0]), [x], label=name)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": lambda a, b: a + b,
    "Mul": lambda a, b: a * b,
    "sub (Add + Neg)": lambda a, b: a - b,
    "div (Mul + Inv)": lambda a, b: a / b,
}


@pytest.mark.hint("Mul.backward returns (d * b, d * a): the derivative for the first input first.")
@pytest.mark.parametrize("name", list(BINARY))
@given(small, away_from_zero)
@example(2.0, 3.0)
def test_binary_function_forward_and_backward(name: str, a: float, b: float) -> None:
    fn = BINARY[name]
    check_scalar_expression(lambda v: fn(v[0], v[1]), [a, b], label=name)


@given(small, small)
@example(1.5, 1.5)
def test_comparisons_have_zero_derivatives(a: float, b: float) -> None:
    for label, fn in (("LT", lambda v: (v[0] < v[1]) * v[0]), ("EQ", lambda v: (v[0] == v[1]) + v[1] * 2.0)):
        check_scalar_expression(fn, [a, b], label=label)


@pytest.mark.parametrize("x", [-700.0, -30.0, 0.0, 30.0, 700.0])
def test_sigmoid_and_exp_at_large_inputs(x: float) -> None:
    check_scalar_expression(lambda v: v[0].sigmoid(), [x], label="Sigmoid")
    if x <= 700.0:
        check_scalar_expression(lambda v: v[0].exp(), [x], label="Exp")


def test_relu_derivative_at_zero_is_zero_like_torch() -> None:
    check_scalar_expression(lambda v: v[0].relu(), [0.0], label="ReLU at 0")


# ---------------------------------------------------------------------------------------------
# Part 2: topological sort and backpropagation
# ---------------------------------------------------------------------------------------------


def _positions(order: list[Any]) -> dict[int, int]:
    return {node.node_id: i for i, node in enumerate(order)}


@pytest.mark.hint("Each node exactly once, root first, every node before its parents; key by node_id.")
def test_topological_sort_of_a_diamond() -> None:
    x = Scalar(2.0, name="x")
    a = x * 3.0
    b = x.exp()
    z = a + b
    order = ad.topological_sort(z)
    ids = [n.node_id for n in order]
    assert len(ids) == len(set(ids)), f"topological_sort listed a node twice: {[repr(n) for n in order]}"
    assert set(ids) == {z.node_id, a.node_id, b.node_id, x.node_id}, (
        f"expected the 4 nodes z, a, b, x (constants left out); got {[repr(n) for n in order]}"
    )
    pos = _positions(order)
    assert order[0] is z, "the root (the output) must come first"
    for child, parent in ((z, a), (z, b), (a, x), (b, x)):
        assert pos[child.node_id] < pos[parent.node_id], (
            f"{child!r} must come before its parent {parent!r} (a node's derivative is only complete when "
            "every node that uses it has been processed)"
        )


def test_topological_sort_of_a_constant_is_empty() -> None:
    c = Scalar(1.0, requires_grad=False)
    assert ad.topological_sort(c) == [], "a root that does not require grad has nothing to sort"


@pytest.mark.hint("Use an explicit stack: recursion stops at ~1,000 frames.", when="RecursionError")
def test_a_10000_node_chain_backpropagates() -> None:
    x = Scalar(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    expected = 1.0001**10_000
    assert_close(x.grad, expected, what="d(chain)/dx for a 10,000-node chain", inputs={"x": 0.5})


@pytest.mark.hint("Contributions of a node used twice must be added, not overwritten.")
@given(small)
@example(3.0)
def test_reused_node_accumulates(x: float) -> None:
    check_scalar_expression(lambda v: v[0] * v[0] + v[0], [x], label="x*x + x")


@given(small, small)
def test_diamonds_and_shared_subexpressions(x: float, y: float) -> None:
    def expr(v: list[Any]) -> Any:
        s = v[0] * v[1]
        t = s.tanh() + s * 0.5
        u = t * t - s / (1.0 + v[0] * v[0])
        return u + v[1].sigmoid() * t

    check_scalar_expression(expr, [x, y], label="diamond")


def test_backward_twice_accumulates_into_leaves_like_torch() -> None:
    x = Scalar(3.0)
    (x * x).backward()
    (x * 2.0).backward()
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (t * t).backward()
    (t * 2.0).backward()
    assert_close(x.grad, t.grad, what="x.grad after two backward calls", inputs={"x": 3.0})


def test_backward_with_an_output_gradient() -> None:
    check_scalar_expression(lambda v: v[0].log() * v[1], [2.0, -3.0], label="log(x0)*x1", d_output=0.25)


@given(st.floats(0.1, 4.0))
def test_control_flow_builds_the_graph_that_ran(x: float) -> None:
    def expr(v: list[Any]) -> Any:
        y = v[0]
        steps = 0
        while y.item() < 10.0 and steps < 50:
            y = y * 1.7 + 0.3
            steps += 1
        return y.log() if y.item() > 12.0 else y * y

    check_scalar_expression(expr, [x], label="loop and if")


class _Node:
    """A node that is not a Scalar: topological_sort and backpropagate must use only the Node protocol."""

    def __init__(self, name: str, node_id: int, parents: tuple[_Node, ...] = (), weights: tuple[float, ...] = ()):
        self.name, self.node_id = name, node_id
        self._parents, self._weights = parents, weights
        self.requires_grad = True
        self.grad: float | None = None

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    @property
    def parents(self) -> tuple[_Node, ...]:
        return self._parents

    def chain_rule(self, d: float) -> list[tuple[_Node, float]]:
        return [(p, w * d) for p, w in zip(self._parents, self._weights)]

    def accumulate_grad(self, d: float) -> None:
        self.grad = d if self.grad is None else self.grad + d

    def __repr__(self) -> str:
        return self.name


@pytest.mark.hint("backpropagate may only use node_id, is_leaf, parents, chain_rule and accumulate_grad.")
def test_backpropagate_works_on_any_node_type() -> None:
    # z = 2a + 3b, a = 5x, b = 7x + 11y  =>  dz/dx = 2*5 + 3*7 = 31, dz/dy = 3*11 = 33
    x, y = _Node("x", 101), _Node("y", 102)
    a = _Node("a", 103, (x,), (5.0,))
    b = _Node("b", 104, (x, y), (7.0, 11.0))
    z = _Node("z", 105, (a, b), (2.0, 3.0))
    ad.backpropagate(z, 1.0)
    assert_close(x.grad, 31.0, what="x.grad for z = 2(5x) + 3(7x + 11y)")
    assert_close(y.grad, 33.0, what="y.grad for z = 2(5x) + 3(7x + 11y)")
