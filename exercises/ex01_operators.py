"""ex01 — scalar operators, their derivatives, and higher-order functions.

Read exercises/ex01_operators.md first. Replace each `raise NotImplementedYet(...)` with your code,
then run `mtdg check ex01`. Do not rename functions or change their parameters: the tests call them.

Every later exercise builds on these: the scalar autodiff of ex02 calls them in its forward and
backward passes, and the simple tensor backend of ex04 maps them over whole tensors.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need it)
from collections.abc import Callable, Iterable

from minitorch_dg.errors import NotImplementedYet

# ---------------------------------------------------------------------------------------------
# Part 1: scalar functions
# ---------------------------------------------------------------------------------------------


def mul(x: float, y: float) -> float:
    """f(x, y) = x * y"""
    raise NotImplementedYet("ex01", "mul")


def add(x: float, y: float) -> float:
    """f(x, y) = x + y"""
    raise NotImplementedYet("ex01", "add")


def neg(x: float) -> float:
    """f(x) = -x"""
    raise NotImplementedYet("ex01", "neg")


def lt(x: float, y: float) -> float:
    """f(x, y) = 1.0 if x < y else 0.0   (a float, not a bool: it flows through arithmetic later)"""
    raise NotImplementedYet("ex01", "lt")


def eq(x: float, y: float) -> float:
    """f(x, y) = 1.0 if x == y else 0.0"""
    raise NotImplementedYet("ex01", "eq")


def max(x: float, y: float) -> float:
    """f(x, y) = x if x > y else y"""
    raise NotImplementedYet("ex01", "max")


def is_close(x: float, y: float) -> bool:
    """|x - y| <= 1e-8 + 1e-5 * |y|   (torch.isclose with its default tolerances)"""
    raise NotImplementedYet("ex01", "is_close")


def sigmoid(x: float) -> float:
    """f(x) = 1 / (1 + e^(-x)), computed without overflow for any finite x.

    math.exp(1000) raises OverflowError. Pick between two equal forms by the sign of x so that the
    exponential you compute is never larger than 1 (see the handout).
    """
    raise NotImplementedYet("ex01", "sigmoid")


def relu(x: float) -> float:
    """f(x) = x if x > 0 else 0"""
    raise NotImplementedYet("ex01", "relu")


def log(x: float) -> float:
    """f(x) = ln(x), for x > 0."""
    raise NotImplementedYet("ex01", "log")


def exp(x: float) -> float:
    """f(x) = e^x"""
    raise NotImplementedYet("ex01", "exp")


def tanh(x: float) -> float:
    """f(x) = (e^x - e^-x) / (e^x + e^-x)"""
    raise NotImplementedYet("ex01", "tanh")


def inv(x: float) -> float:
    """f(x) = 1 / x, for x != 0."""
    raise NotImplementedYet("ex01", "inv")


# ---------------------------------------------------------------------------------------------
# Part 2: derivatives. Each `f_back(x, d)` returns d * f'(x): the chain rule's step for f.
# ---------------------------------------------------------------------------------------------


def log_back(x: float, d: float) -> float:
    """d * d/dx ln(x) = d / x"""
    raise NotImplementedYet("ex01", "log_back")


def inv_back(x: float, d: float) -> float:
    """d * d/dx (1/x) = -d / x^2"""
    raise NotImplementedYet("ex01", "inv_back")


def relu_back(x: float, d: float) -> float:
    """d * relu'(x), with relu'(x) = 1 for x > 0 and 0 otherwise (0 at x = 0, as torch)."""
    raise NotImplementedYet("ex01", "relu_back")


def sigmoid_back(x: float, d: float) -> float:
    """d * sigmoid(x) * (1 - sigmoid(x))"""
    raise NotImplementedYet("ex01", "sigmoid_back")


def exp_back(x: float, d: float) -> float:
    """d * e^x"""
    raise NotImplementedYet("ex01", "exp_back")


def tanh_back(x: float, d: float) -> float:
    """d * (1 - tanh(x)^2)"""
    raise NotImplementedYet("ex01", "tanh_back")


# ---------------------------------------------------------------------------------------------
# Part 3: higher-order functions
# ---------------------------------------------------------------------------------------------


def map(fn: Callable[[float], float]) -> Callable[[Iterable[float]], list[float]]:
    """map(fn)(xs) = [fn(x) for x in xs]

    `map` takes a function and returns a new function that works on whole lists.
    """
    raise NotImplementedYet("ex01", "map")


def zip_with(fn: Callable[[float, float], float]) -> Callable[[Iterable[float], Iterable[float]], list[float]]:
    """zip_with(fn)(xs, ys) = [fn(x, y) for x, y in pairs].

    The two lists must have the same length: raise ValueError naming both lengths otherwise
    (Python's zip would silently drop the tail of the longer one).
    """
    raise NotImplementedYet("ex01", "zip_with")


def reduce(fn: Callable[[float, float], float], start: float) -> Callable[[Iterable[float]], float]:
    """reduce(fn, start)([x1, ..., xn]) = fn(...fn(fn(start, x1), x2)..., xn); `start` for an empty list."""
    raise NotImplementedYet("ex01", "reduce")


def neg_list(xs: Iterable[float]) -> list[float]:
    """Negate every element, with `map`."""
    raise NotImplementedYet("ex01", "neg_list")


def add_lists(xs: Iterable[float], ys: Iterable[float]) -> list[float]:
    """Element-wise sum of two lists of equal length, with `zip_with`."""
    raise NotImplementedYet("ex01", "add_lists")


def sum(xs: Iterable[float]) -> float:
    """Sum of a list (0 for an empty list), with `reduce`."""
    raise NotImplementedYet("ex01", "sum")


def prod(xs: Iterable[float]) -> float:
    """Product of a list (1 for an empty list), with `reduce`."""
    raise NotImplementedYet("ex01", "prod")
