"""`Scalar`: a float that records the computation graph as Python runs (the world of ex02).

    x = Scalar(2.0)
    y = x * x + x          # records Mul and Add; a loop or an `if` records whatever actually ran
    y.backward()           # ex02's backpropagate fills x.grad with dy/dx = 2x + 1 = 5

The framework provides the recording (`ScalarFunction.apply`) and the per-node chain rule plumbing;
the differentiable functions themselves (`Add`, `Mul`, ...) and backpropagation are ex02's, served by
the course mechanism.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Real
from typing import Any

from . import course
from .autodiff import Context, is_grad_enabled, next_node_id

_ex02 = course.ExerciseProxy("ex02")


@dataclass(frozen=True)
class History:
    """How a non-leaf Scalar was made: the function, its context, and its inputs (constants included)."""

    fn: type[ScalarFunction]
    ctx: Context
    inputs: tuple[Scalar, ...]


def _as_float(value: Any, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{who} returned {type(value).__name__} ({value!r}); it must return a float.")
    return float(value)


class ScalarFunction:
    """Base class of a differentiable function of floats.

    A subclass defines two static methods on plain floats:

        forward(ctx, *inputs: float) -> float
        backward(ctx, d_output: float) -> float | tuple[float, ...]   (one derivative per input)

    and is called through `apply`, which unwraps Scalars, runs forward, and records the graph.
    """

    @staticmethod
    def forward(ctx: Context, *inputs: float) -> float:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float | tuple[float, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Scalar | float) -> Scalar:
        scalars = tuple(x if isinstance(x, Scalar) else Scalar(x, requires_grad=False) for x in inputs)
        needs = tuple(s.requires_grad for s in scalars)
        ctx = Context(needs)
        value = _as_float(cls.forward(ctx, *(s.data for s in scalars)), f"{_name(cls)}.forward")
        if any(needs) and is_grad_enabled():
            return Scalar(value, History(cls, ctx, scalars))
        return Scalar(value, requires_grad=False)


def _name(cls: type) -> str:
    module = cls.__module__.split(".")[-1]
    return f"{module.split('_')[0]} {cls.__name__}"


class Scalar:
    """A float on the computation graph. Leaves (made by you) collect `.grad`; results record `.history`."""

    __slots__ = ("data", "grad", "history", "node_id", "requires_grad", "name")

    def __init__(
        self,
        value: float,
        history: History | None = None,
        *,
        requires_grad: bool = True,
        name: str | None = None,
    ) -> None:
        self.data = _as_float(value, "Scalar()") if not isinstance(value, float) else value
        self.history = history
        self.requires_grad = requires_grad or history is not None
        self.grad: float | None = None
        self.node_id = next_node_id()
        self.name = name

    # -- the Node protocol used by ex02's topological_sort / backpropagate ------------------------

    @property
    def is_leaf(self) -> bool:
        """True for a Scalar you made yourself; False for the result of a recorded operation."""
        return self.history is None

    @property
    def parents(self) -> tuple[Scalar, ...]:
        """Inputs of the function that made this Scalar that require grad (constants are left out)."""
        if self.history is None:
            return ()
        return tuple(x for x in self.history.inputs if x.requires_grad)

    def chain_rule(self, d_output: float) -> list[tuple[Scalar, float]]:
        """Given d = dL/d(self), return [(parent, dL/d(parent))] using the backward of self's function."""
        history = self.history
        if history is None:
            return []
        who = f"{_name(history.fn)}.backward"
        raw = history.fn.backward(history.ctx, d_output)
        grads = raw if isinstance(raw, tuple) else (raw,)
        if len(grads) != len(history.inputs):
            raise TypeError(
                f"{who} returned {len(grads)} derivative(s) for {len(history.inputs)} input(s); "
                "return one per input of forward, in the same order."
            )
        return [
            (x, _as_float(g, f"{who} (derivative {i})"))
            for i, (x, g) in enumerate(zip(history.inputs, grads))
            if x.requires_grad
        ]

    def accumulate_grad(self, d: float) -> None:
        """Add d to `.grad` (which starts as None, as in torch)."""
        self.grad = d if self.grad is None else self.grad + d

    def backward(self, d_output: float | None = None) -> None:
        """Fill the `.grad` of every leaf this Scalar depends on, via ex02's `backpropagate`."""
        if not self.requires_grad:
            raise RuntimeError(
                "This Scalar does not require grad and has no history: nothing to differentiate. "
                "Make the inputs with Scalar(value) (requires_grad=True is the default)."
            )
        _ex02.backpropagate(self, 1.0 if d_output is None else float(d_output))

    # -- arithmetic: each operator records one of ex02's functions ---------------------------------

    def __add__(self, b: Scalar | float) -> Scalar:
        return _ex02.Add.apply(self, b)

    def __radd__(self, b: Scalar | float) -> Scalar:
        return _ex02.Add.apply(b, self)

    def __sub__(self, b: Scalar | float) -> Scalar:
        return _ex02.Add.apply(self, _ex02.Neg.apply(b))

    def __rsub__(self, b: Scalar | float) -> Scalar:
        return _ex02.Add.apply(b, _ex02.Neg.apply(self))

    def __mul__(self, b: Scalar | float) -> Scalar:
        return _ex02.Mul.apply(self, b)

    def __rmul__(self, b: Scalar | float) -> Scalar:
        return _ex02.Mul.apply(b, self)

    def __truediv__(self, b: Scalar | float) -> Scalar:
        return _ex02.Mul.apply(self, _ex02.Inv.apply(b))

    def __rtruediv__(self, b: Scalar | float) -> Scalar:
        return _ex02.Mul.apply(b, _ex02.Inv.apply(self))

    def __neg__(self) -> Scalar:
        return _ex02.Neg.apply(self)

    def __lt__(self, b: Scalar | float) -> Scalar:
        return _ex02.LT.apply(self, b)

    def __gt__(self, b: Scalar | float) -> Scalar:
        return _ex02.LT.apply(b, self)

    def __eq__(self, b: object) -> Scalar:  # type: ignore[override]
        if not isinstance(b, (Scalar, Real)):
            return NotImplemented
        return _ex02.EQ.apply(self, b)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return self.data

    def log(self) -> Scalar:
        return _ex02.Log.apply(self)

    def exp(self) -> Scalar:
        return _ex02.Exp.apply(self)

    def sigmoid(self) -> Scalar:
        return _ex02.Sigmoid.apply(self)

    def relu(self) -> Scalar:
        return _ex02.ReLU.apply(self)

    def tanh(self) -> Scalar:
        return _ex02.Tanh.apply(self)

    def item(self) -> float:
        return self.data

    def __repr__(self) -> str:
        tail = ""
        if self.history is not None:
            tail = f", grad_fn={self.history.fn.__name__}"
        elif self.requires_grad:
            tail = ", requires_grad=True"
        return f"Scalar({self.data:.4f}{tail})"


def scalars(values: Iterable[float]) -> list[Scalar]:
    """Leaves for a list of floats: `x, y = scalars([1.0, 2.0])`."""
    return [Scalar(v) for v in values]
