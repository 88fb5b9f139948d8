"""The framework side of ex02: recording, constants, grad mode, and clear errors for broken functions."""

from __future__ import annotations

import pytest

import minitorch_dg as mt
from minitorch_dg.autodiff import Context
from minitorch_dg.scalar import Scalar, ScalarFunction


def test_constants_do_not_enter_the_graph() -> None:
    x = Scalar(2.0)
    y = x * 3.0 + 1.0
    assert all(p.requires_grad for p in y.parents)
    y.backward()
    assert x.grad == 3.0


def test_no_grad_records_nothing() -> None:
    x = Scalar(2.0)
    with mt.no_grad():
        y = x * x
    assert y.history is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_graph_depends_on_the_values_that_ran() -> None:
    def f(v: Scalar) -> Scalar:
        return v * v if v.data > 0 else v.exp()

    a, b = f(Scalar(2.0)), f(Scalar(-2.0))
    assert a.history is not None and b.history is not None
    assert a.history.fn.__name__ == "Mul" and b.history.fn.__name__ == "Exp"


class _ReturnsNone(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        return None  # type: ignore[return-value]


class _TooManyDerivatives(ScalarFunction):
    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        return a

    @staticmethod
    def backward(ctx: Context, d: float) -> tuple[float, float]:
        return d, d


def test_forward_returning_none_is_explained() -> None:
    with pytest.raises(TypeError, match=r"_ReturnsNone.forward returned NoneType .* must return a float"):
        _ReturnsNone.apply(Scalar(1.0))


def test_wrong_number_of_derivatives_is_explained() -> None:
    y = _TooManyDerivatives.apply(Scalar(1.0))
    with pytest.raises(TypeError, match="returned 2 derivative"):
        y.chain_rule(1.0)


def test_repr_is_informative() -> None:
    assert repr(Scalar(1.5)) == "Scalar(1.5000, requires_grad=True)"
    assert repr(Scalar(1.0) * 2.0) == "Scalar(2.0000, grad_fn=Mul)"
