"""ex01 public tests: every scalar function and derivative against torch (float64), on drawn and edge inputs."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import judge
from tests.support.compare import assert_close

# ex01 runs in a worker process (grader/judge.py): each call returns a float, a bool, a list of numbers or a
# function that stays in the worker; a lambda passed to it travels as code.
ops = judge.exercise("ex01", results=judge.NUMBERS)

small = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
nonzero = small.filter(lambda v: abs(v) > 1e-3)
wide = st.floats(min_value=-700.0, max_value=700.0, allow_nan=False)


def T(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def torch_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: float, d: float) -> float:
    """d * f'(x), by torch.autograd."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    f(t).backward(T(d))
    assert t.grad is not None
    return float(t.grad)


# ---------------------------------------------------------------------------------------------
# Part 1: values
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("add / mul / max: plain arithmetic on two floats.")
@given(small, small)
def test_binary_arithmetic(x: float, y: float) -> None:
    inputs = {"x": x, "y": y}
    assert_close(ops.add(x, y), T(x) + T(y), what="add(x, y)", inputs=inputs)
    assert_close(ops.mul(x, y), T(x) * T(y), what="mul(x, y)", inputs=inputs)
    assert_close(ops.max(x, y), torch.maximum(T(x), T(y)), what="max(x, y)", inputs=inputs)


@given(small)
def test_neg(x: float) -> None:
    assert_close(ops.neg(x), -T(x), what="neg(x)", inputs={"x": x})


@given(small, small)
@example(1.0, 1.0)
@example(-2.0, 3.0)
def test_comparisons_return_floats(x: float, y: float) -> None:
    inputs = {"x": x, "y": y}
    for name, expected in (("lt", T(x) < T(y)), ("eq", T(x) == T(y))):
        got = getattr(ops, name)(x, y)
        assert isinstance(got, float) and not isinstance(got, bool), (
            f"{name}({x}, {y}) returned {type(got).__name__} {got!r}; return the float 1.0 or 0.0"
        )
        assert_close(got, expected.double(), what=f"{name}(x, y)", inputs=inputs)


@given(small, small)
@example(1.0, 1.0 + 1e-9)
@example(100.0, 100.0005)
@example(100.0, 100.002)
@example(0.0, 1e-9)
def test_is_close_matches_torch_isclose(x: float, y: float) -> None:
    expected = bool(torch.isclose(T(x), T(y)))
    got = ops.is_close(x, y)
    assert bool(got) == expected, f"is_close({x!r}, {y!r}) = {got!r}, torch.isclose says {expected}"


@given(positive)
def test_log(x: float) -> None:
    assert_close(ops.log(x), torch.log(T(x)), what="log(x)", inputs={"x": x})


@given(wide)
def test_exp(x: float) -> None:
    assert_close(ops.exp(x), torch.exp(T(x)), what="exp(x)", inputs={"x": x})


@given(nonzero)
def test_inv(x: float) -> None:
    assert_close(ops.inv(x), 1.0 / T(x), what="inv(x)", inputs={"x": x})


@given(small)
@example(0.0)
def test_relu(x: float) -> None:
    assert_close(ops.relu(x), torch.relu(T(x)), what="relu(x)", inputs={"x": x})


@given(small)
@example(0.0)
@example(20.0)
def test_tanh(x: float) -> None:
    assert_close(ops.tanh(x), torch.tanh(T(x)), what="tanh(x)", inputs={"x": x})


@given(wide)
def test_sigmoid(x: float) -> None:
    assert_close(ops.sigmoid(x), torch.sigmoid(T(x)), what="sigmoid(x)", inputs={"x": x})


@pytest.mark.hint("sigmoid must not compute math.exp of a large positive number: branch on the sign of x.",
                  when="OverflowError")
@pytest.mark.parametrize("x", [-1000.0, -700.0, -40.0, 0.0, 40.0, 700.0, 1000.0])
def test_sigmoid_is_stable_at_the_extremes(x: float) -> None:
    try:
        got = ops.sigmoid(x)
    except OverflowError as error:
        raise AssertionError(f"sigmoid({x}) raised OverflowError ({error}); torch gives "
                             f"{float(torch.sigmoid(T(x)))}") from None
    assert_close(got, torch.sigmoid(T(x)), what="sigmoid(x)", inputs={"x": x})


@pytest.mark.parametrize("x", [-700.0, 700.0])
def test_exp_at_the_extremes(x: float) -> None:
    assert_close(ops.exp(x), torch.exp(T(x)), what="exp(x)", inputs={"x": x})


# ---------------------------------------------------------------------------------------------
# Part 2: derivatives, against torch.autograd
# ---------------------------------------------------------------------------------------------

BACKWARD_CASES: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], st.SearchStrategy[float]]] = {
    "log_back": (torch.log, positive),
    "inv_back": (torch.reciprocal, nonzero),
    "exp_back": (torch.exp, st.floats(-50.0, 50.0)),
    "relu_back": (torch.relu, small),
    "sigmoid_back": (torch.sigmoid, st.floats(-50.0, 50.0)),
    "tanh_back": (torch.tanh, st.floats(-20.0, 20.0)),
}


@pytest.mark.parametrize("name", list(BACKWARD_CASES))
@given(data=st.data(), d=st.floats(-10.0, 10.0))
def test_backward_helpers_match_autograd(name: str, data: st.DataObject, d: float) -> None:
    torch_fn, domain = BACKWARD_CASES[name]
    x = data.draw(domain, label="x")
    got = getattr(ops, name)(x, d)
    assert_close(got, torch_derivative(torch_fn, x, d), what=f"{name}(x, d) = d * f'(x)", inputs={"x": x, "d": d})


@pytest.mark.hint("At x = 0 torch's relu has gradient 0: use x > 0, not x >= 0.")
def test_relu_back_at_zero_is_zero_like_torch() -> None:
    expected = torch_derivative(torch.relu, 0.0, 1.0)
    assert_close(ops.relu_back(0.0, 1.0), expected, what="relu_back(0, 1)", inputs={"x": 0.0, "d": 1.0})


def test_sigmoid_back_far_in_the_tails() -> None:
    for x in (-1000.0, 1000.0):
        try:
            got = ops.sigmoid_back(x, 1.0)
        except OverflowError as error:
            raise AssertionError(f"sigmoid_back({x}, 1) raised OverflowError ({error})") from None
        assert_close(got, torch_derivative(torch.sigmoid, x, 1.0), what="sigmoid_back(x, 1)", inputs={"x": x})


# ---------------------------------------------------------------------------------------------
# Part 3: higher-order functions
# ---------------------------------------------------------------------------------------------

lists = st.lists(small, max_size=12)


@given(lists)
def test_map_applies_a_function_to_every_element(xs: list[float]) -> None:
    squared = ops.map(lambda v: v * v)(xs)
    assert_close(squared, torch.tensor(xs, dtype=torch.float64).reshape(-1) ** 2, what="map(square)(xs)",
                 inputs={"xs": xs})
    assert_close(ops.neg_list(xs), -torch.tensor(xs, dtype=torch.float64).reshape(-1), what="neg_list(xs)",
                 inputs={"xs": xs})


def test_map_accepts_any_iterable_and_returns_a_list() -> None:
    result = ops.map(lambda v: v + 1.0)(v for v in (1.0, 2.0))
    assert result == [2.0, 3.0], f"map(fn) over a generator gave {result!r}, expected [2.0, 3.0]"


@given(st.integers(0, 10).flatmap(lambda n: st.tuples(st.lists(small, min_size=n, max_size=n),
                                                      st.lists(small, min_size=n, max_size=n))))
def test_zip_with_and_add_lists(pair: tuple[list[float], list[float]]) -> None:
    xs, ys = pair
    expected = torch.tensor(xs, dtype=torch.float64).reshape(-1) + torch.tensor(ys, dtype=torch.float64).reshape(-1)
    assert_close(ops.add_lists(xs, ys), expected, what="add_lists(xs, ys)", inputs={"xs": xs, "ys": ys})
    products = ops.zip_with(lambda a, b: a * b)(xs, ys)
    assert_close(products, torch.tensor(xs, dtype=torch.float64).reshape(-1) * torch.tensor(ys, dtype=torch.float64).reshape(-1),
                 what="zip_with(mul)(xs, ys)", inputs={"xs": xs, "ys": ys})


@pytest.mark.hint("Python's zip silently drops the tail of the longer list; check the lengths and raise ValueError.")
def test_zip_with_refuses_lists_of_different_lengths() -> None:
    with pytest.raises(ValueError) as info:
        ops.zip_with(lambda a, b: a + b)([1.0, 2.0, 3.0], [1.0, 2.0])
    message = str(info.value)
    assert "3" in message and "2" in message, f"the ValueError should name both lengths (3 and 2), said {message!r}"


@given(lists)
def test_sum_and_prod_match_torch(xs: list[float]) -> None:
    t = torch.tensor(xs, dtype=torch.float64).reshape(-1)
    assert_close(ops.sum(xs), t.sum(), what="sum(xs)", inputs={"xs": xs})
    short = xs[:6]
    assert_close(ops.prod(short), torch.tensor(short, dtype=torch.float64).reshape(-1).prod(), what="prod(xs)",
                 inputs={"xs": short})


@pytest.mark.hint("reduce must start the fold at `start`: sum([]) is 0.0 and prod([]) is 1.0.")
def test_reduce_of_an_empty_list_is_the_start_value() -> None:
    assert ops.sum([]) == 0.0, f"sum([]) = {ops.sum([])!r}, expected 0.0"
    assert ops.prod([]) == 1.0, f"prod([]) = {ops.prod([])!r}, expected 1.0"
    assert ops.reduce(ops.add, 5.0)([]) == 5.0, "reduce(add, 5.0)([]) should be the start value 5.0"


def test_reduce_folds_from_the_left() -> None:
    got = ops.reduce(lambda acc, v: acc * 10.0 + v, 0.0)([1.0, 2.0, 3.0])
    assert got == 123.0, f"reduce(acc*10+v, 0)([1, 2, 3]) = {got!r}: expected 123.0 (fold from the left, start first)"


def test_reduce_does_not_use_the_first_element_as_start() -> None:
    got = ops.reduce(ops.add, 10.0)([1.0, 2.0])
    assert got == 13.0, f"reduce(add, 10.0)([1, 2]) = {got!r}, expected 13.0"
    assert math.isclose(ops.prod([2.0, 3.0]), 6.0), f"prod([2, 3]) = {ops.prod([2.0, 3.0])!r}, expected 6.0"
