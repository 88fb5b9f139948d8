"""ex02 — scalar automatic differentiation.

Read exercises/ex02_autodiff.md first. Replace each `raise NotImplementedYet(...)` with your code,
then run `mtdg check ex02`. Keep the names and parameters: the tests and the framework call them.

You write three graph algorithms — a numerical derivative to check against, a topological sort, and
backpropagation — and the forward/backward pair of every differentiable scalar function.
`topological_sort` and `backpropagate` may only use the `Node` protocol (see minitorch_dg/autodiff.py:
`node_id`, `requires_grad`, `is_leaf`, `parents`, `chain_rule(d)`, `accumulate_grad(d)`), because ex05
reuses them unchanged for tensors.

In forward and backward, use the ex01 functions through `operators` (e.g. `operators.mul(a, b)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minitorch_dg import operators  # noqa: F401  (ex01, served by the course)
from minitorch_dg.autodiff import Context, Node
from minitorch_dg.errors import NotImplementedYet
from minitorch_dg.scalar import ScalarFunction

# ---------------------------------------------------------------------------------------------
# Part 1: a numerical derivative, to check the analytic ones
# ---------------------------------------------------------------------------------------------


def central_difference(f: Callable[..., float], *vals: float, arg: int = 0, epsilon: float = 1e-6) -> float:
    """∂f/∂vals[arg] ≈ (f(.., x + ε, ..) − f(.., x − ε, ..)) / (2ε), the other arguments unchanged.

    Example: central_difference(lambda x, y: x * y, 3.0, 4.0, arg=1) ≈ 3.0
    """
    raise NotImplementedYet("ex02", "central_difference")


# ---------------------------------------------------------------------------------------------
# Part 2: graph algorithms
# ---------------------------------------------------------------------------------------------


def topological_sort(root: Node) -> list[Node]:
    """Every node reachable from `root` through `.parents`, each exactly once, every node before its parents.

    - `root` comes first. A root that does not require grad gives [].
    - Key sets and dicts by `node.node_id`, not by the node.
    - Do it without recursion: a chain of 10,000 nodes must work (Python's recursion limit is 1,000).
    """
    raise NotImplementedYet("ex02", "topological_sort")


def backpropagate(root: Node, d_output: Any) -> None:
    """Fill the `.grad` of every leaf reachable from `root`, given d_output = dL/d(root).

    Walk `topological_sort(root)` in order. Keep a dict node_id -> derivative so far. For each node:
    a leaf gets `node.accumulate_grad(d)`; any other node hands d to `node.chain_rule(d)` and adds each
    (parent, d_parent) it returns into the dict — add, do not overwrite: a node used twice (x * x + x)
    receives one contribution per use.
    """
    raise NotImplementedYet("ex02", "backpropagate")


# ---------------------------------------------------------------------------------------------
# Part 3: differentiable functions. forward works on floats and may save values on ctx;
# backward gets d_output = dL/d(result) and returns dL/d(input) for each input, in order.
# ---------------------------------------------------------------------------------------------


class Add(ScalarFunction):
    """f(a, b) = a + b;  ∂f/∂a = 1, ∂f/∂b = 1"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        raise NotImplementedYet("ex02", "Add.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        raise NotImplementedYet("ex02", "Add.backward")


class Mul(ScalarFunction):
    """f(a, b) = a * b;  ∂f/∂a = b, ∂f/∂b = a   (save a and b in forward)"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        raise NotImplementedYet("ex02", "Mul.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        raise NotImplementedYet("ex02", "Mul.backward")


class Neg(ScalarFunction):
    """f(a) = -a;  f'(a) = -1"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Neg.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Neg.backward")


class Inv(ScalarFunction):
    """f(a) = 1/a;  f'(a) = -1/a²"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Inv.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Inv.backward")


class Log(ScalarFunction):
    """f(a) = ln a;  f'(a) = 1/a"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Log.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Log.backward")


class Exp(ScalarFunction):
    """f(a) = e^a;  f'(a) = e^a   (save the output of forward: no need to compute e^a twice)"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Exp.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Exp.backward")


class Sigmoid(ScalarFunction):
    """f(a) = σ(a);  f'(a) = σ(a)(1 − σ(a))"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Sigmoid.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Sigmoid.backward")


class ReLU(ScalarFunction):
    """f(a) = max(a, 0);  f'(a) = 1 if a > 0 else 0"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "ReLU.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "ReLU.backward")


class Tanh(ScalarFunction):
    """f(a) = tanh a;  f'(a) = 1 − tanh² a"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        raise NotImplementedYet("ex02", "Tanh.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        raise NotImplementedYet("ex02", "Tanh.backward")


class LT(ScalarFunction):
    """f(a, b) = 1.0 if a < b else 0.0;  a step function: both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        raise NotImplementedYet("ex02", "LT.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        raise NotImplementedYet("ex02", "LT.backward")


class EQ(ScalarFunction):
    """f(a, b) = 1.0 if a == b else 0.0;  both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        raise NotImplementedYet("ex02", "EQ.forward")

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        raise NotImplementedYet("ex02", "EQ.backward")
