"""The element-wise operations every backend implements, by name, as Python scalar functions.

These are the meanings the simple backend maps over tensors (and the ones the fast and CUDA backends
must reproduce). Where ex01 has the function, ex01 computes it; around it, this module adds torch's
behaviour at the edges of the domain, where Python raises but torch returns inf or nan:
exp(1000) = inf, log(0) = -inf, log(-1) = nan, 1/0 = inf, (-8) ** 0.5 = nan.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import course

ops = course.ExerciseProxy("ex01")

NAN = float("nan")
INF = float("inf")

UNARY_OPS = ("id", "neg", "exp", "log", "sigmoid", "relu", "tanh", "inv", "abs", "sqrt", "logical_not")
BINARY_OPS = (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "lt", "le", "gt", "ge", "eq", "ne",
    "relu_back", "log_back", "inv_back", "sigmoid_back", "tanh_back",
)
REDUCE_OPS = ("sum", "prod", "max", "min")
COMPARISONS = ("lt", "le", "gt", "ge", "eq", "ne")
FLOAT_RESULT_UNARY = ("exp", "log", "sigmoid", "tanh", "inv", "sqrt")


def _exp(x: float) -> float:
    try:
        return ops.exp(x)
    except OverflowError:
        return INF


def _log(x: float) -> float:
    if x > 0:
        return ops.log(x)
    return -INF if x == 0 else NAN


def _inv(x: float) -> float:
    if x == 0:  # 1/-0.0 is -inf (numpy's float32 is no Python float: test the kind, not the class)
        return math.copysign(INF, float(x)) if _is_real(x) else INF
    return ops.inv(x)


def _is_real(x: object) -> bool:
    """A floating-point number (Python float or numpy float32/float64), which has a signed zero."""
    return isinstance(x, float) or (hasattr(x, "dtype") and getattr(x, "dtype").kind == "f")


def _div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return NAN
        return math.copysign(INF, float(a)) * (math.copysign(1.0, float(b)) if _is_real(b) else 1.0)
    return a / b


def _pow(a: float, b: float) -> float:
    try:
        result = a**b
    except ZeroDivisionError:
        return INF
    except OverflowError:
        return INF
    if isinstance(result, complex):
        return NAN
    return result


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN


def _maximum(a: float, b: float) -> float:
    if a != a or b != b:
        return NAN
    return ops.max(a, b)


def _minimum(a: float, b: float) -> float:
    if a != a or b != b:
        return NAN
    return -ops.max(-a, -b)


def _sigmoid_back(s: float, d: float) -> float:
    """d * s * (1 - s), with s = sigmoid(x) (the saved output)."""
    return d * s * (1.0 - s)


def _tanh_back(t: float, d: float) -> float:
    """d * (1 - t^2), with t = tanh(x) (the saved output)."""
    return d * (1.0 - t * t)


UNARY: dict[str, Callable[[float], float]] = {
    "id": lambda x: x,
    "neg": lambda x: ops.neg(x),
    "exp": _exp,
    "log": _log,
    "sigmoid": lambda x: ops.sigmoid(x),
    "relu": lambda x: x if x != x else ops.relu(x),  # torch: relu(nan) is nan
    "tanh": lambda x: ops.tanh(x),
    "inv": _inv,
    "abs": abs,
    "sqrt": _sqrt,
    "logical_not": lambda x: not x,
}

BINARY: dict[str, Callable[[float, float], float]] = {
    "add": lambda a, b: ops.add(a, b),
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: ops.mul(a, b),
    "div": _div,
    "pow": _pow,
    "maximum": _maximum,
    "minimum": _minimum,
    "lt": lambda a, b: ops.lt(a, b),
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: ops.lt(b, a),
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: ops.eq(a, b),
    "ne": lambda a, b: a != b,
    "relu_back": lambda a, d: d if a != a else ops.relu_back(a, d),  # torch passes the gradient at nan
    "log_back": lambda a, d: _div(d, a),
    "inv_back": lambda a, d: -_div(d, a * a),
    "sigmoid_back": _sigmoid_back,
    "tanh_back": _tanh_back,
}

# (function, start value) of each reduction
REDUCE: dict[str, tuple[Callable[[float, float], float], float]] = {
    "sum": (lambda acc, x: ops.add(acc, x), 0),
    "prod": (lambda acc, x: ops.mul(acc, x), 1),
    "max": (_maximum, -INF),
    "min": (_minimum, INF),
}
