"""ex02 public tests: scalar autodiff against torch.autograd (float64) on the same expressions.

ex02 runs in a worker process (grader/judge.py): Scalars are built there, by programs (functions of this file
sent as code, see tests/support/scalar_oracle.py), and only numbers come back. An expression runs twice: on
torch tensors here and on Scalars there, so it names only its leaves, builtins and math.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import judge
from tests.support.compare import TOLERANCES, assert_close
from tests.support.scalar_oracle import check_scalar_expression

ad = judge.exercise("ex02", results=judge.NUMBERS | {"s"})

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
    "Neg": (lambda v: -v[0], small),
    "Inv": (lambda v: 1.0 / v[0], away_from_zero),
    "Log": (lambda v: v[0].log(), positive),
    "Exp": (lambda v: v[0].exp(), small),
    "Sigmoid": (lambda v: v[0].sigmoid(), st.floats(-30.0, 30.0)),
    "ReLU": (lambda v: v[0].relu(), small.filter(lambda v: v != 0.0)),
    "Tanh": (lambda v: v[0].tanh(), small),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_function_forward_and_backward(name: str, data: st.DataObject) -> None:
    fn, domain = UNARY[name]
    x = data.draw(domain, label="x")
    check_scalar_expression(ad, fn, [x], label=name)


BINARY: dict[str, Callable[[Any], Any]] = {
    "Add": lambda v: v[0] + v[1],
    "Mul": lambda v: v[0] * v[1],
    "sub (Add + Neg)": lambda v: v[0] - v[1],
    "div (Mul + Inv)": lambda v: v[0] / v[1],
}


@pytest.mark.hint("Mul.backward returns (d * b, d * a): the derivative for the first input first.")
@pytest.mark.parametrize("name", list(BINARY))
@given(small, away_from_zero)
@example(2.0, 3.0)
def test_binary_function_forward_and_backward(name: str, a: float, b: float) -> None:
    check_scalar_expression(ad, BINARY[name], [a, b], label=name)


@given(small, small)
@example(1.5, 1.5)
def test_comparisons_have_zero_derivatives(a: float, b: float) -> None:
    for label, fn in (("LT", lambda v: (v[0] < v[1]) * v[0]), ("EQ", lambda v: (v[0] == v[1]) + v[1] * 2.0)):
        check_scalar_expression(ad, fn, [a, b], label=label)


@pytest.mark.parametrize("x", [-700.0, -30.0, 0.0, 30.0, 700.0])
def test_sigmoid_and_exp_at_large_inputs(x: float) -> None:
    check_scalar_expression(ad, lambda v: v[0].sigmoid(), [x], label="Sigmoid")
    if x <= 700.0:
        check_scalar_expression(ad, lambda v: v[0].exp(), [x], label="Exp")


def test_relu_derivative_at_zero_is_zero_like_torch() -> None:
    check_scalar_expression(ad, lambda v: v[0].relu(), [0.0], label="ReLU at 0")


# ---------------------------------------------------------------------------------------------
# Part 2: topological sort and backpropagation
# ---------------------------------------------------------------------------------------------


def _diamond_order() -> list[str]:
    """A program: x -> a = 3x, b = exp(x) -> z = a + b; topological_sort(z) as the nodes' names."""
    from minitorch_dg.scalar import Scalar

    x = Scalar(2.0, name="x")
    a = x * 3.0
    b = x.exp()
    z = a + b
    names = {x.node_id: "x", a.node_id: "a", b.node_id: "b", z.node_id: "z"}
    return [names.get(node.node_id, repr(node)[:40]) for node in ex.topological_sort(z)]


@pytest.mark.hint("Each node exactly once, root first, every node before its parents; key by node_id.")
def test_topological_sort_of_a_diamond() -> None:
    order = ad.run_program(_diamond_order)
    assert len(order) == len(set(order)), f"topological_sort listed a node twice: {order}"
    assert set(order) == {"z", "a", "b", "x"}, f"expected the 4 nodes z, a, b, x (constants left out); got {order}"
    pos = {name: i for i, name in enumerate(order)}
    assert order[0] == "z", f"the root (the output) must come first; got {order}"
    for child, parent in (("z", "a"), ("z", "b"), ("a", "x"), ("b", "x")):
        assert pos[child] < pos[parent], (
            f"{child} must come before its parent {parent} in {order} (a node's derivative is only complete when "
            "every node that uses it has been processed)"
        )


def _sort_of_a_constant() -> list[str]:
    from minitorch_dg.scalar import Scalar

    return [repr(node)[:40] for node in ex.topological_sort(Scalar(1.0, requires_grad=False))]


def test_topological_sort_of_a_constant_is_empty() -> None:
    assert ad.run_program(_sort_of_a_constant) == [], "a root that does not require grad has nothing to sort"


def _chain_gradient(length: int) -> float:
    from minitorch_dg.scalar import Scalar

    x = Scalar(0.5)
    y = x
    for _ in range(length):
        y = y * 1.0001
    y.backward()
    return x.grad


@pytest.mark.hint("Use an explicit stack: recursion stops at ~1,000 frames.", when="RecursionError")
def test_a_10000_node_chain_backpropagates() -> None:
    expected = 1.0001**10_000
    assert_close(ad.run_program(_chain_gradient, 10_000), expected, what="d(chain)/dx for a 10,000-node chain",
                 inputs={"x": 0.5})


@pytest.mark.hint("Contributions of a node used twice must be added, not overwritten.")
@given(small)
@example(3.0)
def test_reused_node_accumulates(x: float) -> None:
    check_scalar_expression(ad, lambda v: v[0] * v[0] + v[0], [x], label="x*x + x")


@given(small, small)
def test_diamonds_and_shared_subexpressions(x: float, y: float) -> None:
    def expr(v: list[Any]) -> Any:
        s = v[0] * v[1]
        t = s.tanh() + s * 0.5
        u = t * t - s / (1.0 + v[0] * v[0])
        return u + v[1].sigmoid() * t

    check_scalar_expression(ad, expr, [x, y], label="diamond")


def _grad_after_two_backwards(x0: float) -> float:
    from minitorch_dg.scalar import Scalar

    x = Scalar(x0)
    (x * x).backward()
    (x * 2.0).backward()
    return x.grad


def test_backward_twice_accumulates_into_leaves_like_torch() -> None:
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (t * t).backward()
    (t * 2.0).backward()
    assert_close(ad.run_program(_grad_after_two_backwards, 3.0), t.grad, what="x.grad after two backward calls",
                 inputs={"x": 3.0})


def test_backward_with_an_output_gradient() -> None:
    check_scalar_expression(ad, lambda v: v[0].log() * v[1], [2.0, -3.0], label="log(x0)*x1", d_output=0.25)


@given(st.floats(0.1, 4.0))
def test_control_flow_builds_the_graph_that_ran(x: float) -> None:
    def expr(v: list[Any]) -> Any:
        y = v[0]
        steps = 0
        while y.item() < 10.0 and steps < 50:
            y = y * 1.7 + 0.3
            steps += 1
        return y.log() if y.item() > 12.0 else y * y

    check_scalar_expression(ad, expr, [x], label="loop and if")


def _any_node_type() -> list[float]:
    """A program: backpropagate over nodes that are not Scalars, so it may use only the Node protocol.
    z = 2a + 3b, a = 5x, b = 7x + 11y  =>  dz/dx = 2*5 + 3*7 = 31, dz/dy = 3*11 = 33."""

    class Node:
        def __init__(self, name, node_id, parents=(), weights=()):  # type: ignore[no-untyped-def]
            self.name, self.node_id = name, node_id
            self._parents, self._weights = parents, weights
            self.requires_grad = True
            self.grad = None

        @property
        def is_leaf(self):  # type: ignore[no-untyped-def]
            return not self._parents

        @property
        def parents(self):  # type: ignore[no-untyped-def]
            return self._parents

        def chain_rule(self, d):  # type: ignore[no-untyped-def]
            return [(p, w * d) for p, w in zip(self._parents, self._weights)]

        def accumulate_grad(self, d):  # type: ignore[no-untyped-def]
            self.grad = d if self.grad is None else self.grad + d

        def __repr__(self):  # type: ignore[no-untyped-def]
            return self.name

    x, y = Node("x", 101), Node("y", 102)
    a = Node("a", 103, (x,), (5.0,))
    b = Node("b", 104, (x, y), (7.0, 11.0))
    z = Node("z", 105, (a, b), (2.0, 3.0))
    ex.backpropagate(z, 1.0)
    return [x.grad, y.grad]


@pytest.mark.hint("backpropagate may only use node_id, is_leaf, parents, chain_rule and accumulate_grad.")
def test_backpropagate_works_on_any_node_type() -> None:
    x_grad, y_grad = ad.run_program(_any_node_type)
    assert_close(x_grad, 31.0, what="x.grad for z = 2(5x) + 3(7x + 11y)")
    assert_close(y_grad, 33.0, what="y.grad for z = 2(5x) + 3(7x + 11y)")
