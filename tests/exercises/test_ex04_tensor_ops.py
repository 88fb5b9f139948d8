"""ex04 public tests: the four kernels on strided numpy storages, and tensor expressions on the simple backend.

Each kernel gets real views: contiguous, permuted, sliced with steps (the view starts inside its buffer),
or expanded (stride 0), and writes into an `out` that may be permuted or sliced too. The expected values
come from torch on the very same memory (`torch.from_numpy` + the same view), and the part of `out`'s
buffer outside the view must stay untouched (it is filled with NaN).

ex04 runs in a worker process (grader/judge.py): each kernel runs there on copies of the storages, through a
program (tests/support/kernel_programs.py) that returns the out storage it wrote; the judge copies it back
into its own buffer and compares with torch. The tensor expressions run there too (`check_op(worker=ops)`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import judge
from tests.support import kernel_programs as kernels
from tests.support.compare import assert_close
from tests.support.strided_views import Shape, Strided, run_in_worker
from tests.support.tensor_oracle import check_op
from tests.support.tensor_strategies import arrays, broadcast_pairs, shapes

ops = judge.exercise("ex04")  # the kernels run in a worker process (grader/judge.py, kernel_programs.py)

INPUT_KINDS = ("contiguous", "permuted", "stepped", "expanded")
OUTPUT_KINDS = ("contiguous", "permuted", "stepped")


# ---------------------------------------------------------------------------------------------
# Strided operands: a torch view and the (storage, shape, strides) a kernel receives for it
# ---------------------------------------------------------------------------------------------


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return tuple(inv)


def make_strided(values: np.ndarray, kind: str, order: tuple[int, ...] | None = None) -> Strided:
    """A view holding `values` laid out as `kind`: contiguous, permuted (by `order`), or stepped (every other slot)."""
    values = np.asarray(values, dtype=np.float64)
    shape = values.shape
    if kind == "permuted" and values.ndim >= 2:
        order = order or tuple(reversed(range(values.ndim)))
        base = np.ascontiguousarray(values.transpose(order))
        return Strided(kind, torch.from_numpy(base).permute(_inverse(order)), base)
    if kind == "stepped":
        base = np.full(tuple(2 * s + 1 for s in shape), np.nan)
        key = tuple(slice(1, 1 + 2 * s, 2) for s in shape)
        base[key] = values
        return Strided(kind, torch.from_numpy(base)[key], base)
    base = values.copy()
    return Strided("contiguous", torch.from_numpy(base), base)


def make_expanded(small: np.ndarray, shape: Shape) -> Strided:
    """`small` (size-1 dims, fewer dims) expanded to `shape`: stride 0 on every stretched dim."""
    base = np.array(small, dtype=np.float64, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    return Strided("expanded", torch.from_numpy(base).expand(shape), base)


def make_out(shape: Shape, kind: str, order: tuple[int, ...] | None = None) -> Strided:
    return make_strided(np.full(shape, np.nan), kind, order)


@st.composite
def kernel_inputs(draw: st.DrawFn, shape: Shape, kinds: tuple[str, ...] = INPUT_KINDS) -> Strided:
    kind = draw(st.sampled_from(kinds), label="layout")
    if kind == "expanded":
        small = tuple(1 if draw(st.booleans()) else s for s in shape)
        small = small[draw(st.integers(0, len(small))):]
        return make_expanded(draw(arrays(small)), shape)
    order = tuple(draw(st.permutations(list(range(len(shape)))))) if kind == "permuted" and len(shape) >= 2 else None
    return make_strided(draw(arrays(shape)), kind, order)


@st.composite
def kernel_outputs(draw: st.DrawFn, shape: Shape) -> Strided:
    kind = draw(st.sampled_from(OUTPUT_KINDS), label="out layout")
    order = tuple(draw(st.permutations(list(range(len(shape)))))) if kind == "permuted" and len(shape) >= 2 else None
    return make_out(shape, kind, order)


@st.composite
def smaller_shapes(draw: st.DrawFn, shape: Shape) -> Shape:
    """A shape that broadcasts to `shape`: some dims set to 1, some leading dims dropped."""
    small = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else s for s in shape)
    return small[draw(st.integers(0, len(small))):] if draw(st.booleans()) else small


def describe(**operands: Strided) -> dict[str, str]:
    return {name: repr(s) for name, s in operands.items()}


def check_out(out: Strided, expected: torch.Tensor, what: str, **operands: Strided) -> None:
    """out's view equals `expected` (torch), and no slot of out's buffer outside the view was written."""
    inputs = describe(out=out, **operands)
    assert_close(out.view, expected.expand(out.shape), what=what, inputs=inputs)
    written = int(np.count_nonzero(~np.isnan(out.base)))
    numel = math.prod(out.shape)
    assert written == numel, (
        f"{what}: {written} slots of out's storage were written, but the view {out!r} has {numel} elements: "
        f"write at index_to_position(out_index, out_strides){'; ' + str(inputs)}"
    )


# Scalar functions and their torch twins. Asymmetric on purpose: swapping a and b gives other numbers.
def cubic(x: float) -> float:
    return x * x * x - 2.0 * x + 0.5


def torch_cubic(t: torch.Tensor) -> torch.Tensor:
    return t * t * t - 2.0 * t + 0.5


def mix(x: float, y: float) -> float:
    return x * y + 2.0 * x - y


def torch_mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a * b + 2.0 * a - b


def run_map(out: Strided, a: Strided) -> None:
    run_in_worker(ops, kernels.map_kernel, out, a, before=[cubic])


def run_zip(out: Strided, a: Strided, b: Strided) -> None:
    run_in_worker(ops, kernels.zip_kernel, out, a, b, before=[mix])


# ---------------------------------------------------------------------------------------------
# tensor_map
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Write each result at index_to_position(out_index, out_strides) and read the input through its own strides.")
@given(shapes(min_dims=0, max_dims=4), st.data())
def test_map_matches_torch_on_strided_views(out_shape: Shape, data: st.DataObject) -> None:
    a = data.draw(kernel_inputs(out_shape), label="a")
    out = data.draw(kernel_outputs(out_shape), label="out")
    run_map(out, a)
    check_out(out, torch_cubic(a.view), "tensor_map(cubic)", a=a)


@pytest.mark.hint("tensor_map broadcasts its input to out_shape: read in[broadcast_index(out_index, out_shape, in_shape)].")
@given(shapes(min_dims=0, max_dims=4), st.data())
def test_map_broadcasts_a_smaller_input(out_shape: Shape, data: st.DataObject) -> None:
    in_shape = data.draw(smaller_shapes(out_shape), label="in_shape")
    a = data.draw(kernel_inputs(in_shape), label="a")
    out = data.draw(kernel_outputs(out_shape), label="out")
    run_map(out, a)
    check_out(out, torch_cubic(a.view), f"tensor_map(cubic) of a {in_shape} input into a {out_shape} out", a=a)


@pytest.mark.parametrize("a, out", [
    pytest.param(lambda: make_strided(np.array(1.5), "contiguous"), lambda: make_out((), "contiguous"), id="0-d"),
    pytest.param(lambda: make_strided(np.array([[1.0], [2.0], [-3.0]]), "contiguous"),
                 lambda: make_out((3, 4), "permuted"), id="(3,1)-into-transposed-(3,4)"),
    pytest.param(lambda: make_expanded(np.array([[0.5, -1.0, 2.0]]), (4, 3)),
                 lambda: make_out((4, 3), "stepped"), id="stride-0-into-stepped"),
    pytest.param(lambda: make_strided(np.arange(6.0).reshape(2, 3), "permuted"),
                 lambda: make_out((2, 3), "stepped"), id="transposed-into-stepped"),
    pytest.param(lambda: make_strided(np.array(2.0), "contiguous"), lambda: make_out((2, 1, 3), "stepped"),
                 id="0-d-into-(2,1,3)"),
])
def test_map_edge_cases(a: Callable[[], Strided], out: Callable[[], Strided]) -> None:
    a_, out_ = a(), out()
    run_map(out_, a_)
    check_out(out_, torch_cubic(a_.view), "tensor_map(cubic)", a=a_)


# ---------------------------------------------------------------------------------------------
# tensor_zip
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Broadcast BOTH inputs: a and b each get broadcast_index(out_index, out_shape, their_shape).")
@given(broadcast_pairs(), st.data())
@example(((3, 1), (4,)), None)
@example(((2, 3), ()), None)
@example(((), (1, 3)), None)
def test_zip_matches_torch_with_broadcasting(pair: tuple[Shape, Shape], data: st.DataObject | None) -> None:
    a_shape, b_shape = pair
    out_shape = tuple(torch.broadcast_shapes(a_shape, b_shape))
    if data is None:  # an explicit example: fixed values, b stepped, out transposed
        a = make_strided(np.linspace(-1.0, 2.0, math.prod(a_shape)).reshape(a_shape), "contiguous")
        b = make_strided(np.linspace(3.0, -2.0, math.prod(b_shape)).reshape(b_shape), "stepped")
        out = make_out(out_shape, "permuted")
    else:
        a = data.draw(kernel_inputs(a_shape), label="a")
        b = data.draw(kernel_inputs(b_shape), label="b")
        out = data.draw(kernel_outputs(out_shape), label="out")
    run_zip(out, a, b)
    check_out(out, torch_mix(a.view, b.view), f"tensor_zip(mix) of {a_shape} and {b_shape}", a=a, b=b)


@given(shapes(min_dims=1, max_dims=4), st.data())
def test_zip_of_same_shape_views(shape: Shape, data: st.DataObject) -> None:
    a = data.draw(kernel_inputs(shape), label="a")
    b = data.draw(kernel_inputs(shape), label="b")
    out = data.draw(kernel_outputs(shape), label="out")
    run_zip(out, a, b)
    check_out(out, torch_mix(a.view, b.view), "tensor_zip(mix)", a=a, b=b)


# ---------------------------------------------------------------------------------------------
# tensor_reduce
# ---------------------------------------------------------------------------------------------


def torch_decay(t: torch.Tensor, dim: int, start: float) -> torch.Tensor:
    """The fold acc -> 0.5 * acc + x from `start`: 0.5^n start + sum_j 0.5^(n-1-j) x_j (order matters)."""
    n = t.shape[dim]
    weights = 0.5 ** torch.arange(n - 1, -1, -1, dtype=torch.float64)
    shape = [1] * t.dim()
    shape[dim] = n
    return (t * weights.reshape(shape)).sum(dim, keepdim=True) + start * 0.5**n


FOLDS: dict[str, tuple[Callable[[float, float], float], float, Callable[[torch.Tensor, int], torch.Tensor]]] = {
    "sum": (lambda acc, x: acc + x, 0.0, lambda t, d: t.sum(d, keepdim=True)),
    "sum from 10": (lambda acc, x: acc + x, 10.0, lambda t, d: t.sum(d, keepdim=True) + 10.0),
    "prod": (lambda acc, x: acc * x, 1.0, lambda t, d: t.prod(d, keepdim=True)),
    "max": (lambda acc, x: x if x > acc else acc, -math.inf, lambda t, d: t.amax(d, keepdim=True)),
    "0.5 * acc + x from 1": (lambda acc, x: 0.5 * acc + x, 1.0, lambda t, d: torch_decay(t, d, 1.0)),
}


def run_reduce(fold: str, out: Strided, a: Strided, dim: int) -> None:
    fn, start, _ = FOLDS[fold]
    run_in_worker(ops, kernels.reduce_kernel, out, a, before=[fn, start], after=[dim])


def check_reduce(fold: str, a: Strided, dim: int, out_kind: str) -> None:
    out_shape = tuple(1 if d == dim else s for d, s in enumerate(a.shape))
    out = make_out(out_shape, out_kind)
    run_reduce(fold, out, a, dim)
    check_out(out, FOLDS[fold][2](a.view, dim), f"tensor_reduce({fold}) along dim {dim} of {a.shape}", a=a)


@pytest.mark.hint("Start at `start`, walk j over a_shape[dim], and set entry `dim` of the out index to j.")
@pytest.mark.parametrize("fold", list(FOLDS))
@given(shapes(min_dims=1, max_dims=4), st.data())
def test_reduce_along_every_dim_matches_torch(fold: str, shape: Shape, data: st.DataObject) -> None:
    a = data.draw(kernel_inputs(shape), label="a")
    out_kind = data.draw(st.sampled_from(OUTPUT_KINDS), label="out layout")
    for dim in range(len(shape)):
        check_reduce(fold, a, dim, out_kind)


@pytest.mark.hint("A size-1 dim folds one element with start: out = fn(start, a[...]).")
@pytest.mark.parametrize("fold", ["sum from 10", "0.5 * acc + x from 1", "prod"])
@pytest.mark.parametrize("shape, dim", [((3, 1, 2), 1), ((1,), 0), ((1, 4), 0), ((2, 3, 1), 2)])
def test_reduce_over_a_size_one_dim(fold: str, shape: Shape, dim: int) -> None:
    a = make_strided(np.linspace(-1.5, 2.5, math.prod(shape)).reshape(shape), "stepped")
    check_reduce(fold, a, dim, "contiguous")


@pytest.mark.parametrize("fold", list(FOLDS))
def test_reduce_of_a_transposed_expanded_input(fold: str) -> None:
    a = make_expanded(np.array([[1.0, -2.0, 0.5, 3.0]]), (3, 4))
    for dim in (0, 1):
        check_reduce(fold, a, dim, "permuted")
    b = make_strided(np.arange(1.0, 13.0).reshape(3, 4) / 4.0, "permuted")
    for dim in (0, 1):
        check_reduce(fold, b, dim, "stepped")


# ---------------------------------------------------------------------------------------------
# tensor_matmul
# ---------------------------------------------------------------------------------------------


def run_matmul(out: Strided, a: Strided, b: Strided) -> None:
    run_in_worker(ops, kernels.matmul_kernel, out, a, b)


def check_matmul(a: Strided, b: Strided, out_kind: str) -> None:
    expected = torch.matmul(a.view, b.view)
    out = make_out(tuple(expected.shape), out_kind)
    run_matmul(out, a, b)
    check_out(out, expected, f"tensor_matmul of {a.shape} and {b.shape}", a=a, b=b)


def values(shape: Shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape)


@pytest.mark.hint("Map out's batch index into a's and b's batch dims with broadcast_index; then append (i, k) / (k, j).")
@pytest.mark.parametrize("a_shape, b_shape", [
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3, 2, 4), (4, 3)),
    ((2, 3), (4, 3, 2)),
    ((1, 3, 2), (4, 2, 2)),
    ((2, 1, 2, 3), (1, 3, 3, 2)),
])
@pytest.mark.parametrize("layouts", [("contiguous", "contiguous", "contiguous"), ("permuted", "stepped", "permuted"),
                                     ("stepped", "permuted", "stepped")])
def test_matmul_with_broadcast_batch_dims(a_shape: Shape, b_shape: Shape, layouts: tuple[str, str, str]) -> None:
    a = make_strided(values(a_shape, 1), layouts[0])
    b = make_strided(values(b_shape, 2), layouts[1])
    check_matmul(a, b, layouts[2])


def test_matmul_of_a_transposed_operand_and_a_stride_0_batch() -> None:
    a = make_expanded(values((1, 2, 3), 3), (4, 2, 3))  # the same matrix in every batch: stride 0
    b = make_strided(values((4, 2, 3), 4), "contiguous")
    bt = Strided("transposed", b.view.transpose(-1, -2), b.base)  # (4, 3, 2) with strides (6, 1, 3)
    check_matmul(a, bt, "permuted")


@given(broadcast_pairs(max_dims=2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_matmul_matches_torch(batch: tuple[Shape, Shape], n: int, k: int, m: int, data: st.DataObject) -> None:
    a = data.draw(kernel_inputs(batch[0] + (n, k)), label="a")
    b = data.draw(kernel_inputs(batch[1] + (k, m)), label="b")
    check_matmul(a, b, data.draw(st.sampled_from(OUTPUT_KINDS), label="out layout"))


# ---------------------------------------------------------------------------------------------
# The same kernels behind the Tensor API, on the simple backend (values and gradients vs torch)
# ---------------------------------------------------------------------------------------------

rng = np.random.default_rng(4)
TENSOR_CASES = {
    "x + y, (3, 1) and (4,)": (lambda x, y: x + y, [rng.normal(size=(3, 1)), rng.normal(size=(4,))], None),
    "x * y - x, transposed x": (lambda x, y: x * y - x, [rng.normal(size=(2, 3)), rng.normal(size=(2, 3))],
                                [(1, 0), None]),
    "(x - y).relu().exp()": (lambda x, y: (x - y).relu().exp(), [rng.normal(size=(2, 1, 3)), rng.normal(size=(4, 1))],
                             None),
    "x.sum(1)": (lambda x: x.sum(1), [rng.normal(size=(2, 3, 4))], [(2, 0, 1)]),
    "x.sum(0) of (1, 3)": (lambda x: x.sum(0), [rng.normal(size=(1, 3))], None),
    "x.amax(-1)": (lambda x: x.amax(-1), [rng.normal(size=(3, 4))], [(1, 0)]),
    "x.sum() of a 0-d x": (lambda x: (x * 3.0).sum(), [np.array(1.25)], None),
    "x @ y, batched": (lambda x, y: x @ y, [rng.normal(size=(2, 1, 3, 4)), rng.normal(size=(5, 4, 2))],
                       [(0, 1, 3, 2), (2, 1, 0)]),
    "x @ y.T": (lambda x, y: x @ y.T, [rng.normal(size=(3, 4)), rng.normal(size=(2, 4))], None),
    "x.expand(4, 3).contiguous()": (lambda x: x.expand(4, 3).contiguous() * 2.0, [rng.normal(size=(1, 3))], None),
    "x[:, ::2] * 2": (lambda x: x[:, ::2] * 2.0, [rng.normal(size=(3, 5))], None),
}


@pytest.mark.hint("The Tensor API runs your kernels on the framework's own views: get the strided kernels right first.")
@pytest.mark.parametrize("case", list(TENSOR_CASES))
def test_tensor_expressions_on_the_simple_backend(case: str) -> None:
    fn, arrays_, layouts = TENSOR_CASES[case]
    check_op(fn, *arrays_, dtype="float64", layouts=layouts, label=case, worker=ops, backend="simple")


def _assign_into_a_slice(y: np.ndarray) -> np.ndarray:
    """Program: zeros(3, 4) with x[:, 1:] = y, on the simple backend."""
    with mt.use_backend("simple"):  # type: ignore[name-defined]  # noqa: F821
        x = mt.zeros(3, 4, dtype=mt.float64)  # type: ignore[name-defined]  # noqa: F821
        x[:, 1:] = mt.tensor(y, dtype="float64")  # type: ignore[name-defined]  # noqa: F821
        return x.to_numpy()


def test_assigning_into_a_view_writes_through_its_strides() -> None:
    t = torch.zeros(3, 4, dtype=torch.float64)
    y = np.array([[1.0, 2.0, 3.0]])
    t[:, 1:] = torch.tensor(y)
    assert_close(ops.run_program(_assign_into_a_slice, y), t,
                 what="x[:, 1:] = y (a (1, 3) y broadcast into a sliced view)")
