"""ex06 public tests: your Numba kernels against torch, called directly and through the fast backend.

Parts 1 to 4 (map, zip, reduce, a blocked matmul of the student's design). The optional part (packing
and the micro-kernel) has its own file, test_ex06_fast_cpu_optional.py, and its own points.

Every kernel gets real views over numpy buffers: contiguous, permuted, stepped (every other element, the
storage starting inside its buffer), expanded (stride 0), 0-d, size-1 and sizes that are not a multiple of
a block or a tile; outputs may be views with gaps, and nothing outside an output view may change. The
expected values come from torch on the same memory. Parallel loops are also run as Python with a race
check (tests/support/parallel_races.py), so a race is caught on every run, not only when two threads
happen to collide.

ex06 runs in a worker process (grader/judge.py): each kernel runs there on copies of the storages, through a
program (tests/support/fast_kernel_programs.py) whose out storage the judge copies back into its own buffer
before comparing with torch here. The race checks run in the worker too, where the kernels are, and so do
the tensor expressions on the fast backend (`check_op(..., worker=ops, backend="fast")`).

The first run compiles your kernels (a minute or two); later runs load them from Numba's cache.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import fast_kernel_programs as kernels
from tests.support.compare import assert_close
from tests.support.fast_kernel_programs import run_kernel
from tests.support.parallel_races import races_reported, without_jit
from tests.support.strided_operands import KINDS, Operand, operand, output
from tests.support.tensor_oracle import check_op

ops = judge.exercise("ex06")  # the kernels run in a worker process (grader/judge.py, fast_kernel_programs.py)
rng = np.random.default_rng(6)
TORCH = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}


def draw(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> np.ndarray:
    return rng.uniform(low, high, size=shape)


def run_map(name: str, x: Operand, out: Operand, race_check: bool = False) -> None:
    """tensor_map(op_id(name)) of x expanded to out's shape, into out; with `race_check`, run as Python with its
    prange loops race-checked (tests/support/parallel_races.py)."""
    a = x.expand(out.shape)
    run_kernel(ops, kernels.map_kernel, out, a, before=[without_jit if race_check else None, name])


def run_zip(name: str, x: Operand, y: Operand, out: Operand, race_check: bool = False) -> None:
    """tensor_zip(op_id(name)) of x and y expanded to out's shape, into out (race-checked like run_map)."""
    a, b = x.expand(out.shape), y.expand(out.shape)
    run_kernel(ops, kernels.zip_kernel, out, a, b, before=[without_jit if race_check else None, name])


def run_reduce(name: str, x: Operand, dim: int, out: Operand, threads: int = 2, race_check: bool = False) -> None:
    """tensor_reduce(op_id(name)) of x along `dim` into out with n_threads=threads (race-checked like run_map)."""
    run_kernel(ops, kernels.reduce_kernel, out, x, before=[without_jit if race_check else None, name],
               after=[dim, threads])


def run_matmul(x: Operand, y: Operand, out: Operand) -> None:
    """tensor_matmul of x and y, their batch dims expanded to out's, into out."""
    batch = out.shape[:-2]
    a, b = x.expand(batch + x.shape[-2:]), y.expand(batch + y.shape[-2:])
    run_kernel(ops, kernels.matmul_kernel, out, a, b)


def check(out: Operand, expected: torch.Tensor, what: str, rtol: float | None = None,
          atol: float | None = None) -> None:
    assert_close(out.values(), expected.detach().double().numpy() if expected.dtype != torch.bool
                 else expected.numpy(), what=what, dtype=out.dtype, rtol=rtol, atol=atol)
    out.assert_untouched()


def matmul_atol(dtype: str, depth: int) -> float | None:
    """float32 sums of `depth` products of numbers up to 3 in size: allow their rounding, not more."""
    return 2e-6 * 9 * max(depth, 1) if dtype == "float32" else None


# ---------------------------------------------------------------------------------------------------
# Part 1: map
# ---------------------------------------------------------------------------------------------------


@pytest.mark.hint("The fast path: when out and a are contiguous with the same strides, loop i over range(size) "
                  "and write out[i] = unary(op, a[i]); never touch storage beyond `size`.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_map_contiguous(dtype: str) -> None:
    values = draw((5, 7))
    for name, fn in (("exp", torch.exp), ("relu", torch.relu)):
        x, out = operand(values, dtype), output((5, 7), dtype)
        run_map(name, x, out)
        check(out, fn(x.view), f"tensor_map({name!r}) of a contiguous {dtype} (5, 7)")


@pytest.mark.hint("Same shape is not enough for the flat loop: the strides of out and a must be equal too "
                  "(a transposed input has the same shape and different strides).")
def test_map_takes_the_flat_path_only_when_strides_match() -> None:
    values = draw((6, 6))
    x, out = operand(values, "float32", "permuted"), output((6, 6), "float32")
    run_map("exp", x, out)
    check(out, torch.exp(x.view), "tensor_map('exp') of a transposed (6, 6) input into a contiguous output")
    both = output((6, 6), "float32", "permuted")
    run_map("exp", x, both)
    check(both, torch.exp(x.view), "tensor_map('exp') of a transposed input into an equally transposed output")


@pytest.mark.hint("The general path: for each row of the innermost dim, find its start with position(), then step "
                  "by the innermost strides; a broadcast input has stride 0.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_map_strided_broadcast_0d_and_size_1(dtype: str) -> None:
    for shape in [(4, 5, 6), (3, 1, 7), (1,), (1, 1), (9, 2)]:
        for in_kind in KINDS:
            for out_kind in ("contiguous", "stepped"):
                x, out = operand(draw(shape), dtype, in_kind), output(shape, dtype, out_kind)
                run_map("exp", x, out)
                check(out, torch.exp(x.view), f"tensor_map('exp') of {x} into {out}")
    for small, big in [((5,), (3, 5)), ((3, 1), (3, 5)), ((), (2, 3)), ((1, 4), (2, 3, 4))]:
        x, out = operand(draw(small), dtype), output(big, dtype)
        run_map("exp", x, out)
        check(out, torch.exp(x.view).expand(big), f"tensor_map('exp') of {small} broadcast to {big}")
    scalar, out = operand(np.array(0.5), dtype), output((), dtype)
    run_map("exp", scalar, out)
    check(out, torch.exp(scalar.view), "tensor_map('exp') of a 0-d tensor")


@pytest.mark.hint("Rows longer than ROW_BLOCK are split into blocks: a block's start is start * stride, not start.")
def test_map_long_strided_rows_and_empty_tensors() -> None:
    for kind in ("stepped", "permuted", "contiguous"):
        x, out = operand(draw((3, 5003)), "float32", kind), output((3, 5003), "float32", "stepped")
        run_map("relu", x, out)
        check(out, torch.relu(x.view), f"tensor_map('relu') of {x}")
    x, out = operand(np.zeros((0, 4)), "float32"), output((0, 4), "float32")
    run_map("relu", x, out)
    out.assert_untouched()


@pytest.mark.hint("The 'id' op copies and converts: out[i] = unary(op, a[i]) stores a[i] in out's dtype.")
def test_map_converts_between_dtypes() -> None:
    values = np.array([[-2.5, 0.0, 1.0], [3.75, -0.0, 7.0]])
    for src, dst in [("float64", "float32"), ("float32", "int64"), ("int64", "bool"), ("bool", "float64")]:
        x, out = operand(values, src, "permuted"), output((2, 3), dst)
        run_map("id", x, out)
        check(out, x.view.to(TORCH[dst]), f"tensor_map('id') from {src} to {dst}")


# ---------------------------------------------------------------------------------------------------
# Part 2: zip
# ---------------------------------------------------------------------------------------------------


@pytest.mark.hint("Both inputs arrive expanded to out's shape: a broadcast input has stride 0 along the dims it is "
                  "repeated over. The flat path needs all three strides equal.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_zip_with_broadcasting(dtype: str) -> None:
    cases = [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 5), (4, 1)), ((4, 1), (1, 5)), ((2, 3, 4), (3, 1)),
             ((), (3, 4)), ((1,), (7,)), ((3, 2100), (3, 1)), ((2, 1), (2, 2100))]
    for shape_a, shape_b in cases:
        big = tuple(torch.broadcast_shapes(shape_a, shape_b))
        for kind in KINDS:
            x, y = operand(draw(shape_a), dtype, kind), operand(draw(shape_b), dtype)
            out = output(big, dtype, "stepped" if kind == "permuted" else "contiguous")
            run_zip("add", x, y, out)
            check(out, x.view + y.view, f"tensor_zip('add') of {x} and {y} into {out}")


@pytest.mark.hint("A comparison writes bools; mixed input dtypes are promoted when the element function runs.")
def test_zip_comparisons_and_mixed_dtypes() -> None:
    a, b = rng.integers(-3, 4, size=(4, 6)).astype(np.float64), rng.integers(-3, 4, size=(6,)).astype(np.float64)
    x, y, out = operand(a, "float32", "permuted"), operand(b, "float32"), output((4, 6), "bool")
    run_zip("lt", x, y, out)
    check(out, x.view < y.view, "tensor_zip('lt') into a bool output")
    ints, floats, out = operand(a, "int64"), operand(draw((6,)), "float32"), output((4, 6), "float32")
    run_zip("mul", ints, floats, out)
    check(out, ints.view * floats.view, "tensor_zip('mul') of int64 and float32 into float32")


# ---------------------------------------------------------------------------------------------------
# Part 3: reduce
# ---------------------------------------------------------------------------------------------------


def reduced(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    return tuple(1 if d == dim else s for d, s in enumerate(shape))


TORCH_REDUCE = {"sum": lambda v, d: v.sum(d, keepdim=True), "max": lambda v, d: v.amax(d, keepdim=True),
                "prod": lambda v, d: v.prod(d, keepdim=True)}


@pytest.mark.hint("Fold along `dim` from identity(op, ...): the kinds of work are a contiguous run per output "
                  "(along), whole rows into a block of outputs (across) and a strided fold (strided).")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reduce_over_each_dim_and_layout(dtype: str) -> None:
    for shape in [(3, 5), (2, 3, 4), (1, 6), (7, 1), (300, 257)]:
        for kind in KINDS:
            x = operand(draw(shape, 0.5, 1.5), dtype, kind)
            for dim in range(len(shape)):
                for name in ("sum", "max"):
                    out = output(reduced(shape, dim), dtype)
                    run_reduce(name, x, dim, out)
                    check(out, TORCH_REDUCE[name](x.view, dim), f"tensor_reduce({name!r}) of {x} over dim {dim}",
                          rtol=1e-4 if dtype == "float32" else None)


@pytest.mark.hint("Start from identity(op, out[...]) (the dtype's own value), never from 0.0; max must let NaN "
                  "through (fastmath=True would assume there is none).")
def test_reduce_identities_and_nan() -> None:
    x = operand(-draw((4, 9), 1.0, 2.0), "float64", "permuted")
    out = output((4, 1), "float64")
    run_reduce("max", x, 1, out)
    check(out, x.view.amax(1, keepdim=True), "max of negative numbers (a start of 0 would win)")
    out = output((1, 9), "float64")
    run_reduce("prod", x, 0, out)
    check(out, x.view.prod(0, keepdim=True), "prod over dim 0 (a start of 0 gives 0)")
    values = draw((3, 40))
    values[1, 17] = np.nan
    y = operand(values, "float32")
    for dim in (0, 1):
        out = output(reduced((3, 40), dim), "float32")
        run_reduce("max", y, dim, out)
        check(out, y.view.amax(dim, keepdim=True), f"max with a NaN, over dim {dim}")


@pytest.mark.hint("Few outputs and a long dim: cut the dim into n_threads chunks, each folding into its own slot "
                  "of a partial array, and fold the partials after the parallel loop.")
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_reduce_long_dims_into_few_outputs(threads: int) -> None:
    length = int(ops.run_program(kernels.split_min)) + 1001
    for kind in ("contiguous", "stepped"):
        x = operand(draw((length,)), "float64", kind)
        out = output((1,), "float64")
        run_reduce("sum", x, 0, out, threads)
        check(out, x.view.sum(0, keepdim=True), f"sum of {length} elements ({kind}) with n_threads={threads}")
    two = operand(draw((2, length)), "float32", "permuted")
    out = output((2, 1), "float32")
    run_reduce("max", two, 1, out, 4)
    check(out, two.view.amax(1, keepdim=True), "max of two long permuted rows with n_threads=4")


@pytest.mark.hint("No two iterations of a prange loop may write the same element: every chunk of a split "
                  "reduction gets its own slot; an output element is written by one iteration only.")
def test_parallel_reductions_never_share_an_accumulator() -> None:
    length = int(ops.run_program(kernels.split_min)) + 517
    cases = [((length,), 0, 4), ((2, length), 1, 4), ((9, 300), 0, 2), ((9, 300), 1, 2), ((40, 7), 0, 2)]
    for shape, dim, threads in cases:
        for name in ("sum", "max"):
            x, out = operand(draw(shape, 0.5, 1.5), "float64", "contiguous"), output(reduced(shape, dim), "float64")
            with races_reported(f"tensor_reduce({name!r}) over dim {dim} of {shape} with n_threads={threads}"):
                run_reduce(name, x, dim, out, threads, race_check=True)
            check(out, TORCH_REDUCE[name](x.view, dim), f"tensor_reduce({name!r}) run as Python")


@pytest.mark.hint("Each parallel work item of map and zip writes its own block of out: blocks must not overlap.")
def test_map_and_zip_work_items_never_overlap() -> None:
    x = operand(draw((3, 2500)), "float64", "stepped")
    y = operand(draw((2500,)), "float64")
    out = output((3, 2500), "float64")
    with races_reported():
        run_map("exp", x, out, race_check=True)
        check(out, torch.exp(x.view), "tensor_map run as Python")
        out = output((3, 2500), "float64")
        run_zip("add", x, y, out, race_check=True)
        check(out, x.view + y.view, "tensor_zip run as Python")


# ---------------------------------------------------------------------------------------------------
# Part 4: matmul
# ---------------------------------------------------------------------------------------------------

MATMUL_CASES = [((1, 1), (1, 1)), ((3, 5), (5, 7)), ((65, 130), (130, 67)), ((5, 1100), (1100, 3)),
                ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((4, 9, 70), (4, 70, 130)), ((41, 300), (300, 33)),
                ((3, 0), (0, 4)), ((0, 3), (3, 4))]
# (a, b, out) layouts: ("contiguous", "permuted", ...) is a Linear layer's x @ Wᵀ, a row of a and a column of b
# each contiguous along k
MATMUL_LAYOUTS = [("contiguous", "contiguous", "contiguous"), ("contiguous", "permuted", "contiguous"),
                  ("permuted", "stepped", "stepped"), ("stepped", "permuted", "permuted")]


@pytest.mark.hint("Every element of out is sum_k a[i, k] * b[k, j] through the three tensors' own strides (a "
                  "transposed or stepped operand is common); the last block of rows is shorter; k == 0 gives zeros.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_shapes_and_layouts(dtype: str) -> None:
    for shape_a, shape_b in MATMUL_CASES:
        batch = tuple(torch.broadcast_shapes(shape_a[:-2], shape_b[:-2]))
        out_shape = batch + (shape_a[-2], shape_b[-1])
        for kind_a, kind_b, kind_out in MATMUL_LAYOUTS:
            if 0 in shape_a + shape_b and (kind_a, kind_b) != ("contiguous", "contiguous"):
                continue
            x, y = operand(draw(shape_a), dtype, kind_a), operand(draw(shape_b), dtype, kind_b)
            out = output(out_shape, dtype, kind_out)
            run_matmul(x, y, out)
            check(out, x.view.double() @ y.view.double(), f"tensor_matmul {x} @ {y} into {out}",
                  rtol=2e-4 if dtype == "float32" else None, atol=matmul_atol(dtype, shape_a[-1]))


@pytest.mark.hint("Batched products: each product reads its own batch offset of a, b and out (stride 0 for a "
                  "broadcast batch dim); a large product splits its rows across threads.")
def test_matmul_batched_and_large() -> None:
    x, y = operand(draw((32, 128, 128)), "float32"), operand(draw((32, 128, 128)), "float32", "permuted")
    out = output((32, 128, 128), "float32")
    run_matmul(x, y, out)
    check(out, x.view.double() @ y.view.double(), "a batch of 32 products of 128 x 128", rtol=2e-4,
          atol=matmul_atol("float32", 128))
    x, y = operand(draw((300, 520)), "float64", "permuted"), operand(draw((520, 260)), "float64")
    out = output((300, 260), "float64")
    run_matmul(x, y, out)
    check(out, x.view @ y.view, "one (300 x 520) @ (520 x 260) product")


# ---------------------------------------------------------------------------------------------------
# Through the fast backend
# ---------------------------------------------------------------------------------------------------


@pytest.mark.hint("The fast backend calls your kernels for every tensor op: a failure here with the direct tests "
                  "passing points at a layout the direct tests do not cover.")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tensor_expressions_on_the_fast_backend(dtype: str) -> None:
    x, w, b = draw((6, 5)), draw((5, 4)), draw((4,))
    check_op(lambda x, w, b: (x @ w + b).relu().sum(1), x, w, b, dtype=dtype, layouts=[(1, 0), None, None],
             worker=ops, backend="fast")
    check_op(lambda x: (x.exp() * 2 - x).amax(0), x, dtype=dtype, layouts=[(1, 0)], worker=ops, backend="fast")
    check_op(lambda x, y: (x / y).mean(), draw((3, 100_000)), draw((100_000,), 1.0, 2.0), dtype=dtype,
             rtol=1e-4 if dtype == "float32" else None, worker=ops, backend="fast")


@pytest.mark.hint("Large inputs run on several threads: every element must still be written exactly once.")
def test_large_inputs_on_all_threads() -> None:
    values = draw((400, 600))
    x = operand(values, "float32", "permuted")
    out = output((400, 600), "float32")
    run_map("exp", x, out)
    check(out, torch.exp(x.view), "tensor_map('exp') of 240000 permuted elements")
    y = operand(draw((600,)), "float32")
    out = output((400, 600), "float32")
    run_zip("add", operand(values, "float32"), y, out)
    check(out, torch.from_numpy(values.astype(np.float32)) + y.view, "tensor_zip('add') of 240000 elements")

