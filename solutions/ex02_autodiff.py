"""ex02 — scalar automatic differentiation (reference solution).

Three graph algorithms — a numerical derivative to check against, a topological sort, and
backpropagation — and the forward/backward pair of every differentiable scalar function.
`topological_sort` and `backpropagate` only use the `Node` protocol (minitorch_dg/autodiff.py),
so ex05 reuses them unchanged for tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minitorch_dg import operators
from minitorch_dg.autodiff import Context, Node
from minitorch_dg.scalar import ScalarFunction

# ---------------------------------------------------------------------------------------------
# Part 1: a numerical derivative, to check the analytic ones
# ---------------------------------------------------------------------------------------------


def central_difference(f: Callable[..., float], *vals: float, arg: int = 0, epsilon: float = 1e-6) -> float:
    """∂f/∂vals[arg] ≈ (f(.., x + ε, ..) − f(.., x − ε, ..)) / (2ε), other arguments unchanged."""
    up = list(vals)
    down = list(vals)
    up[arg] = up[arg] + epsilon
    down[arg] = down[arg] - epsilon
    return (f(*up) - f(*down)) / (2.0 * epsilon)


# ---------------------------------------------------------------------------------------------
# Part 2: graph algorithms
# ---------------------------------------------------------------------------------------------


def topological_sort(root: Node) -> list[Node]:
    """Every node reachable from `root` through `parents`, each once, every node before its parents.

    Iterative depth-first search with an explicit stack: a node is emitted after all of its parents
    (post-order), and the post-order list reversed puts children first. Recursion would overflow
    Python's stack on a 10,000-node chain.
    """
    if not root.requires_grad:
        return []
    visited: set[int] = set()
    post_order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            post_order.append(node)
            continue
        if node.node_id in visited:
            continue
        visited.add(node.node_id)
        stack.append((node, True))
        for parent in node.parents:
            if parent.node_id not in visited:
                stack.append((parent, False))
    post_order.reverse()
    return post_order


def backpropagate(root: Node, d_output: Any) -> None:
    """Fill the `.grad` of every leaf reachable from `root`, given d_output = dL/d(root).

    Visit nodes in topological order, so that a node's derivative is complete (every path into it
    summed) before it is passed on to its parents with `chain_rule`. Leaves accumulate into `.grad`.
    """
    derivatives: dict[int, Any] = {root.node_id: d_output}
    for node in topological_sort(root):
        d = derivatives.pop(node.node_id)
        if node.is_leaf:
            node.accumulate_grad(d)
            continue
        for parent, d_parent in node.chain_rule(d):
            key = parent.node_id
            derivatives[key] = derivatives[key] + d_parent if key in derivatives else d_parent


# ---------------------------------------------------------------------------------------------
# Part 3: differentiable functions. forward works on floats; backward returns one derivative per input.
# ---------------------------------------------------------------------------------------------


class Add(ScalarFunction):
    """f(a, b) = a + b;  ∂f/∂a = 1, ∂f/∂b = 1"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.add(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return d_output, d_output


class Mul(ScalarFunction):
    """f(a, b) = a * b;  ∂f/∂a = b, ∂f/∂b = a"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        ctx.save_for_backward(a, b)
        return operators.mul(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        a, b = ctx.saved_values
        return operators.mul(b, d_output), operators.mul(a, d_output)


class Neg(ScalarFunction):
    """f(a) = -a;  f'(a) = -1"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        return operators.neg(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        return operators.neg(d_output)


class Inv(ScalarFunction):
    """f(a) = 1/a;  f'(a) = -1/a²"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.inv(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.inv_back(a, d_output)


class Log(ScalarFunction):
    """f(a) = ln a;  f'(a) = 1/a"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.log(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.log_back(a, d_output)


class Exp(ScalarFunction):
    """f(a) = e^a;  f'(a) = e^a (save the output: no need to recompute it)"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (out,) = ctx.saved_values
        return operators.mul(out, d_output)


class Sigmoid(ScalarFunction):
    """f(a) = σ(a);  f'(a) = σ(a)(1 − σ(a))"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (s,) = ctx.saved_values
        return d_output * s * (1.0 - s)


class ReLU(ScalarFunction):
    """f(a) = max(a, 0);  f'(a) = 1 if a > 0 else 0"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.relu(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.relu_back(a, d_output)


class Tanh(ScalarFunction):
    """f(a) = tanh a;  f'(a) = 1 − tanh² a"""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (t,) = ctx.saved_values
        return d_output * (1.0 - t * t)


class LT(ScalarFunction):
    """f(a, b) = 1.0 if a < b else 0.0;  a step function: both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.lt(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0


class EQ(ScalarFunction):
    """f(a, b) = 1.0 if a == b else 0.0;  both derivatives are 0"""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.eq(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0
