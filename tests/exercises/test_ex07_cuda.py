"""ex07 public tests: the CUDA kernels under cuda tensors, against torch on the same values.

Every test runs on a GPU when there is one, else in numba's CUDA simulator under the strict schedule of
grader/cuda_schedule.py: the threads of a block run one at a time in thread order, shared memory is NaN
before every block, and a barrier that only some threads reach is an error. So a missing
`cuda.syncthreads()` fails these tests every time, not once in a while. Shapes are small (matrices up to
32 x 32, maps of about 2,000 elements, reductions of a few hundred), because the simulator runs every GPU
thread as Python.

ex07 runs in a worker process (grader/judge.py), which runs its kernels under that schedule: the cuda
tensors are made there from the test's arrays and the results come back as numpy arrays
(tests/support/cuda_programs.py: `cuda.map(op, values)`, `cuda.run(lambda K, x: ..., values)`, and the
kernels launched directly with a grid of the test's choice); torch computes the expected values here. The
`schedule` fixture reads the worker's log of kernel launches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import judge
from minitorch_dg.backends import cuda as cuda_env
from tests.support.compare import assert_close
from tests.support.cuda_programs import Cuda, LaunchLog
from tests.support.tensor_oracle import check_op
from tests.support.tensor_strategies import arrays, broadcast_pairs, permutations_of

ops = judge.exercise("ex07")  # the kernels run in a worker process, under the strict schedule
cuda = Cuda(ops)

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/exercises/test_ex07_cuda.py"))


@pytest.fixture
def schedule() -> LaunchLog:
    """The kernel launches of this test, as the worker's schedule logged them (on a GPU too)."""
    return LaunchLog(ops)


RNG = np.random.default_rng(7)

# ---------------------------------------------------------------------------------------------
# map
# ---------------------------------------------------------------------------------------------

UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "id": lambda x: x.clone(),
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "inv": torch.reciprocal,
    "abs": torch.abs,
    "sqrt": torch.sqrt,
    "logical_not": torch.logical_not,
}
EDGES = np.array([-1000.0, -700.0, -3.5, -1.0, -0.0, 0.0, 0.25, 1.0, 2.0, 700.0, 1000.0, np.nan])


@pytest.mark.hint("broadcast_position with in_shape == out_shape is the position of element i itself.")
@pytest.mark.parametrize("op", list(UNARY))
def test_tensor_map_each_unary_op_with_torchs_edges(op: str) -> None:
    values = np.concatenate([EDGES, RNG.uniform(-3, 3, size=12)]).reshape(4, 6)
    got = cuda.map(op, values)
    expected = UNARY[op](torch.tensor(values))
    assert got.device == "cuda"
    assert_close(got.values, expected, what=f"K.map({op!r}) on cuda", inputs={"x": values})


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_tensor_map_other_dtypes(dtype: str) -> None:
    values = RNG.integers(-5, 6, size=(3, 5)) if dtype != "bool" else RNG.integers(0, 2, size=(3, 5)).astype(bool)
    x = values.astype(dtype)  # a cuda tensor of this dtype in the worker
    t = torch.tensor(values, dtype=getattr(torch, dtype))
    if dtype == "bool":
        assert_close(cuda.map("logical_not", x).values, torch.logical_not(t), what="logical_not of bool")
        assert_close(cuda.run(lambda K, x: x.to("float64"), x).values, t.double(),
                     what="bool -> float64 (map 'id' into a float out)")
        return
    assert_close(cuda.run(lambda K, x: -x, x).values, -t, what=f"-x of {dtype}")
    assert_close(cuda.run(lambda K, x: x.abs(), x).values, t.abs(), what=f"abs of {dtype}")
    got = cuda.run(lambda K, x: x.exp(), x)
    assert got.dtype == ("float32" if dtype == "int64" else dtype)
    assert_close(got.values, torch.exp(t.double()), what=f"exp of {dtype}", dtype="float32")


def test_tensor_map_broadcast_position_of_views() -> None:
    """Permuted, stepped and offset inputs; a permuted and a stepped out inside a NaN buffer; broadcasting."""
    base = RNG.uniform(-2, 2, size=(2, 3, 4))
    t = torch.tensor(base)
    assert_close(cuda.run(lambda K, x: K.map("exp", x.permute(2, 0, 1)), base).values, t.permute(2, 0, 1).exp(),
                 what="exp of a permuted view")
    assert_close(cuda.run(lambda K, x: K.map("neg", x[1, :, 1::2]), base).values, -t[1, :, 1::2],
                 what="neg of x[1, :, 1::2]")

    def copy_into_a_view(K, x, out):  # out: a NaN buffer
        K.map("id", x[:, :, 0].t(), out=out[1:4:1, 0:4:2])
        return out

    want = np.full((5, 6), np.nan)
    want[1:4, 0:4:2] = base[:, :, 0].T
    assert_close(cuda.run(copy_into_a_view, base, np.full((5, 6), np.nan)).values, want,
                 what="copy into out[1:4, 0:4:2] (the rest of out must stay NaN)")

    def broadcast_into_a_permuted_out(K, small, buffer):  # buffer: NaN, (4, 2, 3)
        wide = buffer.permute(1, 2, 0)  # (2, 3, 4), not contiguous
        K.map("neg", small, out=wide)
        return wide

    small = np.array([[1.0], [2.0], [3.0]])
    assert_close(cuda.run(broadcast_into_a_permuted_out, small, np.full((4, 2, 3), np.nan)).values,
                 -np.broadcast_to(small, (2, 3, 4)), what="(3, 1) broadcast into a permuted (2, 3, 4) out")


@pytest.mark.hint("Loop `for i in range(cuda.grid(1), size, cuda.gridsize(1))`: the grid may be smaller than out.")
def test_map_kernel_grid_stride_loop_covers_more_elements_than_threads() -> None:
    values = RNG.uniform(-1, 1, size=(5, 100))
    assert_close(cuda.map("neg", values).values, -values, what="neg through tensor_map")
    assert_close(cuda.map_kernel(3, 32, "neg", values), -values,
                 what="map_kernel[3 blocks, 32 threads] over 500 elements")


@pytest.mark.hint("Contiguous operands of out's shape: map_contiguous_kernel / zip_contiguous_kernel, with out[i] = op(a[i]).")
def test_contiguous_operands_take_the_kernels_without_index_arithmetic(schedule: LaunchLog) -> None:
    values = RNG.uniform(-1, 1, size=(6, 50))
    other = RNG.uniform(-1, 1, size=(6, 50))
    cases = [
        ("map_contiguous_kernel", lambda K, x, y: K.map("exp", x), np.exp(values), "exp of a contiguous (6, 50)"),
        ("zip_contiguous_kernel", lambda K, x, y: K.zip("mul", x, y), values * other, "contiguous (6, 50) * (6, 50)"),
        ("map_kernel", lambda K, x, y: K.map("neg", x.t()), -values.T, "neg of a transposed view"),
        ("zip_kernel", lambda K, x, y: K.zip("add", x, y[:1]), values + other[:1], "(6, 50) + (1, 50): broadcasting"),
        ("zip_kernel", lambda K, x, y: K.zip("sub", x[:, ::2], y[:, 1::2]), values[:, ::2] - other[:, 1::2],
         "stepped views of the same shape"),
    ]
    for kernel, run, expected, what in cases:
        first = len(schedule.launches)
        got = cuda.run(run, values, other)
        assert_close(got.values, expected, what=what)
        names = [launch.kernel for launch in schedule.launches[first:]]
        assert names == [kernel], f"{what}: launched {names}, expected one {kernel}"


@pytest.mark.hint("map_contiguous_kernel / zip_contiguous_kernel need the grid-stride loop too.")
def test_contiguous_kernels_grid_stride_loop_covers_more_elements_than_threads() -> None:
    values, other = RNG.uniform(-1, 1, size=500), RNG.uniform(-1, 1, size=500)
    assert_close(cuda.map_contiguous_kernel(3, 32, "neg", values), -values,
                 what="map_contiguous_kernel[3 blocks, 32 threads] over 500 elements")
    assert_close(cuda.zip_contiguous_kernel(2, 64, "sub", values, other), values - other,
                 what="zip_contiguous_kernel[2 blocks, 64 threads] over 500 elements")


@pytest.mark.hint("Launch THREADS_PER_BLOCK (256) threads per block: one warp per block leaves a GPU idle.")
def test_tensor_map_launches_full_blocks(schedule: LaunchLog) -> None:
    values = RNG.uniform(-1, 1, size=2000)
    first = len(schedule.launches)
    got = cuda.map("tanh", values)
    assert_close(got.values, np.tanh(values), what="tanh of 2000 elements")
    launches = schedule.launches[first:]
    assert launches, "tensor_map launched no kernel"
    threads = launches[-1].block[0] * launches[-1].block[1] * launches[-1].block[2]
    blocks = launches[-1].grid[0] * launches[-1].grid[1] * launches[-1].grid[2]
    assert threads >= 128 and threads % 32 == 0, (
        f"map_kernel was launched with {threads} threads per block; use 128-512 (a multiple of the warp size 32)"
    )
    assert blocks * threads >= 2000, f"{blocks} blocks of {threads} threads for 2000 elements: some threads do 2+"


@pytest.mark.hint("Pass the op code to one kernel; do not build a kernel (a closure) per op.")
def test_one_compiled_kernel_serves_every_op(schedule: LaunchLog) -> None:
    x = RNG.uniform(0.5, 2, size=(3, 3))
    assert_close(cuda.map("log", x).values, np.log(x), what="log")
    for kind, names in (("map", ("exp", "log", "neg")), ("zip", ("add", "mul", "lt"))):
        first = len(schedule.launches)
        for op in names:
            cuda.map(op, x) if kind == "map" else cuda.zip(op, x, x)
        functions = {launch.function for launch in schedule.launches[first:]}  # a number per kernel function
        assert len(functions) == 1, (
            f"{len(functions)} different kernel functions ran for the {kind} ops {names}: on a GPU each one is "
            "compiled separately. Pass the op code as an argument to a single module-level kernel."
        )


# ---------------------------------------------------------------------------------------------
# zip
# ---------------------------------------------------------------------------------------------

BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum,
    "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge, "eq": torch.eq, "ne": torch.ne,
    "relu_back": lambda a, d: d * (a > 0),
    "log_back": lambda a, d: d / a,
    "inv_back": lambda a, d: -d / (a * a),
    "sigmoid_back": lambda s, d: d * s * (1 - s),
    "tanh_back": lambda t, d: d * (1 - t * t),
}


def _zip_operands(op: str) -> tuple[np.ndarray, np.ndarray]:
    a = RNG.uniform(-3, 3, size=(3, 1, 4))
    b = RNG.uniform(-3, 3, size=(2, 1))
    if op == "pow":
        a = np.abs(a) + 0.5
    a[0, 0, :2] = [0.0, -1.0]
    b[0, 0] = 0.0
    if op in ("eq", "ne", "le", "ge"):
        b[1, 0] = a[1, 0, 1]
    return a, b


@pytest.mark.hint("Broadcast each input to out's shape with its own shape and strides.")
@pytest.mark.parametrize("op", list(BINARY))
def test_tensor_zip_each_binary_op_with_broadcasting(op: str) -> None:
    a, b = _zip_operands(op)
    got = cuda.zip(op, a, b)
    expected = BINARY[op](torch.tensor(a), torch.tensor(b))
    assert got.shape == tuple(expected.shape)
    assert_close(got.values, expected, what=f"K.zip({op!r}) on cuda, (3, 1, 4) with (2, 1)",
                 inputs={"a": a, "b": b})


def test_tensor_zip_edges_dtypes_and_views() -> None:
    a = np.array([1.0, -1.0, 0.0, -8.0, 0.0, 2.0])
    b = np.array([0.0, 0.0, 0.0, 0.5, -1.0, 1100.0])
    ta, tb = torch.tensor(a), torch.tensor(b)
    assert_close(cuda.zip("div", a, b).values, ta / tb, what="division by zero")
    assert_close(cuda.zip("pow", a, b).values, torch.pow(ta, tb), what="pow edges")
    i = np.arange(6).reshape(2, 3)  # int64
    f = np.linspace(-1, 1, 3).astype(np.float32)
    got = cuda.run(lambda K, i, f: i * f, i, f)
    assert got.dtype == "float32"
    assert_close(got.values, torch.arange(6).reshape(2, 3) * torch.linspace(-1, 1, 3), what="int64 * float32",
                 dtype="float32")
    base = RNG.uniform(-1, 1, size=(4, 6))
    assert_close(cuda.run(lambda K, x: x[:, ::2] + x.t()[1::2, :].t(), base).values, base[:, ::2] + base.T[1::2, :].T,
                 what="sum of two stepped views")


@settings(max_examples=5)
@given(st.data())
def test_tensor_zip_hypothesis_broadcast_and_permuted(data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(broadcast_pairs(max_dims=3))
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    layouts = [data.draw(permutations_of(len(shape_a))), data.draw(permutations_of(len(shape_b)))]
    check_op(lambda x, y: x * y - x, a, b, layouts=layouts, device="cuda", grad=False, worker=ops,
             label="x * y - x on cuda")


# ---------------------------------------------------------------------------------------------
# reduce
# ---------------------------------------------------------------------------------------------

REDUCE: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "sum": lambda t, d: t.sum(d, keepdim=True),
    "prod": lambda t, d: t.prod(d, keepdim=True),
    "max": lambda t, d: t.amax(d, keepdim=True),
    "min": lambda t, d: t.amin(d, keepdim=True),
}


@pytest.mark.hint("reduce_kernel: slice_position numbers the slices; syncthreads() before the tree and after each level.")
@pytest.mark.parametrize("op", list(REDUCE))
def test_tensor_reduce_each_op_each_dim_of_a_permuted_tensor(op: str) -> None:
    values = RNG.uniform(0.5, 1.5, size=(5, 3, 4)) * RNG.choice([-1, 1], size=(5, 3, 4))
    t = torch.tensor(values).permute(1, 2, 0)  # (3, 4, 5), not contiguous
    for dim in range(3):
        got = cuda.run(lambda K, x, op, dim: K.reduce(op, x.permute(1, 2, 0), dim), values, params=[op, dim])
        assert_close(got.values, REDUCE[op](t, dim), what=f"K.reduce({op!r}, dim={dim})", inputs={"x": values})


@pytest.mark.hint("A slice longer than a block needs the strided loop and, split in shares, a second pass over all shares.")
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_tensor_reduce_slices_longer_than_a_block(op: str) -> None:
    values = RNG.uniform(-1, 1, size=(2, 600))
    values[0, 577], values[1, 401] = 5.0, -5.0  # the extremes sit far past the first block's elements
    t = torch.tensor(values)
    assert_close(cuda.reduce(op, values, 1).values, REDUCE[op](t, 1), what=f"{op} over 600 elements")
    column = values.T.copy()  # (600, 2): the reduced dim is not the innermost one
    assert_close(cuda.reduce(op, column, 0).values, REDUCE[op](torch.tensor(column), 0),
                 what=f"{op} over dim 0 of a (600, 2) tensor")


def test_tensor_reduce_a_single_long_slice() -> None:
    values = RNG.uniform(-1, 1, size=1000)
    got = cuda.run(lambda K, x: x.sum(), values)
    assert_close(got.values, torch.tensor(values).sum(), what="sum of 1000 elements")


def test_tensor_reduce_dtypes_and_empty_dims() -> None:
    ints = RNG.integers(-9, 10, size=(3, 40))  # int64 on cuda
    got = cuda.run(lambda K, x: x.sum(1), ints)
    assert got.dtype == "int64"
    assert_close(got.values, torch.tensor(ints).sum(1), what="sum of int64")
    flags = ints > 0  # bool on cuda
    assert_close(cuda.run(lambda K, x: x.sum(0), flags).values, torch.tensor(flags).sum(0), what="sum of bool")
    empty = np.zeros((2, 0, 3))
    assert_close(cuda.reduce("sum", empty, 1).values, np.zeros((2, 1, 3)), what="sum over an empty dim")
    assert_close(cuda.reduce("prod", empty, 1).values, np.ones((2, 1, 3)), what="prod over an empty dim")
    x32 = RNG.uniform(-1, 1, size=(4, 300)).astype(np.float32)  # float32 on cuda
    assert_close(cuda.run(lambda K, x: x.sum(1), x32).values, torch.tensor(x32).sum(1), what="float32 sum",
                 dtype="float32")


@pytest.mark.hint("reduce_kernel: a strided loop over the slice (any length) and a loop over slices y, y + gridDim.y, ...")
def test_reduce_kernel_strided_loop_and_slices_beyond_the_grid() -> None:
    values = RNG.uniform(-1, 1, size=(5, 100))
    assert_close(cuda.reduce("sum", values, 1).values, values.sum(1, keepdims=True), what="sum through tensor_reduce")
    assert_close(cuda.reduce_kernel((1, 2), 32, "sum", values, 1), values.sum(1, keepdims=True),
                 what="reduce_kernel[(1, 2) blocks, 32 threads]: 5 slices of 100 elements")


# ---------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Guard the edges: zero-fill tiles outside a and b, write only inside out.")
@pytest.mark.parametrize("n, k, m", [(1, 1, 1), (5, 7, 3), (16, 16, 16), (17, 33, 18), (32, 32, 32), (3, 40, 2)])
def test_tensor_matmul_shapes_and_edges(n: int, k: int, m: int) -> None:
    a, b = RNG.uniform(-1, 1, size=(n, k)), RNG.uniform(-1, 1, size=(k, m))
    got = cuda.matmul(a, b)
    assert_close(got.values, torch.tensor(a) @ torch.tensor(b), what=f"({n}x{k}) @ ({k}x{m}) on cuda")


@pytest.mark.hint("batch_position: the batch dims of a and b broadcast to out's.")
def test_tensor_matmul_batched_with_broadcast_and_views() -> None:
    a, b = RNG.uniform(-1, 1, size=(2, 1, 4, 5)), RNG.uniform(-1, 1, size=(3, 5, 6))
    assert_close(cuda.matmul(a, b).values, torch.tensor(a) @ torch.tensor(b), what="(2, 1, 4, 5) @ (3, 5, 6)")
    c = RNG.uniform(-1, 1, size=(20, 3, 9))
    d = RNG.uniform(-1, 1, size=(2, 20))
    got = cuda.run(lambda K, c, d: K.matmul(c.permute(1, 2, 0), d.t()), c, d)  # (3, 9, 20) @ (20, 2), both views
    assert_close(got.values, torch.tensor(c).permute(1, 2, 0) @ torch.tensor(d).t(), what="views @ views")


def test_tensor_matmul_float32() -> None:
    a = RNG.uniform(-1, 1, size=(9, 20)).astype(np.float32)
    b = RNG.uniform(-1, 1, size=(20, 11)).astype(np.float32)
    got = cuda.matmul(a, b)  # float32 arrays: float32 cuda tensors
    assert got.dtype == "float32"
    assert_close(got.values, torch.tensor(a) @ torch.tensor(b), what="float32 matmul", dtype="float32")


@pytest.mark.hint("Each thread computes WORK x WORK outputs at rows ty + TILE * i, cols tx + TILE * j of the block's tile.")
def test_tensor_matmul_register_tiles_across_several_blocks(schedule: LaunchLog) -> None:
    block_tile, tile, work = cuda.constants("BLOCK_TILE", "TILE", "WORK")
    n, k, m = block_tile + 6, 20, block_tile + 2  # 2 x 2 blocks, the second ones mostly outside
    a, b = RNG.uniform(-1, 1, size=(n, k)), RNG.uniform(-1, 1, size=(k, m))
    first = len(schedule.launches)
    got = cuda.matmul(a, b)
    assert_close(got.values, torch.tensor(a) @ torch.tensor(b), what=f"({n}x{k}) @ ({k}x{m}) on cuda")
    launches = schedule.launches[first:]
    assert launches, "tensor_matmul launched no kernel"
    launch = launches[-1]
    assert launch.block[:2] == (tile, tile), f"matmul_kernel ran with blocks of {launch.block} threads"
    assert launch.grid[:2] == (2, 2), (
        f"matmul_kernel ran on a grid of {launch.grid} for a {n} x {m} out; with {block_tile} x "
        f"{block_tile} outputs per block that is (2, 2, 1): each thread computes {work} x "
        f"{work} outputs")


def test_matmul_kernel_loops_over_batches_beyond_the_grid() -> None:
    a, b = RNG.uniform(-1, 1, size=(5, 3, 4)), RNG.uniform(-1, 1, size=(5, 4, 2))
    assert_close(cuda.matmul(a, b).values, a @ b, what="(5, 3, 4) @ (5, 4, 2) through tensor_matmul")
    (tile,) = cuda.constants("TILE")
    assert_close(cuda.matmul_kernel((1, 1, 2), (tile, tile), a, b), a @ b,
                 what="matmul_kernel with gridDim.z = 2 for 5 matrices")


# ---------------------------------------------------------------------------------------------
# the whole framework on your kernels
# ---------------------------------------------------------------------------------------------


def test_autograd_runs_on_your_kernels() -> None:
    x = RNG.uniform(-1, 1, size=(4, 6))
    w = RNG.uniform(-1, 1, size=(6, 3))
    y = RNG.uniform(-1, 1, size=(3,))
    check_op(lambda a, b, c: ((a @ b).relu() * c + (a * a).sum(1, keepdim=True)).exp().sum(0), x, w, y,
             device="cuda", worker=ops, label="((x @ w).relu() * y + (x * x).sum(1)).exp().sum(0) on cuda")
