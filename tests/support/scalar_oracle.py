"""Run one expression on minitorch-dg Scalars (in the exercise's worker) and on torch float64 tensors (here),
and compare the value and every leaf gradient.

The expression is an ordinary Python function of a list of leaves that uses only what both frameworks spell
the same way: + - * / unary -, `.log() .exp() .sigmoid() .relu() .tanh() .item()`, `<`, `==`. It runs in two
processes: with torch here, and with Scalars in the worker that holds ex02's code (grader/judge.py), where
it travels as code. So it may name only its arguments, builtins and math; what else it needs comes as
`data`, its second argument (`expr(leaves, data)`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .compare import assert_close

Expression = Callable[..., Any]


def torch_value_and_grads(expr: Expression, inputs: Sequence[float], data: Any = None) -> tuple[float, list[float]]:
    """z = expr(leaves) in torch float64; returns z and dz/dleaf for every leaf (0 where no path)."""
    leaves = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in inputs]
    out = expr(leaves) if data is None else expr(leaves, data)
    if not isinstance(out, torch.Tensor):
        out = torch.tensor(float(out), dtype=torch.float64)
    value = float(out.detach())
    if out.requires_grad:
        out.backward()
    grads = [0.0 if leaf.grad is None else float(leaf.grad) for leaf in leaves]
    return value, grads


def scalar_value_and_grads(expr: Expression, inputs: list[float], d_output: float, data: Any) -> Any:
    """A program (run in the worker): expr on Scalars, then backward(d_output). Returns ("Scalar", value,
    [dz/dleaf...]), or (the result's type name,) when expr did not give a Scalar."""
    from minitorch_dg.scalar import Scalar

    leaves = [Scalar(float(v)) for v in inputs]
    out = expr(leaves) if data is None else expr(leaves, data)
    if not isinstance(out, Scalar):
        return (type(out).__name__,)
    if out.requires_grad:
        out.backward(d_output)
    return ("Scalar", out.data, [0.0 if leaf.grad is None else leaf.grad for leaf in leaves])


def check_scalar_expression(exercise: Any, expr: Expression, inputs: Sequence[float], *, label: str = "expression",
                            d_output: float = 1.0, data: Any = None) -> None:
    """Compare value and every leaf gradient of `expr` between minitorch-dg (in `exercise`'s worker, a
    judge.exercise client) and torch.autograd."""
    names = {f"x{i}": float(v) for i, v in enumerate(inputs)}
    expected_value, expected_grads = torch_value_and_grads(expr, inputs, data)
    result = exercise.run_program(scalar_value_and_grads, expr, [float(v) for v in inputs], float(d_output), data)
    assert isinstance(result, tuple) and result and result[0] == "Scalar", (
        f"{label}: the result is {result[0] if isinstance(result, tuple) and result else result!r}, expected a Scalar"
    )
    _, value, grads = result
    assert_close(value, expected_value, what=f"{label}: forward value", inputs=names)
    for i, expected in enumerate(expected_grads):
        assert_close(grads[i], expected * d_output, what=f"{label}: d(result)/dx{i}", inputs=names)
