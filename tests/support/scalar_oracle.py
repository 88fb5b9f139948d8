"""Run one expression on minitorch-dg Scalars and on torch float64 tensors, and compare everything.

The expression is an ordinary Python function of a list of leaves that uses only what both
frameworks spell the same way: + - * / unary -, `.log() .exp() .sigmoid() .relu() .tanh()`, `<`, `>`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from minitorch_dg.scalar import Scalar

from .compare import assert_close

Expression = Callable[[list[Any]], Any]


def torch_value_and_grads(expr: Expression, inputs: Sequence[float]) -> tuple[float, list[float]]:
    """z = expr(leaves) in torch float64; returns z and dz/dleaf for every leaf (0 where no path)."""
    leaves = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in inputs]
    out = expr(leaves)
    if not isinstance(out, torch.Tensor):
        out = torch.tensor(float(out), dtype=torch.float64)
    value = float(out.detach())
    if out.requires_grad:
        out.backward()
    grads = [0.0 if leaf.grad is None else float(leaf.grad) for leaf in leaves]
    return value, grads


def check_scalar_expression(
    expr: Expression, inputs: Sequence[float], *, label: str = "expression", d_output: float = 1.0
) -> None:
    """Compare value and every leaf gradient of `expr` between minitorch-dg and torch.autograd."""
    names = {f"x{i}": float(v) for i, v in enumerate(inputs)}
    expected_value, expected_grads = torch_value_and_grads(expr, inputs)
    leaves = [Scalar(float(v)) for v in inputs]
    out = expr(leaves)
    assert isinstance(out, Scalar), f"{label}: result is {type(out).__name__}, expected a Scalar"
    assert_close(out.data, expected_value, what=f"{label}: forward value", inputs=names)
    if out.requires_grad:
        out.backward(d_output)
    for i, leaf in enumerate(leaves):
        got = 0.0 if leaf.grad is None else leaf.grad
        assert_close(got, expected_grads[i] * d_output, what=f"{label}: d(result)/dx{i}", inputs=names)
