"""ex01 — scalar operators, their derivatives, and higher-order functions (reference solution).

Every later exercise builds on these: the scalar autodiff of ex02 calls them in its forward and
backward passes, and the simple tensor backend of ex04 maps them over whole tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

# ---------------------------------------------------------------------------------------------
# Part 1: scalar functions
# ---------------------------------------------------------------------------------------------


def mul(x: float, y: float) -> float:
    """f(x, y) = x * y"""
    return x * y


def add(x: float, y: float) -> float:
    """f(x, y) = x + y"""
    return x + y


def neg(x: float) -> float:
    """f(x) = -x"""
    return -x


def lt(x: float, y: float) -> float:
    """f(x, y) = 1.0 if x < y else 0.0"""
    return 1.0 if x < y else 0.0


def eq(x: float, y: float) -> float:
    """f(x, y) = 1.0 if x == y else 0.0"""
    return 1.0 if x == y else 0.0


def max(x: float, y: float) -> float:
    """f(x, y) = x if x > y else y"""
    return x if x > y else y


def is_close(x: float, y: float) -> bool:
    """|x - y| <= 1e-8 + 1e-5 * |y|   (torch.isclose with its default tolerances)"""
    return abs(x - y) <= 1e-8 + 1e-5 * abs(y)


def sigmoid(x: float) -> float:
    """f(x) = 1 / (1 + e^(-x)), computed without overflow for any finite x.

    For x >= 0, e^(-x) <= 1, so 1 / (1 + e^(-x)) is safe.
    For x < 0, e^(-x) can overflow; use the equal form e^x / (1 + e^x), where e^x < 1.
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    """f(x) = x if x > 0 else 0"""
    return x if x > 0.0 else 0.0


def log(x: float) -> float:
    """f(x) = ln(x), for x > 0."""
    return math.log(x)


def exp(x: float) -> float:
    """f(x) = e^x"""
    return math.exp(x)


def tanh(x: float) -> float:
    """f(x) = (e^x - e^-x) / (e^x + e^-x)"""
    return math.tanh(x)


def inv(x: float) -> float:
    """f(x) = 1 / x, for x != 0."""
    return 1.0 / x


# ---------------------------------------------------------------------------------------------
# Part 2: derivatives. Each `f_back(x, d)` returns d * f'(x): the chain rule's step for f.
# ---------------------------------------------------------------------------------------------


def log_back(x: float, d: float) -> float:
    """d * d/dx ln(x) = d / x"""
    return d / x


def inv_back(x: float, d: float) -> float:
    """d * d/dx (1/x) = -d / x^2"""
    return -d / (x * x)


def relu_back(x: float, d: float) -> float:
    """d * relu'(x), with relu'(x) = 1 for x > 0 and 0 otherwise (0 at x = 0, as torch)."""
    return d if x > 0.0 else 0.0


def sigmoid_back(x: float, d: float) -> float:
    """d * sigmoid(x) * (1 - sigmoid(x))"""
    s = sigmoid(x)
    return d * s * (1.0 - s)


def exp_back(x: float, d: float) -> float:
    """d * e^x"""
    return d * math.exp(x)


def tanh_back(x: float, d: float) -> float:
    """d * (1 - tanh(x)^2)"""
    t = math.tanh(x)
    return d * (1.0 - t * t)


# ---------------------------------------------------------------------------------------------
# Part 3: higher-order functions
# ---------------------------------------------------------------------------------------------


def map(fn: Callable[[float], float]) -> Callable[[Iterable[float]], list[float]]:
    """map(fn)(xs) = [fn(x) for x in xs]"""

    def apply(xs: Iterable[float]) -> list[float]:
        return [fn(x) for x in xs]

    return apply


def zip_with(fn: Callable[[float, float], float]) -> Callable[[Iterable[float], Iterable[float]], list[float]]:
    """zip_with(fn)(xs, ys) = [fn(x, y) for x, y in pairs]; the two lists must have the same length."""

    def apply(xs: Iterable[float], ys: Iterable[float]) -> list[float]:
        left, right = list(xs), list(ys)
        if len(left) != len(right):
            raise ValueError(f"zip_with needs two lists of the same length, got {len(left)} and {len(right)}")
        return [fn(x, y) for x, y in zip(left, right)]

    return apply


def reduce(fn: Callable[[float, float], float], start: float) -> Callable[[Iterable[float]], float]:
    """reduce(fn, start)([x1, ..., xn]) = fn(...fn(fn(start, x1), x2)..., xn); `start` for an empty list."""

    def apply(xs: Iterable[float]) -> float:
        acc = start
        for x in xs:
            acc = fn(acc, x)
        return acc

    return apply


def neg_list(xs: Iterable[float]) -> list[float]:
    """Negate every element, with `map`."""
    return map(neg)(xs)


def add_lists(xs: Iterable[float], ys: Iterable[float]) -> list[float]:
    """Element-wise sum of two lists of equal length, with `zip_with`."""
    return zip_with(add)(xs, ys)


def sum(xs: Iterable[float]) -> float:
    """Sum of a list (0 for an empty list), with `reduce`."""
    return reduce(add, 0.0)(xs)


def prod(xs: Iterable[float]) -> float:
    """Product of a list (1 for an empty list), with `reduce`."""
    return reduce(mul, 1.0)(xs)
