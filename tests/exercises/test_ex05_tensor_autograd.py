"""ex05 public tests: every tensor Function, forward and backward, against torch.autograd on the same data.

Each check runs one lambda on minitorch-dg tensors and on torch tensors made from the same numpy arrays
(tests/support/tensor_oracle.py: values, shape, dtype, and the gradient of every input for a random
upstream gradient), in float64 and float32, on contiguous and permuted (non-contiguous) inputs, with
shapes drawn by hypothesis (0-d and size-1 dims included). The last part checks the autograd rules a
torch user relies on: which mistakes raise, and what accumulates.

ex05 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there, as a
program or through `check_op(worker=ag)`, and torch, the expected values and the comparison stay here. A
function sent there names only its arguments, builtins and math (and a program also `mt` and `ex`, the
framework and ex05's module as the worker serves them): what it needs travels as `params`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from minitorch_dg.errors import ShapeError
from tests.support import tensor_strategies as ts
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

ag = judge.exercise("ex05")  # ex05 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex05's module as the worker serves it (never bound here)

DTYPES = ["float64", "float32"]

# Hypothesis runs the explicit @example cases first: a contiguous one, then one whose input is a 3-D
# tensor made non-contiguous by a permutation that is not its own inverse, so that an unimplemented stub
# or a broken Permute fails at once, with one message, before any generated case needs shrinking.
# It stops at the first failure it finds and skips its "explain" phase, which re-runs a failing test
# many times: a student with several unfinished Functions must not wait minutes for `mtdg check`.
FAST_FAILURE = settings(report_multiple_bugs=False,
                        phases=tuple(phase for phase in settings.default.phases if phase is not Phase.explain))
Fn = Callable[..., Any]


def check(fn: Fn, *arrays: np.ndarray, **options: Any) -> None:
    """`check_op` with the minitorch-dg side in ex05's worker."""
    check_op(fn, *arrays, worker=ag, **options)


def away_from_zero(a: np.ndarray, gap: float = 0.5) -> np.ndarray:
    """Move every value at least `gap` away from 0, keeping its sign (0 goes to +gap)."""
    return np.where(a >= 0, a + gap, a - gap)


def positive(a: np.ndarray, low: float = 0.25) -> np.ndarray:
    """|a| + low: a domain for log and fractional powers."""
    return np.abs(a) + low


Layout = tuple[int, ...] | None


@dataclass(frozen=True)
class Case:
    """One drawn test case: the input arrays, a layout per input (a permutation that makes the input
    non-contiguous, None for contiguous) and the operation's parameters."""

    arrays: tuple[np.ndarray, ...]
    layouts: tuple[Layout, ...]
    params: tuple[Any, ...] = ()

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [tuple(a.shape) for a in self.arrays]

    @property
    def note(self) -> str:
        """Says which inputs were made non-contiguous (through Permute) for a failure message."""
        permuted = [f"x{i} stored permuted by {layout}" for i, layout in enumerate(self.layouts) if layout]
        return f" (non-contiguous inputs: {', '.join(permuted)})" if permuted else ""


def draw_inputs(draw: st.DrawFn, *shapes: tuple[int, ...],
                values: Callable[[tuple[int, ...]], st.SearchStrategy[np.ndarray]] = ts.arrays,
                ) -> tuple[tuple[np.ndarray, ...], tuple[Layout, ...]]:
    """Arrays of the given shapes and a layout for each."""
    arrays = tuple(draw(values(shape)) for shape in shapes)
    layouts = tuple(draw(st.none() | ts.permutations_of(len(shape))) for shape in shapes)
    return arrays, layouts


def grid(*shape: int) -> np.ndarray:
    """A fixed example input: values k/n * 3 - 1.5 for k = 0, 7, 14, ... (mod n), laid out in `shape`
    (distinct while n, the number of elements, is not a multiple of 7, as in every example here)."""
    n = int(np.prod(shape, dtype=np.int64))
    return ((np.arange(n) * 7 % max(n, 1)) / max(n, 1) * 3.0 - 1.5).reshape(shape)


def tie_prone(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose values come from a small grid, so that equal maxima (ties) are frequent."""
    return hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0]))


# ---------------------------------------------------------------------------------------------
# Part 1: unbroadcast
# ---------------------------------------------------------------------------------------------


def unbroadcast_of(values: np.ndarray, shape: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    """Program: the shape and values of ex05's `unbroadcast(tensor of values, shape)`."""
    got = ex.unbroadcast(mt.tensor(values, dtype=mt.float64), shape)
    return tuple(got.shape), got.to_numpy()


@pytest.mark.hint("Sum the leading dims away, then sum (keepdim=True) every dim where the input had size 1.")
def test_unbroadcast_worked_example_3x1_plus_4() -> None:
    grad = np.arange(12.0).reshape(3, 4)
    for shape in [(3, 1), (4,), (1, 4), (3, 4), (1, 1), ()]:
        got_shape, got = run(unbroadcast_of, grad, shape)
        want = torch.arange(12.0, dtype=torch.float64).reshape(3, 4).sum_to_size(shape)
        assert tuple(got_shape) == shape, (
            f"unbroadcast(grad of shape (3, 4), {shape}) has shape {tuple(got_shape)}; it must have the input's "
            "shape exactly (keep size-1 dims, drop leading ones)"
        )
        assert_close(got, want.numpy(), what=f"unbroadcast(grad of shape (3, 4), {shape})")


@st.composite
def unbroadcast_cases(draw: st.DrawFn) -> Case:
    small, other = draw(ts.broadcast_pairs())
    full = tuple(torch.broadcast_shapes(small, other))
    return Case((draw(ts.arrays(full)),), (None,), (small,))


@FAST_FAILURE
@given(case=unbroadcast_cases())
@example(case=Case((grid(2, 3, 4),), (None,), ((3, 1),)))
def test_unbroadcast_matches_torch_sum_to_size(case: Case) -> None:
    (values,), (small,), full = case.arrays, case.params, case.shapes[0]
    got_shape, got = run(unbroadcast_of, values, small)
    want = torch.tensor(values).sum_to_size(small) if small else torch.tensor(values).sum()
    assert tuple(got_shape) == tuple(want.shape), (
        f"unbroadcast(grad of shape {full}, {small}) has shape {tuple(got_shape)}, expected {small}"
    )
    assert_close(got, want.numpy(), what=f"unbroadcast(grad of shape {full}, {small})")


# ---------------------------------------------------------------------------------------------
# Part 2: element-wise functions
# ---------------------------------------------------------------------------------------------

@st.composite
def binary_cases(draw: st.DrawFn) -> Case:
    """Two inputs whose shapes broadcast together (leading dims dropped, size-1 dims on either side)."""
    return Case(*draw_inputs(draw, *draw(ts.broadcast_pairs())))


BINARY: dict[str, Fn] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
}


@pytest.mark.hint("Each gradient must be un-broadcast to its own input's shape: unbroadcast(grad * b, a.shape).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
@FAST_FAILURE
@given(case=binary_cases())
@example(case=Case((grid(3, 1), grid(4)), (None, None)))
@example(case=Case((grid(2, 3, 1), grid(4)), ((1, 2, 0), None)))
def test_binary_function_matches_torch(name: str, dtype: str, case: Case) -> None:
    a, b = case.arrays
    if name == "Div":
        b = away_from_zero(b)
    check(BINARY[name], a, b, dtype=dtype, layouts=case.layouts,
             label=f"{name} of shapes {case.shapes[0]} and {case.shapes[1]}{case.note}")


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_function_of_a_tensor_with_itself(name: str) -> None:
    x = np.array([[0.5, -1.5, 2.0], [1.25, -0.75, 3.0]])
    check(lambda a, op: op(a, a), x, params=[BINARY[name]], label=f"{name}(x, x): both gradients reach the same leaf")


@pytest.mark.parametrize(
    "label, fn",
    [
        pytest.param("2 * x", lambda x: 2 * x, id="2 * x"),
        pytest.param("x - 1.5", lambda x: x - 1.5, id="x - 1.5"),
        pytest.param("1.5 - x", lambda x: 1.5 - x, id="1.5 - x"),
        pytest.param("x / 4", lambda x: x / 4, id="x / 4"),
        pytest.param("3 / x", lambda x: 3 / x, id="3 / x"),
        pytest.param("-x + x * x", lambda x: -x + x * x, id="-x + x * x"),
    ],
)
def test_arithmetic_with_python_numbers(label: str, fn: Fn) -> None:
    x = np.array([[0.5, -1.5, 2.0], [1.25, -0.75, 3.0]])
    for dtype in DTYPES:
        check(fn, x, dtype=dtype, label=label)


def test_mixed_float_dtypes_promote_and_gradients_keep_each_input_dtype() -> None:
    a = np.array([[0.5], [-1.5], [2.0]], dtype=np.float32)
    b = np.array([1.0, 2.0, -3.0, 0.25])
    check(lambda x, y: x * y + x / (y * y + 1.0), a, b, label="float32 (3, 1) with float64 (4,)")


UNARY: dict[str, tuple[Fn, Callable[[np.ndarray], np.ndarray]]] = {
    "Neg": (lambda x: -x, lambda a: a),
    "Exp": (lambda x: x.exp(), lambda a: a),
    "Log": (lambda x: x.log(), positive),
    "Sigmoid": (lambda x: x.sigmoid(), lambda a: a * 4.0),
    "ReLU": (lambda x: x.relu(), lambda a: away_from_zero(a, 0.01)),
    "Tanh": (lambda x: x.tanh(), lambda a: a),
}


@st.composite
def one_input(draw: st.DrawFn, min_dims: int = 0, max_dims: int = 4, max_side: int = ts.MAX_SIDE,
              values: Callable[[tuple[int, ...]], st.SearchStrategy[np.ndarray]] = ts.arrays) -> Case:
    shape = draw(ts.shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    return Case(*draw_inputs(draw, shape, values=values))


@pytest.mark.hint("Exp, Sigmoid and Tanh: save the OUTPUT in forward; Log and ReLU: save the input.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
@FAST_FAILURE
@given(case=one_input())
@example(case=Case((grid(2, 3),), (None,)))
@example(case=Case((grid(2, 3, 2),), ((1, 2, 0),)))
def test_unary_function_matches_torch(name: str, dtype: str, case: Case) -> None:
    fn, domain = UNARY[name]
    check(fn, domain(case.arrays[0]), dtype=dtype, layouts=case.layouts,
          label=f"{name} of shape {case.shapes[0]}{case.note}")


EXPONENTS = [2.0, 3.0, 1.0, 0.5, 1.5, -1.0, -2.0, 0.0]


@pytest.mark.hint("d(a^p)/da = p * a^(p-1); return (gradient, None): the exponent is a number.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=one_input(), p=st.sampled_from(EXPONENTS))
@example(case=Case((grid(2, 3),), (None,)), p=2.0)
@example(case=Case((grid(2, 3, 2),), ((1, 2, 0),)), p=2.0)
def test_pow_matches_torch(dtype: str, case: Case, p: float) -> None:
    (a,), (layout,), shape = case.arrays, case.layouts, case.shapes[0]
    if p != int(p):
        a = positive(a)  # a fractional power of a negative number is nan
    elif p < 0:
        a = away_from_zero(a)
    check(lambda x, p: x ** p, a, params=[p], dtype=dtype, layouts=[layout],
          label=f"x ** {p} of shape {shape}{case.note}")


def test_relu_gradient_at_zero_is_zero_like_torch() -> None:
    check(lambda x: x.relu(), np.array([-1.0, 0.0, -0.0, 2.0, 0.0]), label="relu at 0")


@pytest.mark.hint("torch defines d(x**0)/dx = 0 everywhere, also at x = 0 (where 0 * 0**-1 would be nan).")
def test_pow_with_exponent_zero_has_zero_gradient_also_at_zero() -> None:
    check(lambda x: x ** 0, np.array([0.0, 2.0, -3.0]), label="x ** 0")
    check(lambda x: x ** 2, np.array([0.0, 2.0, -3.0]), label="x ** 2 at 0")


@pytest.mark.parametrize("dtype", DTYPES)
def test_saturating_functions_at_large_inputs(dtype: str) -> None:
    x = np.array([-60.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 60.0])
    check(lambda v: v.sigmoid(), x, dtype=dtype, label="sigmoid at large |x|")
    check(lambda v: v.tanh(), x, dtype=dtype, label="tanh at large |x|")
    check(lambda v: (v / 10).exp(), x, dtype=dtype, label="exp(x / 10)")


# ---------------------------------------------------------------------------------------------
# Part 3: reductions
# ---------------------------------------------------------------------------------------------


@st.composite
def reduction_dims(draw: st.DrawFn, ndim: int) -> tuple[int, ...] | None:
    """None (all dims), or a non-empty set of distinct dims, each written non-negative or negative."""
    if ndim == 0 or draw(st.integers(0, 4)) == 0:
        return None
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in chosen)


def reduce_by(x: Any, method: str, dims: tuple[int, ...] | None, keepdim: bool) -> Any:
    """x.method() over all dims (dims None), else x.method(dims or the one dim, keepdim=keepdim)."""
    if dims is None:
        return getattr(x, method)()
    return getattr(x, method)(dims if len(dims) > 1 else dims[0], keepdim=keepdim)


@st.composite
def reduction_cases(draw: st.DrawFn, min_dims: int = 0,
                    values: Callable[[tuple[int, ...]], st.SearchStrategy[np.ndarray]] = ts.arrays) -> Case:
    """An input, dims (None for all) and keepdim."""
    shape = draw(ts.shapes(min_dims=min_dims))
    arrays, layouts = draw_inputs(draw, shape, values=values)
    return Case(arrays, layouts, (draw(reduction_dims(len(shape))), draw(st.booleans())))


@pytest.mark.hint("Reshape grad to the keepdim shape (_keepdim_shape), then expand it to the input's shape.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["sum", "mean"])
@FAST_FAILURE
@given(case=reduction_cases())
@example(case=Case((grid(2, 3),), (None,), ((1,), False)))
@example(case=Case((grid(2, 3, 2),), ((1, 2, 0),), ((1,), False)))
def test_sum_and_mean_match_torch(method: str, dtype: str, case: Case) -> None:
    dims, keepdim = case.params
    check(reduce_by, case.arrays[0], params=[method, dims, keepdim], dtype=dtype, layouts=case.layouts,
             label=f"x.{method}({dims}, keepdim={keepdim}) of shape {case.shapes[0]}{case.note}")


@pytest.mark.parametrize(
    "label, fn",
    [
        pytest.param("x.sum((0, 2))", lambda x: x.sum((0, 2)), id="x.sum((0, 2))"),
        pytest.param("x.sum((0, -1), keepdim=True)", lambda x: x.sum((0, -1), keepdim=True), id="x.sum((0, -1), keepdim=True)"),
        pytest.param("x.mean((2, 0))", lambda x: x.mean((2, 0)), id="x.mean((2, 0))"),
        pytest.param("x.mean((1, 2), keepdim=True)", lambda x: x.mean((1, 2), keepdim=True), id="x.mean((1, 2), keepdim=True)"),
        pytest.param("x.sum(-2).mean(0)", lambda x: x.sum(-2).mean(0), id="x.sum(-2).mean(0)"),
        pytest.param("x.mean()", lambda x: x.mean(), id="x.mean()"),
    ],
)
def test_sum_and_mean_over_several_dims(label: str, fn: Fn) -> None:
    x = np.arange(24.0).reshape(2, 3, 4) / 7.0 - 1.0
    for dtype in DTYPES:
        check(fn, x, dtype=dtype, label=label, layouts=[(2, 0, 1)])


@pytest.mark.parametrize(
    "label, fn",
    [
        pytest.param("x.sum(0)", lambda x: x.sum(0), id="x.sum(0)"),
        pytest.param("x.mean(0, keepdim=True)", lambda x: x.mean(0, keepdim=True), id="x.mean(0, keepdim=True)"),
        pytest.param("x.max(0) values", lambda x: x.max(0)[0], id="x.max(0) values"),
        pytest.param("x.amax()", lambda x: x.amax(), id="x.amax()"),
    ],
)
def test_reductions_of_a_0d_tensor(label: str, fn: Fn) -> None:
    check(fn, np.array(1.5), label=f"{label} of a 0-d tensor")


@st.composite
def max_cases(draw: st.DrawFn) -> Case:
    """An input whose values often tie, one dim (maybe negative) and keepdim."""
    shape = draw(ts.shapes(min_dims=1))
    arrays, layouts = draw_inputs(draw, shape, values=lambda s: tie_prone(s) | ts.arrays(s))
    return Case(arrays, layouts, (draw(st.integers(-len(shape), len(shape) - 1)), draw(st.booleans())))


@pytest.mark.hint("Max: the whole gradient goes to the first maximum (argmax along dim), even when there are ties.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=max_cases())
@example(case=Case((grid(2, 3),), (None,), (1, False)))
@example(case=Case((grid(2, 3, 2),), ((1, 2, 0),), (1, False)))
def test_max_along_a_dim_matches_torch(dtype: str, case: Case) -> None:
    dim, keepdim = case.params
    check(lambda x, d, k: x.max(d, keepdim=k)[0], case.arrays[0], params=[dim, keepdim], dtype=dtype,
          layouts=case.layouts,
             label=f"x.max({dim}, keepdim={keepdim}).values of shape {case.shapes[0]}{case.note}")


@pytest.mark.hint("Max gives the whole gradient to the FIRST maximum (as argmax); Amax shares it among ties.")
def test_max_with_ties_gives_the_gradient_to_the_first_maximum() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, -1.0, 5.0]])
    check(lambda v: v.max(1)[0], x, label="x.max(1).values with ties")
    check(lambda v: v.max(0, keepdim=True)[0], x, label="x.max(0, keepdim=True).values with ties")
    check(lambda v: v.max(-1)[0], x, layouts=[(1, 0)], label="x.max(-1).values with ties, permuted input")


@pytest.mark.hint("Amax: each of the k tied maxima of a slice receives grad / k (torch's amax and max()).")
def test_amax_with_ties_shares_the_gradient_equally() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, -1.0, 4.0]])
    check(lambda v: v.amax(1), x, label="x.amax(1) with ties")
    check(lambda v: v.max(), x, label="x.max() (all elements) with ties")
    check(lambda v: v.amax((0, 1), keepdim=True), x, label="x.amax((0, 1), keepdim=True) with ties")
    check(lambda v: v.amax(0), np.ones((2, 3, 2)), label="x.amax(0) where everything ties")


@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=reduction_cases(min_dims=1, values=lambda s: tie_prone(s) | ts.arrays(s)))
@example(case=Case((grid(2, 3),), (None,), ((0,), False)))
@example(case=Case((grid(2, 3, 2),), ((1, 2, 0),), ((0,), False)))
def test_amax_matches_torch(dtype: str, case: Case) -> None:
    dims, keepdim = case.params
    check(reduce_by, case.arrays[0], params=["amax", dims, keepdim], dtype=dtype, layouts=case.layouts,
             label=f"x.amax({dims}, keepdim={keepdim}) of shape {case.shapes[0]}{case.note}")


def test_min_and_amin_are_built_on_max_and_amax() -> None:
    x = np.array([[1.0, -3.0, -3.0], [2.0, 0.5, 2.0]])
    check(lambda v: v.min(1)[0], x, label="x.min(1).values")
    check(lambda v: v.amin(0), x, label="x.amin(0)")
    check(lambda v: v.min(), x, label="x.min()")


# ---------------------------------------------------------------------------------------------
# Part 4: matrix product
# ---------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((4, 2, 3), (3, 2)),
    ((2, 3), (4, 3, 2)),
    ((3,), (4, 3, 2)),
    ((4, 2, 3), (3,)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((1, 2, 3), (3, 3, 4)),
    ((1, 1), (1, 1)),
]


@pytest.mark.hint("grad_a = grad @ b.transpose(-2, -1), grad_b = a.transpose(-2, -1) @ grad, then unbroadcast the "
                  "batch dims of each to its input's shape.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul_shapes_1d_2d_and_batched_broadcast(shapes: tuple[tuple[int, ...], ...], dtype: str) -> None:
    rng = np.random.default_rng(len(shapes[0]) * 10 + len(shapes[1]))
    a, b = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    check(lambda x, y: x @ y, a, b, dtype=dtype, label=f"{shapes[0]} @ {shapes[1]}")


@st.composite
def matmul_cases(draw: st.DrawFn) -> Case:
    """(..., n, k) @ (..., k, m) with broadcast batch dims; sometimes a 1-D operand (k,)."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = draw(ts.broadcast_pairs(max_dims=2))
    a = (k,) if draw(st.integers(0, 5)) == 0 else batch_a + (n, k)
    b = (k,) if draw(st.integers(0, 5)) == 0 else batch_b + (k, m)
    return Case(*draw_inputs(draw, a, b))


@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=matmul_cases())
@example(case=Case((grid(2, 3), grid(3, 4)), (None, None)))
@example(case=Case((grid(2, 2, 3), grid(3, 4)), ((1, 2, 0), (1, 0))))
def test_matmul_matches_torch(dtype: str, case: Case) -> None:
    check(lambda x, y: x @ y, *case.arrays, dtype=dtype, layouts=case.layouts,
             label=f"matmul of shapes {case.shapes[0]} and {case.shapes[1]}{case.note}")


# ---------------------------------------------------------------------------------------------
# Part 5: views
# ---------------------------------------------------------------------------------------------


@st.composite
def permute_cases(draw: st.DrawFn) -> Case:
    shape = draw(ts.shapes(min_dims=2, max_side=3))
    arrays, layouts = draw_inputs(draw, shape)
    return Case(arrays, layouts, (tuple(draw(st.permutations(list(range(len(shape)))))),))


@pytest.mark.hint("Permute the gradient back with the INVERSE order: inverse[order[d]] = d.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=permute_cases())
@example(case=Case((grid(2, 3, 4),), (None,), ((1, 2, 0),)))
@example(case=Case((grid(2, 3, 4),), ((1, 2, 0),), ((1, 2, 0),)))
def test_permute_matches_torch(dtype: str, case: Case) -> None:
    (order,), shape = case.params, case.shapes[0]
    check(lambda x, order: x.permute(*order) * 1.0, case.arrays[0], params=[order], dtype=dtype, layouts=case.layouts,
             label=f"x.permute{order} of shape {shape}{case.note}")


@pytest.mark.parametrize(
    "label, fn",
    [
        pytest.param("x.permute(1, 2, 0)", lambda x: x.permute(1, 2, 0), id="x.permute(1, 2, 0)"),
        pytest.param("x.permute(2, 0, 1)", lambda x: x.permute(2, 0, 1), id="x.permute(2, 0, 1)"),
        pytest.param("x.transpose(0, 2)", lambda x: x.transpose(0, 2), id="x.transpose(0, 2)"),
        pytest.param("x.transpose(-1, -2)", lambda x: x.transpose(-1, -2), id="x.transpose(-1, -2)"),
        pytest.param("x.mT", lambda x: x.mT, id="x.mT"),
        pytest.param("x.permute(1, 2, 0).permute(1, 2, 0)", lambda x: x.permute(1, 2, 0).permute(1, 2, 0), id="x.permute(1, 2, 0).permute(1, 2, 0)"),
    ],
)
def test_permute_and_transpose_examples(label: str, fn: Fn) -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    check(lambda v, f: f(v) * 2.0, x, params=[fn], label=label)


@st.composite
def reshape_target(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Another shape with the same number of elements: sizes shuffled, two neighbours merged, 1s
    inserted, and sometimes one size written as -1."""
    sizes = list(draw(st.permutations(list(shape)))) if shape else []
    if len(sizes) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(sizes) - 2))
        sizes[i:i + 2] = [sizes[i] * sizes[i + 1]]
    for _ in range(draw(st.integers(0, 2))):
        sizes.insert(draw(st.integers(0, len(sizes))), 1)
    if sizes and draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return tuple(sizes)


@st.composite
def reshape_cases(draw: st.DrawFn) -> Case:
    shape = draw(ts.shapes())
    arrays, layouts = draw_inputs(draw, shape)
    return Case(arrays, layouts, (draw(reshape_target(shape)),))


@pytest.mark.hint("View.backward: grad.reshape(input shape) — reshape, not view: grad may be non-contiguous.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=reshape_cases())
@example(case=Case((grid(2, 3, 4),), (None,), ((4, -1),)))
@example(case=Case((grid(2, 3, 4),), ((1, 2, 0),), ((4, -1),)))
def test_view_and_reshape_match_torch(dtype: str, case: Case) -> None:
    (target,), (layout,), shape = case.params, case.layouts, case.shapes[0]
    # view needs strides that can express the new shape; reshape copies when they cannot (as torch)
    method = "view" if layout is None else "reshape"
    check(lambda x, method, target: getattr(x, method)(target).exp(), case.arrays[0], params=[method, target],
          dtype=dtype, layouts=case.layouts,
             label=f"x.{method}{target} of shape {shape}{case.note}")


def test_reshape_of_a_non_contiguous_tensor() -> None:
    x = np.arange(24.0).reshape(2, 3, 4) / 5.0
    check(lambda v: v.transpose(0, 2).reshape(4, 6) * v.sum(), x, label="x.transpose(0, 2).reshape(4, 6)")
    check(lambda v: v.reshape(-1).tanh(), x, layouts=[(2, 1, 0)], label="permuted input .reshape(-1)")
    check(lambda v: v.flatten(1) @ v.flatten(1).mT, x, label="x.flatten(1) @ its transpose")


@st.composite
def expand_target(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Stretch some size-1 dims, keep others (sometimes written -1), and prepend up to 2 new dims."""
    out = []
    for size in shape:
        if size == 1:
            out.append(draw(st.integers(1, 3)))
        else:
            out.append(-1 if draw(st.booleans()) else size)
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    return tuple(lead) + tuple(out)


@st.composite
def expand_cases(draw: st.DrawFn) -> Case:
    shape = draw(ts.shapes(max_dims=3))
    arrays, layouts = draw_inputs(draw, shape)
    return Case(arrays, layouts, (draw(expand_target(shape)),))


@pytest.mark.hint("Expand is broadcasting made explicit: its backward is unbroadcast(grad, input shape).")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=expand_cases())
@example(case=Case((grid(3, 1),), (None,), ((2, 3, 4),)))
@example(case=Case((grid(3, 1, 2),), ((1, 2, 0),), ((2, 3, 4, 2),)))
def test_expand_matches_torch(dtype: str, case: Case) -> None:
    (target,) = case.params
    check(lambda x, target: x.expand(target) * 1.5, case.arrays[0], params=[target], dtype=dtype, layouts=case.layouts,
             label=f"x.expand{target} of shape {case.shapes[0]}{case.note}")


@st.composite
def squeeze_cases(draw: st.DrawFn) -> Case:
    """An input with small sides (so size-1 dims are common), a dim for unsqueeze and one for squeeze."""
    shape = draw(ts.shapes(max_dims=3, max_side=2))
    arrays, layouts = draw_inputs(draw, shape)
    n = len(shape)
    return Case(arrays, layouts, (draw(st.integers(-n - 1, n)), draw(st.integers(-n, n - 1)) if n else None))


@pytest.mark.hint("Unsqueeze.backward squeezes the same dim; Squeeze.backward unsqueezes it.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=squeeze_cases())
@example(case=Case((grid(2, 1),), (None,), (0, 1)))
@example(case=Case((grid(2, 1, 2),), ((1, 2, 0),), (0, 1)))
def test_unsqueeze_and_squeeze_match_torch(dtype: str, case: Case) -> None:
    (a,), (layout,), shape = case.arrays, case.layouts, case.shapes[0]
    new, gone = case.params
    check(lambda x, d: x.unsqueeze(d) * 2.0, a, params=[new], dtype=dtype, layouts=[layout],
             label=f"x.unsqueeze({new}) of shape {shape}{case.note}")
    if gone is not None:
        check(lambda x, d: x.squeeze(d) * 2.0, a, params=[gone], dtype=dtype, layouts=[layout],
                 label=f"x.squeeze({gone}) of shape {shape}{case.note}")
    check(lambda x: x.squeeze() * 2.0, a, dtype=dtype, layouts=[layout],
          label=f"x.squeeze() of shape {shape}{case.note}")


def test_expand_unsqueeze_squeeze_examples() -> None:
    check(lambda x: x.expand(2, 3, 4) * 1.0, np.arange(3.0).reshape(3, 1), label="(3, 1).expand(2, 3, 4)")
    check(lambda x: x.expand(3, -1) * 1.0, np.arange(4.0).reshape(1, 4), label="(1, 4).expand(3, -1)")
    check(lambda x: x.unsqueeze(-1) * x.unsqueeze(0), np.arange(3.0), label="outer product by unsqueeze")
    check(lambda x: x.squeeze() * 1.0, np.arange(3.0).reshape(1, 3, 1), label="(1, 3, 1).squeeze()")
    check(lambda x: x.unsqueeze(0) * 1.0, np.array(2.5), label="0-d .unsqueeze(0)")


INDEX_KEYS: dict[str, Callable[[Any], Any]] = {
    "x[1:3, 0]": lambda x: x[1:3, 0],
    "x[..., None]": lambda x: x[..., None],
    "x[-1]": lambda x: x[-1],
    "x[-3:-1]": lambda x: x[-3:-1],
    "x[::2]": lambda x: x[::2],
    "x[1::2, -2:]": lambda x: x[1::2, -2:],
    "x[None, 2, ::2]": lambda x: x[None, 2, ::2],
    "x[0, 0]": lambda x: x[0, 0],
    "x[:, 1]": lambda x: x[:, 1],
    "x[3:1] (empty)": lambda x: x[3:1],
    "x[1:3] + x[2:4] (overlap)": lambda x: x[1:3] + x[2:4],
    "x[2][1:]": lambda x: x[2][1:],
}


@pytest.mark.hint("Index.backward: zeros of the input's shape, K.basic_index(zeros, key), K.copy_into(that view, grad).")
@pytest.mark.parametrize("key", list(INDEX_KEYS))
def test_basic_indexing_matches_torch(key: str) -> None:
    x = np.arange(20.0).reshape(5, 4) / 3.0
    for dtype in DTYPES:
        check(lambda v, index: index(v) * 2.0, x, params=[INDEX_KEYS[key]], dtype=dtype, label=key)
    check(lambda v, index: index(v) * 2.0, x, params=[INDEX_KEYS[key]], layouts=[(1, 0)],
          label=f"{key} of a permuted input")


def test_indexing_a_0d_tensor() -> None:
    check(lambda x: x[None] * 2.0, np.array(1.5), label="0-d x[None]")
    check(lambda x: x[...] * 2.0, np.array(1.5), label="0-d x[...]")


@st.composite
def basic_key(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A basic-indexing key for `shape`: per dim an int (maybe negative), a slice (maybe negative or
    out-of-range bounds, step 1-3) or nothing; Nones inserted anywhere."""
    key: list[Any] = []
    for size in shape[: draw(st.integers(0, len(shape)))]:
        if draw(st.booleans()):
            key.append(draw(st.integers(-size, size - 1)))
        else:
            bound = st.none() | st.integers(-size - 1, size + 1)
            key.append(slice(draw(bound), draw(bound),
                             draw(st.sampled_from([None, 1, 2, 3]))))
    for _ in range(draw(st.integers(0, 2))):
        key.insert(draw(st.integers(0, len(key))), None)
    return tuple(key)


@st.composite
def index_cases(draw: st.DrawFn) -> Case:
    shape = draw(ts.shapes(min_dims=1))
    arrays, layouts = draw_inputs(draw, shape)
    return Case(arrays, layouts, (draw(basic_key(shape)),))


@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=index_cases())
@example(case=Case((grid(4, 3),), (None,), ((slice(1, 3), 0),)))
@example(case=Case((grid(4, 3, 2),), ((1, 2, 0),), ((slice(1, 3), 0),)))
def test_basic_indexing_with_random_keys(dtype: str, case: Case) -> None:
    (key,) = case.params
    check(lambda x, key: x[key] * 2.0, case.arrays[0], params=[key], dtype=dtype, layouts=case.layouts,
             label=f"x[{key}] of shape {case.shapes[0]}{case.note}")


@st.composite
def cat_cases(draw: st.DrawFn) -> Case:
    """1-3 inputs of equal shapes except along `dim` (maybe negative), where sizes are 1-3."""
    shape = draw(ts.shapes(min_dims=1, max_dims=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = [tuple(size if d == dim % len(shape) else s for d, s in enumerate(shape)) for size in sizes]
    return Case(*draw_inputs(draw, *parts), (dim,))


@pytest.mark.hint("Cat.backward returns (None, slice 0 of grad, slice 1, ...): dim comes first in forward's arguments.")
@pytest.mark.parametrize("dtype", DTYPES)
@FAST_FAILURE
@given(case=cat_cases())
@example(case=Case((grid(2, 3), grid(2, 1)), (None, None), (1,)))
@example(case=Case((grid(2, 3, 2), grid(2, 1, 2)), ((1, 2, 0), None), (1,)))
def test_cat_matches_torch(dtype: str, case: Case) -> None:
    (dim,) = case.params
    check(lambda lib, *xs: lib.cat(list(xs[:-1]), xs[-1]) * 1.0, *case.arrays, library=True, params=[dim],
          dtype=dtype, layouts=case.layouts, label=f"cat of shapes {case.shapes} along dim {dim}{case.note}")


def test_cat_examples_unequal_sizes_repeats_and_mixed_dtypes() -> None:
    a, b = np.arange(6.0).reshape(2, 3), np.arange(2.0).reshape(2, 1) - 5
    check(lambda lib, x, y: lib.cat([x, y], 1) * 1.0, a, b, library=True, label="cat([(2, 3), (2, 1)], 1)")
    check(lambda lib, x, y: lib.cat([y, x, y], -1) * 1.0, a, b, library=True,
          label="cat([(2, 1), (2, 3), (2, 1)], -1)")
    check(lambda lib, x: lib.cat([x, x * 2.0], 0) * 1.0, a, library=True, label="cat([x, 2x], 0)")
    check(lambda lib, x, y: lib.cat([x, y], 1), a.astype(np.float32), b, library=True,
          label="cat of float32 and float64")


def cat_of_ones(first: tuple[int, ...], second: tuple[int, ...], dim: int) -> tuple[int, ...]:
    """Program: the shape of cat([ones(first) requiring grad, ones(second)], dim)."""
    return tuple(mt.cat([mt.ones(*first, requires_grad=True), mt.ones(*second)], dim).shape)


def test_cat_of_mismatched_sizes_names_both_shapes() -> None:
    assert tuple(run(cat_of_ones, (2, 3), (3, 3), 0)) == (5, 3), "cat([(2, 3), (3, 3)], 0) must have shape (5, 3)"
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 3\)"):
        run(cat_of_ones, (2, 3), (3, 3), 1)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_matches_torch(dim: int) -> None:
    rng = np.random.default_rng(dim + 5)
    a, b, c = (rng.normal(size=(2, 3)) for _ in range(3))
    for dtype in DTYPES:
        check(lambda lib, x, y, z, d: lib.stack([x, y, z], d) * 1.0, a, b, c, library=True, params=[dim],
              dtype=dtype, label=f"stack of three (2, 3) along {dim}")


# ---------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------


def test_a_small_network_layer_by_layer() -> None:
    rng = np.random.default_rng(3)
    x, w1, b1, w2 = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4,)), rng.normal(size=(4, 2))

    def net(x: Any, w1: Any, b1: Any, w2: Any) -> Any:
        h = (x @ w1 + b1).relu()
        out = (h @ w2).tanh()
        return ((out - out.mean(0)) ** 2).sum(1).mean()

    for dtype in DTYPES:
        check(net, x, w1, b1, w2, dtype=dtype, label="relu/tanh network with a centred squared loss")


def test_a_tensor_used_many_times_accumulates_every_path() -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
    check(lambda v: v * v.exp() + v.sum(0) * v.T.mean(1) - v[0] / (v * v + 1.0), x,
             label="x * exp(x) + x.sum(0) * x.T.mean(1) - x[0] / (x^2 + 1)")


# ---------------------------------------------------------------------------------------------
# Autograd semantics, as torch: what raises, what accumulates
# ---------------------------------------------------------------------------------------------


# Each minitorch-dg step runs in ex05's worker (`run(program, ...)`); a tensor it returns stays there and comes
# back here as a reference to pass to the next step, and an exception it raises is raised here.


def _leaf(values: Any, requires_grad: bool) -> Any:
    """Program: a float64 leaf."""
    return mt.tensor(values, dtype=mt.float64, requires_grad=requires_grad)


def _backward(t: Any, *args: Any, **kwargs: Any) -> None:
    """Program: t.backward(...); an upstream gradient comes as an array."""
    t.backward(*[mt.tensor(a, dtype=t.dtype) for a in args], **kwargs)


def _grad(t: Any) -> Any:
    """Program: t.grad as an array, or None."""
    return None if t.grad is None else t.grad.to_numpy()


def _values(t: Any) -> Any:
    """Program: t's values as an array."""
    return t.to_numpy()


def _pair(values: Any, requires_grad: bool = True) -> tuple[Any, torch.Tensor]:
    """The same float64 leaf in ex05's worker (a reference) and in torch."""
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)
    return run(_leaf, values, requires_grad), theirs


def test_backward_of_a_non_scalar_needs_a_gradient() -> None:
    x, tx = _pair([1.0, 2.0, 3.0])
    y, ty = run(lambda x: x * 2.0, x), tx * 2.0
    with pytest.raises(RuntimeError):
        ty.backward()
    with pytest.raises(RuntimeError, match="scalar outputs") as error:
        run(_backward, y)
    assert "gradient" in str(error.value), f"the message should say how to fix it (pass a gradient): {error.value}"
    upstream = np.array([0.5, -1.0, 2.0])
    run(_backward, y, upstream)
    ty.backward(torch.tensor(upstream, dtype=torch.float64))
    assert_close(run(_grad, x), tx.grad, what="x.grad after y.backward(gradient)")


@pytest.mark.hint("Keep tensors for backward with ctx.save_for_backward (not ctx.a = a): only those are freed "
                  "after backward and checked for in-place changes.")
def test_a_second_backward_through_a_freed_graph_raises_and_retain_graph_allows_it() -> None:
    x, tx = _pair([1.0, -2.0, 0.5])
    loss, tloss = run(lambda x: (x * x).sum(), x), (tx * tx).sum()
    run(_backward, loss)
    tloss.backward()
    with pytest.raises(RuntimeError):
        tloss.backward()
    with pytest.raises(RuntimeError, match="second time") as error:
        run(_backward, loss)
    assert "retain_graph=True" in str(error.value), f"the message should say what to do: {error.value}"

    x, tx = _pair([1.0, -2.0, 0.5])
    loss, tloss = run(lambda x: (x * x.exp()).sum(), x), (tx * tx.exp()).sum()
    run(_backward, loss, retain_graph=True)
    tloss.backward(retain_graph=True)
    run(_backward, loss)
    tloss.backward()
    assert_close(run(_grad, x), tx.grad, what="x.grad after backward(retain_graph=True) then backward()")


def _scale_without_grad(t: Any, factor: float) -> None:
    """Program: t.mul_(factor) under no_grad (a parameter update between forward and backward)."""
    with mt.no_grad():
        t.mul_(factor)


@pytest.mark.hint("Keep tensors for backward with ctx.save_for_backward and read them with ctx.saved_tensors: "
                  "that is what detects in-place changes.")
def test_an_in_place_change_to_a_saved_tensor_raises_at_backward() -> None:
    x, tx = _pair([1.0, -2.0, 0.5])
    w, tw = _pair([3.0, 4.0, 5.0], requires_grad=False)
    loss, tloss = run(lambda x, w: (x * w).sum(), x, w), (tx * tw).sum()
    run(lambda w: w.add_(1.0), w)  # allowed: w does not require grad; but Mul saved it for backward
    tw.add_(1.0)
    with pytest.raises(RuntimeError):
        tloss.backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as error:
        run(_backward, loss)
    assert "out of place" in str(error.value) or "clone" in str(error.value), (
        f"the message should say what to do instead: {error.value}"
    )

    y, _ = _pair([0.5, 1.0, 2.0])
    loss = run(lambda y: (y * y).sum(), y)
    run(_scale_without_grad, y, 2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(_backward, loss)


def _integer_product_facts() -> dict[str, Any]:
    """Program: x (float32, requires grad) times an int64 tensor: the product's dtype and requires_grad, and
    x.grad after backward of its sum."""
    x = mt.tensor([0.5, 1.5], requires_grad=True)
    y = x * mt.tensor([2, 3])  # int * float -> float: the graph goes through x only
    y.sum().backward()
    return {"dtype": y.dtype.name, "requires_grad": y.requires_grad, "x.grad": x.grad.to_numpy()}


def test_integer_tensors_cannot_require_grad() -> None:
    n, tn = run(lambda: mt.arange(4) * 3 + 1), torch.arange(4) * 3 + 1
    dtype, requires_grad = run(lambda n: (n.dtype.name, n.requires_grad), n)
    assert dtype == "int64" and not requires_grad, (
        f"arange(4) * 3 + 1 must be int64 without grad, got dtype {dtype}, requires_grad={requires_grad}"
    )
    assert_close(run(_values, n), tn, what="arange(4) * 3 + 1")
    with pytest.raises(RuntimeError):
        tn.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point") as error:
        run(lambda n: n.requires_grad_(), n)
    assert ".float()" in str(error.value), f"the message should say what to do: {error.value}"
    with pytest.raises(RuntimeError, match="floating point"):
        run(lambda: mt.tensor([1, 2, 3], requires_grad=True))
    facts = run(_integer_product_facts)
    assert facts["dtype"] == "float32" and facts["requires_grad"], (
        f"a float32 tensor requiring grad times an int64 tensor is float32 and requires grad: {facts}"
    )
    assert_close(facts["x.grad"], [2.0, 3.0], what="d(sum(x * counts))/dx")


def _sgd_step(w: Any, lr: float) -> None:
    """Program: w -= lr * w.grad, in place, under no_grad."""
    with mt.no_grad():
        w.sub_(lr * w.grad)


def test_in_place_update_of_a_leaf_needs_no_grad() -> None:
    w, tw = _pair([0.5, -1.0, 2.0])
    loss, tloss = run(lambda w: (w * w * w).sum(), w), (tw * tw * tw).sum()
    run(_backward, loss)
    tloss.backward()
    with pytest.raises(RuntimeError):
        tw.sub_(0.1 * tw.grad)
    with pytest.raises(RuntimeError, match="leaf") as error:
        run(lambda w: w.sub_(0.1 * w.grad), w)
    assert "no_grad" in str(error.value), f"the message should say what to do: {error.value}"
    run(_sgd_step, w, 0.1)
    with torch.no_grad():
        tw.sub_(0.1 * tw.grad)
    assert_close(run(_values, w), tw.detach(), what="w after an SGD step under no_grad")
    assert run(lambda w: w.is_leaf and w.requires_grad, w), (
        "an in-place update under no_grad keeps w a leaf that requires grad"
    )


def test_retain_grad_keeps_the_gradient_of_a_non_leaf() -> None:
    x, tx = _pair([[0.5, -1.0], [2.0, 0.25]])
    w, tw = _pair([[1.0, 2.0], [-1.0, 0.5]])
    h, th = run(lambda x, w: x @ w, x, w), tx @ tw
    g, tg = run(lambda h: h.tanh(), h), th.tanh()
    run(lambda h: h.retain_grad(), h)
    th.retain_grad()
    run(lambda g: (g * g).sum().backward(), g)
    (tg * tg).sum().backward()
    assert run(lambda h: not h.is_leaf and h.retains_grad, h), (
        "h = x @ w is no leaf, and retains_grad after retain_grad()"
    )
    assert_close(run(_grad, h), th.grad, what="h.grad (retain_grad on h = x @ w)")
    assert run(_grad, g) is None, "a non-leaf without retain_grad() keeps no .grad (as torch)"
    assert_close(run(_grad, x), tx.grad, what="x.grad")
    assert_close(run(_grad, w), tw.grad, what="w.grad")


def test_gradients_accumulate_across_backward_calls_until_reset() -> None:
    x, tx = _pair([[0.5, -1.0, 2.0]])
    for k in (1.0, 2.0, 3.0):
        run(lambda x, k: (x * k).exp().sum().backward(), x, k)
        (tx * k).exp().sum().backward()
    assert_close(run(_grad, x), tx.grad, what="x.grad after three backward calls (they add up)")
    run(lambda x: setattr(x, "grad", None), x)
    tx.grad = None
    run(lambda x: (x.sigmoid() * x).sum().backward(), x)
    (tx.sigmoid() * tx).sum().backward()
    assert_close(run(_grad, x), tx.grad, what="x.grad after `x.grad = None` and one more backward")


def _made_under_no_grad(x: Any) -> tuple[bool, bool, bool]:
    """Program: (requires_grad, is_leaf, grad_fn is None) of x * 2 + 1 computed under no_grad."""
    with mt.no_grad():
        y = x * 2.0 + 1.0
    return y.requires_grad, y.is_leaf, y.grad_fn is None


def test_no_grad_and_detach_record_nothing() -> None:
    x, tx = _pair([0.5, -1.0, 2.0])
    requires_grad, is_leaf, no_grad_fn = run(_made_under_no_grad, x)
    assert not requires_grad and is_leaf and no_grad_fn, (
        f"results under no_grad record no graph: requires_grad={requires_grad}, is_leaf={is_leaf}, "
        f"grad_fn is None: {no_grad_fn}"
    )
    run(lambda x: (x.detach() * x).sum().backward(), x)
    (tx.detach() * tx).sum().backward()
    assert_close(run(_grad, x), tx.grad, what="d(sum(x.detach() * x))/dx (the detached factor is a constant)")


def _through_custom_square(values: Any, weights: Any) -> dict[str, Any]:
    """Program: a Function subclass Square (x -> x * x, backward 2 x grad) applied to a leaf of `values`; the
    output, its grad_fn's name, and the leaf's gradient of sum(y.sum(1) * weights)."""

    class Square(mt.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = mt.tensor(values, dtype=mt.float64, requires_grad=True)
    y = Square.apply(x)
    name = None if y.grad_fn is None else y.grad_fn.name
    (y.sum(1) * mt.tensor(weights, dtype=mt.float64)).sum().backward()
    return {"y": y.to_numpy(), "grad_fn": name, "x.grad": None if x.grad is None else x.grad.to_numpy()}


def test_custom_function_square_matches_torch() -> None:
    class TorchSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    values, weights = [[0.5, -1.0, 2.0], [1.0, 3.0, -0.25]], [1.0, -2.0]
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    ty = TorchSquare.apply(tx)
    (ty.sum(1) * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    got = run(_through_custom_square, values, weights)
    assert got["grad_fn"] == "SquareBackward", (
        f"Square.apply(x).grad_fn.name must be 'SquareBackward': {got['grad_fn']}"
    )
    assert_close(got["y"], ty.detach(), what="Square.apply(x)")
    assert got["x.grad"] is not None, "x.grad is None after backward through Square"
    assert_close(got["x.grad"], tx.grad, what="x.grad through Square")


def _backward_through_a_bias_that_forgets_to_unbroadcast() -> None:
    """Program: a Function whose backward returns b's gradient in x's shape (a mistake); backward of its sum."""

    class AddBias(mt.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, b: Any) -> Any:
            return x + b

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, Any]:
            return grad, grad  # b's gradient has x's shape: wrong

    x, b = mt.ones(3, 4, requires_grad=True), mt.ones(4, requires_grad=True)
    AddBias.apply(x, b).sum().backward()


def test_a_backward_that_forgets_to_unbroadcast_is_explained() -> None:
    with pytest.raises(ShapeError, match="unbroadcast"):
        run(_backward_through_a_bias_that_forgets_to_unbroadcast)
