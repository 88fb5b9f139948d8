"""The fast backend (ex06's Numba kernels, here the reference solution) against torch and the simple backend.

* every op of kernels.py through the Tensor API on the fast backend, values and gradients vs torch, on
  contiguous, permuted, broadcast, 0-d and size-1 inputs, and on sizes that are not a multiple of a
  tile or a block (so every path of every kernel runs);
* the simple backend's results for every element op, reduction and dtype (float32, float64, int64,
  bool), including torch's values at the edges of the domain;
* sizes large enough for the parallel paths (split reductions, row blocks, matmul work items);
* the backend's own plumbing: availability, layouts, thread choice.

Compile time: the first run compiles each kernel it meets (Numba, cached on disk afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import backends
from minitorch_dg import kernels as K
from minitorch_dg.elementwise import BINARY_OPS, REDUCE_OPS, UNARY_OPS
from minitorch_dg.fast import PARALLEL_MIN, layout
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

rng = np.random.default_rng(2024)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def fast() -> Iterator[None]:
    backend = backends.get("fast")
    assert backend.is_available(), "the fast backend is not available: is ex06 served from solutions/?"
    with mt.use_backend("fast"):
        yield


def uniform(shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, size=shape)


def away_from_zero(shape: tuple[int, ...], low: float = 0.3, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# (shape, permutation) pairs: contiguous, permuted, 0-d, size-1, and sizes off every block
LAYOUTS = [((3, 5), None), ((3, 5), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((), None), ((1,), None), ((1, 7, 1), None),
           ((67, 131), (1, 0)), ((2, 2100), None)]

UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[tuple[int, ...]], np.ndarray]]] = {
    "neg": (lambda x: -x, uniform),
    "exp": (lambda x: x.exp(), uniform),
    "log": (lambda x: x.log(), lambda s: uniform(s, 0.1, 4.0)),
    "sigmoid": (lambda x: x.sigmoid(), lambda s: uniform(s, -6, 6)),
    "relu": (lambda x: x.relu(), away_from_zero),
    "tanh": (lambda x: x.tanh(), lambda s: uniform(s, -4, 4)),
    "reciprocal": (lambda x: x.reciprocal(), away_from_zero),
    "abs": (lambda x: x.abs(), away_from_zero),
    "sqrt": (lambda x: x.sqrt(), lambda s: uniform(s, 0.1, 4.0)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_ops_values_and_gradients(name: str, dtype: str) -> None:
    fn, draw = UNARY[name]
    for shape, order in LAYOUTS:
        check_op(fn, draw(shape), dtype=dtype, layouts=[order], label=f"{name} of shape {shape}, layout {order}")


BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[tuple[int, ...]], np.ndarray]]] = {
    "add": (lambda x, y: x + y, uniform),
    "sub": (lambda x, y: x - y, uniform),
    "mul": (lambda x, y: x * y, uniform),
    "div": (lambda x, y: x / y, away_from_zero),
    "maximum": (lambda x, y: x.maximum(y), uniform),
    "minimum": (lambda x, y: x.minimum(y), uniform),
}
PAIRS = [((3, 4), (3, 4), None, None), ((3, 4), (4,), (1, 0), None), ((3, 4), (3, 1), None, None),
         ((2, 1, 4), (3, 1), (2, 1, 0), None), ((), (3, 4), None, (1, 0)), ((3, 4), (), None, None),
         ((1,), (5,), None, None), ((70, 65), (65,), (1, 0), None), ((70, 1), (1, 2100), None, None),
         ((5, 2100), (5, 1), None, None)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_ops_with_broadcasting(name: str, dtype: str) -> None:
    fn, draw = BINARY[name]
    for shape_a, shape_b, order_a, order_b in PAIRS:
        check_op(fn, uniform(shape_a), draw(shape_b), dtype=dtype, layouts=[order_a, order_b],
                 label=f"{name} of {shape_a} (layout {order_a}) and {shape_b} (layout {order_b})")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_powers_and_compositions(dtype: str) -> None:
    x = uniform((4, 6), 0.2, 3.0)
    check_op(lambda t: t ** 2, x, dtype=dtype, layouts=[(1, 0)])
    check_op(lambda t: t ** 2.5, x, dtype=dtype)
    check_op(lambda t: t ** -1.5, x, dtype=dtype)
    w, b = uniform((6, 3)), uniform((3,))
    check_op(lambda t, u, v: ((t @ u + v).tanh() * 2 - (t @ u).sigmoid()).sum(), x, w, b, dtype=dtype)


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_comparisons_give_bool(name: str) -> None:
    ops = {"lt": lambda x, y: x < y, "le": lambda x, y: x <= y, "gt": lambda x, y: x > y,
           "ge": lambda x, y: x >= y, "eq": lambda x, y: x == y, "ne": lambda x, y: x != y}
    a = rng.integers(-2, 3, size=(4, 5)).astype(np.float64)
    b = rng.integers(-2, 3, size=(5,)).astype(np.float64)
    for dtype in ("float32", "float64"):
        check_op(ops[name], a, b, dtype=dtype, grad=False, layouts=[(1, 0), None])
    check_op(ops[name], a.astype(np.int64), b.astype(np.int64), grad=False)


REDUCTIONS: dict[str, Callable[..., Any]] = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "max values": lambda x, d, k: x.max(d, keepdim=k)[0],
    "min values": lambda x, d, k: x.min(d, keepdim=k)[0],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions_over_each_dim(name: str, dtype: str) -> None:
    fn = REDUCTIONS[name]
    for shape, order in [((3, 5), None), ((3, 5), (1, 0)), ((2, 3, 4), (1, 2, 0)), ((1, 6, 1), None),
                         ((300, 257), (1, 0)), ((3, 2100), None)]:
        for dim in range(len(shape)):
            for keepdim in (False, True):
                check_op(lambda x: fn(x, dim, keepdim), uniform(shape), dtype=dtype, layouts=[order],
                         label=f"{name}(dim={dim}, keepdim={keepdim}) of {shape}, layout {order}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_reductions_and_long_dims(dtype: str) -> None:
    check_op(lambda x: x.sum(), uniform(()), dtype=dtype)
    check_op(lambda x: x.sum(), uniform((7, 9)), dtype=dtype, layouts=[(1, 0)])
    check_op(lambda x: x.mean(), uniform((100_003,)), dtype=dtype, rtol=1e-4 if dtype == "float32" else None)
    check_op(lambda x: x.amax(), uniform((50_001,)), dtype=dtype)
    check_op(lambda x: x.sum(0), uniform((40_000, 2)), dtype=dtype, layouts=[(1, 0)],
             rtol=1e-4 if dtype == "float32" else None)
    check_op(lambda x: x.prod(1), uniform((3, 40), 0.9, 1.1), dtype=dtype, layouts=[(1, 0)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_shapes_layouts_and_gradients(dtype: str) -> None:
    cases = [((3, 4), (4, 5), None, None), ((1, 1), (1, 1), None, None), ((65, 130), (130, 67), (1, 0), None),
             ((130, 70), (70, 1), None, (1, 0)), ((2, 3, 4), (4, 5), (0, 2, 1), None),
             ((2, 1, 3, 4), (5, 4, 6), None, (0, 2, 1)), ((4, 600), (600, 3), None, None),
             ((5, 70, 9), (5, 9, 66), None, None)]
    for shape_a, shape_b, order_a, order_b in cases:
        check_op(lambda x, y: x @ y, uniform(shape_a), uniform(shape_b), dtype=dtype, layouts=[order_a, order_b],
                 label=f"{shape_a} @ {shape_b}, layouts {order_a} and {order_b}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_of_a_batch_by_a_matrix_is_one_product_of_rows(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """(..., n, k) @ (k, m) runs as one (R, k) @ (k, m) product when the leading dims continue the rows
    (a view of R rows exists); otherwise as a batch. Both agree with torch, values and gradients."""
    shapes = []
    backend_matmul = mt.backends.cpu().matmul

    def recording(a: Any, b: Any, out: Any) -> None:
        shapes.append((a.shape, out.shape))
        backend_matmul(a, b, out)

    monkeypatch.setattr(mt.backends.cpu(), "matmul", recording)
    cases = [((4, 6, 5), None, True), ((2, 3, 4, 5), None, True), ((4, 1, 5), None, True),
             ((4, 6, 5), (1, 0, 2), False), ((3, 6, 5), (0, 2, 1), False), ((0, 3, 5), None, True)]
    for shape, order, folded in cases:
        shapes.clear()
        check_op(lambda x, y: x @ y, uniform(shape), uniform((shape[-1], 7)), dtype=dtype, layouts=[order, None],
                 label=f"{shape} @ matrix, layout {order}")
        forward = shapes[0]
        assert (len(forward[0]) == 2) == folded, f"{shape}, layout {order}: the backend got {forward}"
    x = mt.tensor(uniform((5, 4, 3)), dtype=dtype)[1:]  # a slice of rows: still one product
    shapes.clear()
    K.matmul(x, mt.tensor(uniform((3, 2)), dtype=dtype))
    assert shapes == [((16, 3), (16, 2))], shapes


def test_matmul_of_integers_and_empty_products() -> None:
    a = rng.integers(-5, 6, size=(7, 9))
    b = rng.integers(-5, 6, size=(9, 66))
    check_op(lambda x, y: x @ y, a, b, grad=False)
    for dtype in ("float32", "float64"):
        check_op(lambda x, y: x @ y, np.zeros((3, 0)), np.zeros((0, 4)), dtype=dtype, grad=False)
        check_op(lambda x, y: x @ y, np.zeros((0, 3)), np.zeros((3, 4)), dtype=dtype, grad=False)


def test_integer_and_bool_tensors() -> None:
    ints = rng.integers(-4, 5, size=(6, 7))
    bools = rng.integers(0, 2, size=(6, 7)).astype(bool)
    check_op(lambda x: x.sum(1), ints, grad=False, layouts=[(1, 0)])
    check_op(lambda x: x.sum(), bools, grad=False)
    check_op(lambda x: x.amax(0), bools, grad=False)
    check_op(lambda x: x.abs() * 3 - x, ints, grad=False)
    check_op(lambda x: (x > 0).logical_not(), ints, grad=False)
    check_op(lambda x, y: x * y + x, ints, ints[0], grad=False)
    check_op(lambda x: x.exp(), ints, grad=False)  # an integer tensor's exp is float32, as in torch
    check_op(lambda x: x / 3, ints, grad=False)


def test_casts_and_copies_between_all_dtypes() -> None:
    values = np.array([[-2.5, 0.0, 1.0], [3.75, -0.0, 7.0]])
    for src in ("float32", "float64", "int64", "bool"):
        for dst in (mt.float32, mt.float64, mt.int64, mt.bool):
            data = values.astype({"float32": np.float32, "float64": np.float64, "int64": np.int64,
                                  "bool": np.bool_}[src])
            ours = mt.tensor(data).t().to(dst)
            theirs = torch.tensor(data).t().to(getattr(torch, dst.name))
            assert ours.dtype is dst
            assert ours.is_contiguous() or dst.name == src, f"{src} -> {dst.name} is a fresh contiguous copy"
            assert_close(ours.to_numpy(), theirs.double().numpy(), what=f"{src} -> {dst.name}")
    x = mt.tensor(rng.normal(size=(4, 5))).permute(1, 0)
    assert_close(x.contiguous().to_numpy(), x.to_numpy(), what="contiguous() of a permuted tensor")


def test_edges_of_the_domain_match_torch() -> None:
    edge = np.array([0.0, -0.0, 1.0, -1.0, 100.0, -1000.0, 800.0, np.inf, -np.inf, np.nan])
    for dtype in ("float32", "float64"):
        for fn in (lambda x: x.exp(), lambda x: x.log(), lambda x: x.sqrt(), lambda x: x.reciprocal(),
                   lambda x: x.sigmoid(), lambda x: x.tanh(), lambda x: x.abs(), lambda x: -x):
            check_op(fn, edge, dtype=dtype, grad=False)
        check_op(lambda x, y: x / y, edge, edge[::-1].copy(), dtype=dtype, grad=False)
        # K.zip's maximum / minimum directly: Tensor.maximum is built on where(), which is mask * a +
        # (1 - mask) * b in tensor_functions.py and so gives nan for infinite inputs on every backend.
        a, b = mt.tensor(edge, dtype=DTYPES[dtype]), mt.tensor(edge[::-1].copy(), dtype=DTYPES[dtype])
        ta, tb = torch.tensor(edge, dtype=getattr(torch, dtype)), torch.tensor(edge[::-1].copy(), dtype=getattr(torch, dtype))
        assert_close(K.zip("maximum", a, b).to_numpy(), torch.maximum(ta, tb).numpy(), what=f"maximum, {dtype}")
        assert_close(K.zip("minimum", a, b).to_numpy(), torch.minimum(ta, tb).numpy(), what=f"minimum, {dtype}")
        check_op(lambda x: x.amax(), edge, dtype=dtype, grad=False)
        check_op(lambda x: x.sum(), edge[:-1], dtype=dtype, grad=False)


# ---------------------------------------------------------------------------------------------------
# The simple backend's results, op by op and dtype by dtype
# ---------------------------------------------------------------------------------------------------

DTYPES = {"float32": mt.float32, "float64": mt.float64, "int64": mt.int64, "bool": mt.bool}


def _sample(dtype: str, shape: tuple[int, ...]) -> mt.Tensor:
    if dtype == "bool":
        return mt.tensor(rng.integers(0, 2, size=shape).astype(bool))
    if dtype == "int64":
        return mt.tensor(rng.integers(-3, 4, size=shape).astype(np.int64))
    values = rng.uniform(-3, 3, size=shape)
    values.reshape(-1)[0] = 0.0  # exercise 1/0, log(0) and friends
    return mt.tensor(values, dtype=DTYPES[dtype])


def _both(run: Callable[[], mt.Tensor]) -> tuple[mt.Tensor, mt.Tensor]:
    with mt.use_backend("simple"):
        slow = run()
    with mt.use_backend("fast"):
        quick = run()
    return slow, quick


def _same(slow: mt.Tensor, quick: mt.Tensor, what: str) -> None:
    assert slow.dtype is quick.dtype, f"{what}: dtype {quick.dtype} on fast, {slow.dtype} on simple"
    assert tuple(slow.shape) == tuple(quick.shape), f"{what}: shape {tuple(quick.shape)} vs {tuple(slow.shape)}"
    s, q = slow.to_numpy(), quick.to_numpy()
    if s.dtype.kind in "biu":
        mismatch = np.argwhere(s != q)
        assert not len(mismatch), f"{what}: at {tuple(mismatch[0])} fast gives {q[tuple(mismatch[0])]}, simple " \
                                  f"{s[tuple(mismatch[0])]}"
        return
    rtol = 4e-7 if s.dtype == np.float32 else 1e-14
    assert_close(q, s, what=what, rtol=rtol, atol=0.0)


# Where the simple backend itself raises (ex01's neg, sigmoid and minimum use `-x`, which numpy refuses
# for bools, as torch refuses `-` on bool tensors) there is no result to reproduce.
SIMPLE_RAISES = {("neg", "bool"), ("sigmoid", "bool"), ("sub", "bool"), ("minimum", "bool"), ("min", "bool")}
MAP_CASES = [(op, dtype) for op in UNARY_OPS for dtype in DTYPES if (op, dtype) not in SIMPLE_RAISES]


@pytest.mark.parametrize(("op", "dtype"), MAP_CASES)
def test_every_map_op_reproduces_the_simple_backend(op: str, dtype: str) -> None:
    a = _sample(dtype, (3, 4))
    slow, quick = _both(lambda: K.map(op, a))
    _same(slow, quick, f"K.map({op!r}) of {dtype}")
    strided = a.t()
    slow, quick = _both(lambda: K.map(op, strided))
    _same(slow, quick, f"K.map({op!r}) of a transposed {dtype} tensor")


_BACKWARD_HELPERS = ("relu_back", "log_back", "inv_back", "sigmoid_back", "tanh_back")


# The backward helpers only ever see float gradients (an integer result of 1/0 has no value to agree on).
ZIP_CASES = [(op, dtype) for op in BINARY_OPS for dtype in DTYPES
             if not (op in _BACKWARD_HELPERS and dtype in ("int64", "bool")) and (op, dtype) not in SIMPLE_RAISES]


@pytest.mark.parametrize(("op", "dtype"), ZIP_CASES)
def test_every_zip_op_reproduces_the_simple_backend(op: str, dtype: str) -> None:
    a, b = _sample(dtype, (3, 4)), _sample(dtype, (3, 4))
    if op == "pow" and dtype != "bool":
        b = b.abs() if dtype == "int64" else b
        a = a.abs() + 1 if dtype == "int64" else a.abs()
    slow, quick = _both(lambda: K.zip(op, a, b))
    _same(slow, quick, f"K.zip({op!r}) of {dtype}")
    column = _sample(dtype, (3, 1))
    if op == "pow" and dtype == "int64":
        column = column.abs()  # numpy refuses integers to negative integer powers
    slow, quick = _both(lambda: K.zip(op, a.t(), column.t()))
    _same(slow, quick, f"K.zip({op!r}) of a transposed {dtype} tensor and a broadcast row")


def test_zip_with_mixed_dtypes_reproduces_the_simple_backend() -> None:
    for first, second in [("int64", "float32"), ("bool", "float64"), ("float32", "float64"), ("bool", "int64")]:
        a, b = _sample(first, (3, 4)), _sample(second, (4,))
        for op in ("add", "mul", "maximum", "lt", "div"):
            slow, quick = _both(lambda: K.zip(op, a, b))
            _same(slow, quick, f"K.zip({op!r}) of {first} and {second}")


IN_PLACE = {"add_": lambda x, y: x.add_(y), "sub_": lambda x, y: x.sub_(y), "mul_": lambda x, y: x.mul_(y),
            "div_": lambda x, y: x.div_(y)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("method", list(IN_PLACE))
def test_in_place_ops_on_every_layout_match_torch(method: str, dtype: str) -> None:
    """x.add_(y) and friends hand ex06's zip kernel out and a as one array (the reference then loops over it
    under one name): a whole tensor, a view with an offset, a transposed view, size-1 dims, and for two of
    the cases a parallel size (parallel kernels are slow to compile); y a tensor of x's layout, a broadcast
    row, one value, a Python number. Every result matches torch's."""
    targets = {"contiguous": ((5, 7), lambda t: t), "offset view": ((6, 7), lambda t: t[1:]),
               "transposed": ((7, 5), lambda t: t.t()), "size-1 dims": ((1, 5, 1, 7), lambda t: t)}
    if (method, dtype) in (("add_", "float32"), ("mul_", "float64")):  # the parallel loops, compiled twice only
        targets["parallel size"] = ((PARALLEL_MIN // 64 + 3, 64), lambda t: t)
    for where, (shape, view) in targets.items():
        base = away_from_zero(shape)
        shown = tuple(view(torch.tensor(base)).shape)
        operands = {"same shape": away_from_zero(shown), "a row": away_from_zero(shown[-1:]),
                    "one value": away_from_zero(()), "a number": 1.75}
        for kind, operand in operands.items():
            ours, theirs = mt.tensor(base, dtype=DTYPES[dtype]), torch.tensor(base, dtype=getattr(torch, dtype))
            ours_y = operand if kind == "a number" else mt.tensor(operand, dtype=DTYPES[dtype])
            theirs_y = operand if kind == "a number" else torch.tensor(operand, dtype=getattr(torch, dtype))
            returned = IN_PLACE[method](view(ours), ours_y)
            IN_PLACE[method](view(theirs), theirs_y)
            what = f"{dtype} x.{method}(y) on {where} x with y {kind}"
            assert_close(ours.to_numpy(), theirs.numpy(), what=f"{what}: the whole tensor afterwards", dtype=dtype)
            assert_close(returned.to_numpy(), view(theirs).numpy(), what=f"{what}: the returned view", dtype=dtype)


@pytest.mark.parametrize(("op", "dtype"),
                         [(op, dtype) for op in REDUCE_OPS for dtype in DTYPES if (op, dtype) not in SIMPLE_RAISES])
def test_every_reduction_reproduces_the_simple_backend(op: str, dtype: str) -> None:
    a = _sample(dtype, (4, 5, 3))
    if op == "prod" and dtype.startswith("float"):
        a = a / 2
    for dim in range(3):
        for source in (a, a.permute(2, 0, 1)):
            slow, quick = _both(lambda: K.reduce(op, source, dim))
            _same(slow, quick, f"K.reduce({op!r}, dim={dim}) of {dtype} with strides {source.stride()}")


# ---------------------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------------------


def test_layouts_are_simplified_before_a_kernel_runs() -> None:
    assert layout.coalesce((4, 5, 6), [(30, 6, 1), (30, 6, 1)]) == ((120,), [(1,), (1,)])
    assert layout.coalesce((4, 6), [(6, 1), (0, 1)]) == ((4, 6), [(6, 1), (0, 1)])
    assert layout.coalesce((4, 1, 6), [(6, 6, 1), (1, 1, 4)]) == ((4, 6), [(6, 1), (1, 4)])
    assert layout.coalesce((3, 1), [(1, 1)]) == ((3,), [(1,)])
    assert layout.coalesce((), [()]) == ((), [()])
    assert layout.coalesce((2, 0, 3), [(0, 3, 1)]) == ((0,), [(1,)])
    assert layout.expand_strides((5, 1), (1, 1), (2, 5, 3)) == (0, 1, 0)
    assert layout.coalesce_around((2, 3, 4, 5), [(60, 20, 5, 1), (20, 20, 5, 1)], 1) == \
        ((2, 3, 20), [(60, 20, 1), (20, 20, 1)], 1)


def test_writing_into_views_and_from_broadcasts() -> None:
    target = mt.zeros(4, 6)
    target[1:3, ::2] = mt.tensor([1.0, 2.0, 3.0])
    expected = torch.zeros(4, 6)
    expected[1:3, ::2] = torch.tensor([1.0, 2.0, 3.0])
    assert_close(target.to_numpy(), expected.numpy(), what="a broadcast row written into a strided view")


def test_availability_follows_the_source_in_force() -> None:
    """The reference ex06 makes "fast" the default CPU backend; the untouched stub leaves "simple"."""
    backend = backends.get("fast")
    with mt.course.using("solutions"), mt.use_backend(None):
        assert backend.is_available() and backends.cpu_backend_name() == "fast"
    with mt.course.using("solutions,ex06=exercises"), mt.use_backend(None):
        assert not backend.is_available(), "the untouched ex06 stub was reported as an implemented fast backend"
        assert backends.cpu_backend_name() == "simple"
        with pytest.raises(mt.NotImplementedYet):
            with mt.use_backend("fast"):
                mt.ones(3) + 1


def test_small_work_runs_on_one_thread_and_large_on_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    backend = backends.get("fast")
    seen: list[int] = []
    original = backend._call

    def spy(name: str, threads: int, kernel: Any, *args: Any) -> None:
        seen.append(threads)
        original(name, threads, kernel, *args)

    monkeypatch.setattr(backend, "_call", spy)
    (mt.ones(10) + 1).sum()
    small = list(seen)
    seen.clear()
    large = 2 * PARALLEL_MIN
    (mt.ones(large) + 1).sum()
    assert small and all(t == 1 for t in small), f"a 10-element op ran on {small} threads"
    assert seen and all(t == numba.get_num_threads() for t in seen), f"a {large}-element op ran on {seen} threads"
    assert numba.get_num_threads() >= 1


def test_debug_mode_turns_an_out_of_bounds_read_into_an_index_error(tmp_path: Any) -> None:
    """MTDG_DEBUG=1: a kernel that reads one element past its input raises IndexError naming the index, instead
    of reading someone else's memory (here: the reference with a deliberate off-by-one in its flat map)."""
    solution = open(os.path.join(ROOT, "solutions", "ex06_fast_cpu.py"), encoding="utf-8").read()
    bug = "            flat_out[i] = unary(op, flat_a[i])\n"
    assert solution.count(bug) == 1
    buggy = tmp_path / "ex06_off_by_one.py"
    buggy.write_text(solution.replace(bug, "            flat_out[i] = unary(op, flat_a[i + 1])\n"), encoding="utf-8")
    script = textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {ROOT!r})
        import minitorch_dg as mt
        spec = importlib.util.spec_from_file_location("ex06_off_by_one", {str(buggy)!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["ex06_off_by_one"] = module
        spec.loader.exec_module(module)
        mt.course.install("ex06", module, "off by one")
        with mt.use_backend("fast"):
            try:
                mt.arange(6, dtype=mt.float32).exp()
            except IndexError as error:
                print("IndexError:", error)
    """)
    env = dict(os.environ, MTDG_SOURCE="solutions", MTDG_CACHE=str(tmp_path / "cache"), MTDG_DEBUG="1")
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "IndexError: tensor_map('exp'): index 6 is out of bounds for axis 0 with size 6" in done.stdout, \
        done.stdout[-2000:] + done.stderr[-2000:]


def test_kernels_compiled_against_other_framework_code_are_forgotten(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Any) -> None:
    """A new cache folder is stamped; a changed stamp deletes the exercises' kernels (only those) once: ex06's,
    and ex11's, which inline the framework's vectorised math."""
    from minitorch_dg.fast import caching

    monkeypatch.setenv("MTDG_CACHE", str(tmp_path))
    folder = caching.cache_folder()
    assert caching.forget_stale_kernels(1) == 0 and (folder / caching.STAMP_FILE).read_text() == "1"
    (folder / "index").mkdir()
    for name in ("ex06_fast_cpu.tensor_map-72.py311.nbi", "ex06_fast_cpu.tensor_map-72.py311.1.nbc",
                 "ex11_recurrent.lstm_gates-40.py311.nbi", "other.nbi"):
        (folder / "index" / name).write_text("kernel")
    assert caching.forget_stale_kernels(1) == 0, "the same stamp must keep every kernel"
    assert caching.forget_stale_kernels(2) == 3
    assert sorted(p.name for p in (folder / "index").iterdir()) == ["other.nbi"]
    assert (folder / caching.STAMP_FILE).read_text() == "2"
    assert caching.forget_stale_kernels(2) == 0
