"""cuda tensors in the framework: creation, moves between devices, device errors, the ex04/ex05 battery on
cuda tensors against torch (values and gradients), the host round trips, and the backend's own machinery.

These run the reference kernels (MTDG_SOURCE=solutions), on a GPU when there is one, else in numba's CUDA
simulator under the strict schedule. Shapes are small: the simulator runs every GPU thread as Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from numba import cuda  # after tests/conftest.py chose the simulator when there is no GPU

import minitorch_dg as mt
from minitorch_dg import backends
from minitorch_dg import kernels as K
from minitorch_dg.backends import cuda as cuda_env
from minitorch_dg.dtypes import float32
from tests.support import cuda_schedule
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/framework/test_cuda_device.py"))

simulator_only = pytest.mark.skipif(not cuda_env.simulator_enabled(),
                                    reason=f"checks the CUDA simulator itself, which is off: {cuda_env.describe_mode()}")


@pytest.fixture(autouse=True)
def schedule(request: pytest.FixtureRequest) -> Iterator[cuda_schedule.ScheduleLog]:
    if "stock_simulator" in request.node.name:  # that test runs the simulator's own concurrent schedule
        yield cuda_schedule.ScheduleLog()
        return
    with cuda_schedule.serial_schedule() as log:
        yield log


def backend() -> cuda_env.CudaBackend:
    return backends.for_device("cuda")  # type: ignore[return-value]


RNG = np.random.default_rng(11)


def rand(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return RNG.uniform(low, high, size=shape)


# ---------------------------------------------------------------------------------------------------
# Creation and moves
# ---------------------------------------------------------------------------------------------------

CREATORS: dict[str, Callable[[str], mt.Tensor]] = {
    "tensor": lambda d: mt.tensor([[1.0, 2.0], [3.0, 4.0]], device=d),
    "zeros": lambda d: mt.zeros(2, 3, device=d),
    "ones": lambda d: mt.ones((2, 3), dtype="float64", device=d),
    "full": lambda d: mt.full((2, 2), 7, device=d),
    "arange": lambda d: mt.arange(5, device=d),
    "linspace": lambda d: mt.linspace(0, 1, 5, device=d),
    "eye": lambda d: mt.eye(3, device=d),
    "empty": lambda d: mt.empty(2, 2, device=d),
    "zeros_like": lambda d: mt.zeros_like(mt.ones(2, 2), device=d),
}


@pytest.mark.parametrize("name", list(CREATORS))
def test_creation_functions_accept_device_cuda(name: str) -> None:
    on_gpu, on_cpu = CREATORS[name]("cuda"), CREATORS[name]("cpu")
    assert on_gpu.device == "cuda" and on_cpu.device == "cpu"
    assert on_gpu.dtype is on_cpu.dtype and tuple(on_gpu.shape) == tuple(on_cpu.shape)
    assert_close(on_gpu.to_numpy(), on_cpu.to_numpy(), what=f"mt.{name}(..., device='cuda')")


def test_random_creation_on_cuda_follows_the_seed() -> None:
    mt.manual_seed(3)
    a = mt.randn(3, 4, device="cuda")
    mt.manual_seed(3)
    b = mt.randn(3, 4)
    assert a.device == "cuda"
    assert_close(a.to_numpy(), b.to_numpy(), what="randn on cuda vs cpu with the same seed")
    assert mt.rand(2, device="cuda").device == "cuda"
    assert mt.randint(0, 5, (3,), device="cuda").device == "cuda"


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_to_cuda_and_back_keeps_values_and_dtype(dtype: str) -> None:
    values = RNG.integers(-3, 4, size=(3, 4)) if dtype != "bool" else RNG.integers(0, 2, size=(3, 4)).astype(bool)
    x = mt.tensor(values, dtype=dtype)
    for moved in (x.cuda(), x.to("cuda"), x.to("cuda:0"), x.to(device="cuda"),
                  x.to(mt.zeros(1, dtype=x.dtype, device="cuda"))):
        assert moved.device == "cuda" and moved.dtype is x.dtype
        back = moved.cpu()
        assert back.device == "cpu" and back.dtype is x.dtype
        assert np.array_equal(back.numpy(), x.numpy())
    y = x.cuda()
    assert y.to("cuda") is y and y.cuda() is y and x.cpu() is x
    assert "device='cuda'" in repr(y)


def test_views_of_cuda_tensors_share_device_storage() -> None:
    x = mt.tensor(np.arange(12.0).reshape(3, 4), device="cuda")
    row = x[1, 1:]
    with mt.no_grad():
        row.add_(100.0)
        x[2, ::2] = mt.tensor([-1.0, -2.0], device="cuda")
    want = np.arange(12.0).reshape(3, 4)
    want[1, 1:] += 100
    want[2, ::2] = [-1, -2]
    assert_close(x.to_numpy(), want, what="in-place changes through views of a cuda tensor")
    assert_close(x.t().contiguous().to_numpy(), want.T, what="contiguous copy of a transposed cuda view")


def test_cuda_tensor_to_numpy_like_torch() -> None:
    x = mt.tensor([1.5, 2.5], device="cuda")
    with pytest.raises(TypeError, match="can't convert cuda"):
        x.numpy()
    assert x.to_numpy().tolist() == [1.5, 2.5]
    assert x.tolist() == [1.5, 2.5] and x[1].item() == 2.5 and float(x.sum()) == 4.0


# ---------------------------------------------------------------------------------------------------
# Devices must not mix
# ---------------------------------------------------------------------------------------------------

MIXES: dict[str, Callable[[mt.Tensor, mt.Tensor], Any]] = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "maximum": lambda a, b: a.maximum(b),
    "where": lambda a, b: mt.where(a > 0, a, b),
    "copy_": lambda a, b: a.copy_(b),
}


@pytest.mark.parametrize("name", list(MIXES))
def test_mixing_devices_raises_torchs_error(name: str) -> None:
    cpu = mt.ones(2, 2)
    gpu = mt.ones(2, 2, device="cuda")
    for a, b in ((cpu, gpu), (gpu, cpu)):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device.*cpu and cuda"):
            MIXES[name](a, b)


def test_backward_with_a_gradient_on_another_device_is_refused() -> None:
    x = mt.ones(3, device="cuda", requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="expected device cuda but got cpu"):
        y.backward(mt.ones(3))


# ---------------------------------------------------------------------------------------------------
# Autograd on cuda tensors
# ---------------------------------------------------------------------------------------------------


def test_gradients_land_on_the_cuda_leaves() -> None:
    x = mt.tensor(rand(3, 4), device="cuda", requires_grad=True)
    w = mt.tensor(rand(4, 2), device="cuda", requires_grad=True)
    loss = (x @ w).tanh().sum()
    loss.backward()
    assert x.grad is not None and w.grad is not None
    assert x.grad.device == "cuda" and w.grad.device == "cuda" and loss.device == "cuda"
    tx = torch.tensor(x.to_numpy(), requires_grad=True)
    tw = torch.tensor(w.to_numpy(), requires_grad=True)
    (tx @ tw).tanh().sum().backward()
    assert_close(x.grad.to_numpy(), tx.grad, what="d loss / dx", dtype="float32")
    assert_close(w.grad.to_numpy(), tw.grad, what="d loss / dw", dtype="float32")


def test_gradients_flow_back_through_device_moves() -> None:
    x = mt.tensor(rand(2, 3), dtype="float64", requires_grad=True)  # a cpu leaf
    y = (x.cuda() * 3.0).exp().cpu().sum()
    y.backward()
    assert x.grad is not None and x.grad.device == "cpu"
    assert_close(x.grad.to_numpy(), 3 * np.exp(3 * x.to_numpy()), what="d/dx of exp(3 x) moved to cuda and back")


UNARY_BATTERY: dict[str, tuple[Callable[[Any], Any], float, float]] = {
    "exp": (lambda x: x.exp(), -2, 2),
    "log": (lambda x: x.log(), 0.2, 3),
    "sigmoid": (lambda x: x.sigmoid(), -4, 4),
    "relu": (lambda x: x.relu(), -2, 2),
    "tanh": (lambda x: x.tanh(), -2, 2),
    "abs": (lambda x: x.abs(), -2, 2),
    "sqrt": (lambda x: x.sqrt(), 0.2, 3),
    "neg": (lambda x: -x, -2, 2),
    "square": (lambda x: x * x, -2, 2),
    "reciprocal": (lambda x: 1.0 / x, 0.5, 2),
    "pow": (lambda x: x ** 3, -2, 2),
    "pow_half": (lambda x: x ** 0.5, 0.2, 3),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), -2, 2),
    "scalar_arithmetic": (lambda x: (x + 1.5) * 2.0 - x / 4.0, -2, 2),
}


@pytest.mark.parametrize("name", list(UNARY_BATTERY))
def test_elementwise_functions_on_cuda(name: str) -> None:
    fn, low, high = UNARY_BATTERY[name]
    check_op(fn, RNG.uniform(low, high, size=(3, 4)), device="cuda", layouts=[(1, 0)], label=f"{name} on cuda")


BINARY_BATTERY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
    "where": lambda a, b: mt.where(a > b, a, b) if isinstance(a, mt.Tensor) else torch.where(a > b, a, b),
    "masked_fill": lambda a, b: (a * b).masked_fill(a > 0.5, 0.0),
}


@pytest.mark.parametrize("name", list(BINARY_BATTERY))
def test_broadcasting_binary_ops_on_cuda(name: str) -> None:
    check_op(BINARY_BATTERY[name], rand(2, 1, 4), rand(3, 1), device="cuda", label=f"{name} on cuda")


REDUCTIONS: dict[str, Callable[[Any], Any]] = {
    "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(1),
    "sum_dims_keepdim": lambda x: x.sum((0, 2), keepdim=True),
    "mean": lambda x: x.mean(-1),
    "amax": lambda x: x.amax(0),
    "max_dim_values": lambda x: x.max(2).values,
    "min": lambda x: x.min(),
    "prod": lambda x: x.prod(1),
    "var": lambda x: x.var(1),
    "softmax_by_hand": lambda x: (x - x.amax(2, keepdim=True)).exp() / (x - x.amax(2, keepdim=True)).exp().sum(2, keepdim=True),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions_on_cuda(name: str) -> None:
    check_op(REDUCTIONS[name], rand(2, 3, 4, low=0.3, high=2.0), device="cuda", layouts=[(2, 0, 1)],
             label=f"{name} on cuda")


MATMULS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "2d": ((5, 7), (7, 3)),
    "batched_broadcast": ((2, 1, 3, 4), (3, 4, 5)),
    "vector_matrix": ((4,), (4, 3)),
    "matrix_vector": ((3, 4), (4,)),
    "vector_vector": ((6,), (6,)),
}


@pytest.mark.parametrize("name", list(MATMULS))
def test_matmul_on_cuda(name: str) -> None:
    a, b = MATMULS[name]
    check_op(lambda x, y: x @ y, rand(*a), rand(*b), device="cuda", label=f"matmul {name} on cuda")


def test_matmul_float32_and_transposed_on_cuda() -> None:
    check_op(lambda x, y: x.t() @ y, rand(6, 5), rand(6, 4), dtype="float32", device="cuda", label="x.t() @ y float32")


VIEWS: dict[str, Callable[[Any], Any]] = {
    "permute": lambda x: x.permute(2, 0, 1) * 2,
    "transpose_contiguous": lambda x: x.transpose(0, 2).contiguous() * 1.5,
    "view": lambda x: x.view(6, 4) @ x.view(4, 6),
    "reshape_of_permuted": lambda x: x.permute(1, 0, 2).reshape(3, 8).exp(),
    "expand": lambda x: x[:, :1, :].expand(2, 5, 4) * 1.0,
    "unsqueeze_squeeze": lambda x: (x.unsqueeze(1) * 2).squeeze(1),
    "basic_index": lambda x: x[1, 1:, ::2] * 3,
    "flatten": lambda x: x.flatten(1) * 2,
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_on_cuda(name: str) -> None:
    check_op(VIEWS[name], rand(2, 3, 4), device="cuda", label=f"{name} on cuda")


def test_comparisons_and_bool_ops_on_cuda() -> None:
    a, b = rand(3, 4), rand(4)
    x, y = mt.tensor(a, device="cuda"), mt.tensor(b, device="cuda")
    ta, tb = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    for got, want in (((x < y), ta < tb), ((x >= 0.5), ta >= 0.5), ((x == x), ta == ta), (~(x > y), ~(ta > tb)),
                      ((x > 0) & (y > 0), (ta > 0) & (tb > 0))):
        assert got.dtype.name == "bool" and got.device == "cuda"
        assert np.array_equal(got.to_numpy(), want.numpy())


# ---------------------------------------------------------------------------------------------------
# Host round trips: operations the framework runs on the host keep working on cuda tensors
# ---------------------------------------------------------------------------------------------------

HOST_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "advanced_index": lambda x, lib: x[[2, 0, 2]] * 2,
    "boolean_mask": lambda x, lib: x[x > 0] * 3,
    "gather": lambda x, lib: x.gather(1, (mt if lib == "mt" else torch).tensor(
        [[0, 2], [1, 1], [3, 0]], **({"device": "cuda"} if lib == "mt" else {}))) * 2,
    "index_select": lambda x, lib: x.index_select(1, (mt if lib == "mt" else torch).tensor(
        [3, 1], **({"device": "cuda"} if lib == "mt" else {}))) + 1,
}


@pytest.mark.parametrize("name", list(HOST_OPS))
def test_host_round_trip_ops_on_cuda_keep_values_gradients_and_device(name: str) -> None:
    values = rand(3, 4)
    x = mt.tensor(values, dtype="float64", device="cuda", requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    got, want = HOST_OPS[name](x, "mt"), HOST_OPS[name](t, "torch")
    assert got.device == "cuda"
    assert_close(got.to_numpy(), want, what=f"{name} on cuda")
    upstream = RNG.uniform(-1, 1, size=tuple(want.shape))
    got.backward(mt.tensor(upstream, dtype="float64", device="cuda"))
    want.backward(torch.tensor(upstream))
    assert x.grad is not None and x.grad.device == "cuda"
    assert_close(x.grad.to_numpy(), t.grad, what=f"gradient of {name} on cuda")


def test_argmax_max_with_indices_and_advanced_assignment_on_cuda() -> None:
    values = rand(3, 5)
    x = mt.tensor(values, dtype="float64", device="cuda")
    t = torch.tensor(values)
    assert x.argmax(1).device == "cuda"
    assert np.array_equal(x.argmax(1).to_numpy(), t.argmax(1).numpy())
    assert np.array_equal(x.argmax().to_numpy(), t.argmax().numpy())
    result = x.max(0)
    assert result.indices.device == "cuda" and result.values.device == "cuda"
    assert np.array_equal(result.indices.to_numpy(), t.max(0).indices.numpy())
    with mt.no_grad():
        x[[0, 2], 1] = mt.tensor([9.0, 8.0], dtype="float64", device="cuda")
    t[[0, 2], 1] = torch.tensor([9.0, 8.0], dtype=torch.float64)
    assert_close(x.to_numpy(), t, what="x[[0, 2], 1] = ... on cuda")


def test_a_training_step_on_cuda_matches_the_cpu() -> None:
    mt.manual_seed(5)
    model = mt.nn.Sequential(mt.nn.Linear(4, 8), mt.nn.ReLU(), mt.nn.Linear(8, 3))
    twin = mt.nn.Sequential(mt.nn.Linear(4, 8), mt.nn.ReLU(), mt.nn.Linear(8, 3))
    twin.load_state_dict(model.state_dict())
    model.cuda()
    assert all(p.device == "cuda" for p in model.parameters())
    inputs, targets = rand(6, 4), RNG.integers(0, 3, size=6)
    for net, device in ((model, "cuda"), (twin, "cpu")):
        optimizer = mt.optim.SGD(net.parameters(), lr=0.5)
        loss = mt.nn.functional.cross_entropy(net(mt.tensor(inputs, dtype="float32", device=device)),
                                              mt.tensor(targets, device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert p.device == "cuda" and p.grad is not None and p.grad.device == "cuda"
        assert_close(p.to_numpy(), q.to_numpy(), what=f"{name} after one SGD step, cuda vs cpu", dtype="float32")


# ---------------------------------------------------------------------------------------------------
# The backend's machinery
# ---------------------------------------------------------------------------------------------------


def test_shapes_and_strides_live_on_the_device_and_are_uploaded_once() -> None:
    x = mt.tensor(rand(3, 4), device="cuda")
    view = backend().view(x.t()._data)
    assert view.shape == (4, 3) and view.size == 12
    assert view.device_shape.copy_to_host().tolist() == [4, 3]
    assert view.device_strides.copy_to_host().tolist() == [1, 4]
    y = mt.tensor(rand(3, 4), device="cuda")
    ((x + y).exp() * y).sum(1)  # warm up: every layout this expression needs is uploaded now
    before = backend().layout_uploads
    for _ in range(3):
        ((x + y).exp() * y).sum(1)
    assert backend().layout_uploads == before, "the same shapes and strides were copied to the GPU again"
    assert backend().layout(view.shape, (1, 4))[0] is view.device_shape


def test_device_tensors_say_whether_element_i_is_at_storage_position_i() -> None:
    x = mt.tensor(rand(3, 4, 5), device="cuda")
    cases = {"x": (x, True), "x[1]": (x[1], True), "x[1:]": (x[1:], True), "x[:, 1]": (x[:, 1], False),
             "x.permute(2, 0, 1)": (x.permute(2, 0, 1), False), "x[:, :, ::2]": (x[:, :, ::2], False),
             "x[:, :1]": (x[:, :1], False), "x[:1, :1]": (x[:1, :1], True), "x[0, 0, 0]": (x[0, 0, 0], True),
             "expanded (3, 1) -> (3, 4)": (mt.tensor(rand(3, 1), device="cuda").expand(3, 4), False)}
    for what, (tensor, contiguous) in cases.items():
        assert backend().view(tensor._data).contiguous is contiguous, what


def test_kernel_outputs_are_not_zero_filled_and_zeros_still_are() -> None:
    """Outputs that a kernel overwrites come from `uninitialized`: on a GPU no memset and no copy from the
    host; in the simulator NaN, so that an element a kernel leaves unwritten shows. K.zeros is still zeros."""
    data = K.output((3, 4), float32, "cuda")
    assert data.shape == (3, 4) and data.strides == (4, 1) and data.device == "cuda"
    if backend().simulated:
        assert np.isnan(backend().to_host(data.storage)).all()
        assert np.isnan(backend().to_host(backend().scratch((2, 3)).storage)).all()
    assert (K.zeros((3, 4), float32, "cuda").to_numpy() == 0).all()
    values = rand(3, 4)
    assert_close((mt.tensor(values, device="cuda") * 2).to_numpy(), values * 2, what="x * 2 into a fresh output")


def test_every_framework_op_has_an_op_code_in_ex07() -> None:
    from minitorch_dg import course
    from minitorch_dg.elementwise import BINARY_OPS, REDUCE_OPS, UNARY_OPS

    module = course.load("ex07")
    assert list(module.UNARY_CODES) == list(UNARY_OPS), "the table's UNARY_OPS and ex07's UNARY_CODES differ"
    assert list(module.BINARY_CODES) == list(BINARY_OPS), "the table's BINARY_OPS and ex07's BINARY_CODES differ"
    assert list(module.REDUCE_CODES) == list(REDUCE_OPS), "the table's REDUCE_OPS and ex07's REDUCE_CODES differ"


def test_without_gpu_or_simulator_cuda_raises_a_clear_error() -> None:
    if cuda_env.gpu_present():
        pytest.skip("this machine has a GPU, so cuda is always available here")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", MTDG_SOURCE="solutions")
    code = "import minitorch_dg as mt\nmt.zeros(2, device='cuda')"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "CudaUnavailable" in run.stderr and "NUMBA_ENABLE_CUDASIM=1" in run.stderr, run.stderr[-800:]
    assert cuda_env.mode({"NUMBA_ENABLE_CUDASIM": "0"}) == "none"
    assert "skipped" in cuda_env.describe_mode({"NUMBA_ENABLE_CUDASIM": "0"})


@simulator_only
def test_the_stock_simulator_concurrent_schedule_gives_the_same_results() -> None:
    a, b = rand(5, 20), rand(20, 3)
    x, y = mt.tensor(a, dtype="float64", device="cuda"), mt.tensor(b, dtype="float64", device="cuda")
    assert_close((x @ y).to_numpy(), a @ b, what="matmul in the stock simulator")
    assert_close(x.sum(1).to_numpy(), a.sum(1), what="sum in the stock simulator")
    assert_close((x.exp() + 1).to_numpy(), np.exp(a) + 1, what="map and zip in the stock simulator")


def _shift(out: Any, sync: bool) -> None:
    """Each thread stores its number in shared memory, then reads its right neighbour's."""
    buffer = cuda.shared.array(32, np.float64)
    i = cuda.threadIdx.x
    buffer[i] = i * 1.0
    if sync:
        cuda.syncthreads()
    out[i] = buffer[(i + 1) % 32]


def _divergent(out: Any) -> None:
    """Threads 0-3 return before the barrier the others wait at."""
    buffer = cuda.shared.array(32, np.float64)
    i = cuda.threadIdx.x
    if i < 4:
        return
    buffer[i] = 1.0
    cuda.syncthreads()
    out[i] = buffer[i]


def _faulty(out: Any) -> None:
    """Thread 5 reads past the end while the others wait at the barrier after it."""
    i = cuda.threadIdx.x
    if i == 5:
        out[i] = out[1000]
    cuda.syncthreads()
    out[i] = i * 1.0


@simulator_only
def test_serial_schedule_recovers_from_an_error_inside_a_block() -> None:
    faulty, shift = cuda.jit(_faulty), cuda.jit(_shift)
    out = cuda.to_device(np.zeros(32))
    for _ in range(2):
        with pytest.raises(IndexError) as error:
            faulty[1, 32](out)
        assert any("threadIdx=(5, 0, 0)" in note for note in getattr(error.value, "__notes__", []))
        shift[1, 32](out, True)
        assert out.copy_to_host()[:3].tolist() == [1.0, 2.0, 3.0]


@simulator_only
def test_serial_schedule_makes_a_missing_barrier_certain_and_reports_a_divergent_one() -> None:
    shift_kernel, divergent_kernel = cuda.jit(_shift), cuda.jit(_divergent)
    out = cuda.to_device(np.zeros(32))
    shift_kernel[1, 32](out, True)
    assert out.copy_to_host().tolist() == [float((i + 1) % 32) for i in range(32)]
    for _ in range(3):  # without the barrier thread 0 reads slot 1 before thread 1 wrote it: NaN, every time
        shift_kernel[1, 32](out, False)
        assert np.isnan(out.copy_to_host()[0])
    with pytest.raises(cuda_schedule.BarrierError, match="have already returned"):
        divergent_kernel[1, 32](out)


def test_launches_are_logged_outside_the_simulator_too() -> None:
    """On a GPU, serial_schedule() only logs launches (so the launch-shape tests of ex07 mean the same there);
    configuring a kernel needs no GPU, so this runs in a process without the simulator."""
    script = textwrap.dedent("""
        from numba import cuda
        from tests.support import cuda_schedule

        @cuda.jit
        def kernel(x):
            pass

        with cuda_schedule.serial_schedule() as log:
            kernel[(3, 2), 64]
        kernel[1, 1]
        print([(launch.kernel, launch.grid, launch.block) for launch in log.launches])
    """)
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.stdout.strip() == "[('kernel', (3, 2, 1), (64, 1, 1))]", run.stderr[-800:]


def test_reference_kernels_compile_to_ptx_for_a_real_gpu() -> None:
    """The simulator runs Python; this compiles every kernel for a GPU (sm_75) with numba's real compiler."""
    script = textwrap.dedent("""
        import sys
        import numba
        from numba import cuda
        try:
            from numba.cuda.cudadrv import nvrtc, nvvm
            nvvm.NVVM()
            nvrtc.get_supported_ccs()
        except Exception as error:
            print(f"SKIP {type(error).__name__}: {str(error).splitlines()[0]}")
            sys.exit(0)
        import numba.cuda.dispatcher as dispatcher

        class Target:  # device functions ask the current GPU for its compute capability: there may be none
            compute_capability = (7, 5)

        dispatcher.get_current_device = lambda: Target()
        from solutions import ex07_cuda as k
        i64 = numba.int64[:]
        for t in (numba.float32, numba.float64, numba.int64, numba.boolean):
            arr = t[:]
            cuda.compile_ptx(k.map_kernel.py_func, (numba.int64, arr, i64, i64, numba.int64, arr, i64, i64), cc=(7, 5))
            cuda.compile_ptx(k.zip_kernel.py_func, (numba.int64, numba.boolean[:], i64, i64, numba.int64, arr, i64,
                                                    i64, arr, i64, i64), cc=(7, 5))
            cuda.compile_ptx(k.reduce_kernel.py_func, (numba.int64, arr, i64, i64, numba.int64, arr, i64, i64,
                                                       numba.int64), cc=(7, 5))
            cuda.compile_ptx(k.map_contiguous_kernel.py_func, (numba.int64, arr, arr, numba.int64), cc=(7, 5))
            cuda.compile_ptx(k.zip_contiguous_kernel.py_func, (numba.int64, numba.boolean[:], arr, arr, numba.int64),
                             cc=(7, 5))
        for t in (numba.float32, numba.float64):
            arr = t[:]
            ptx, _ = cuda.compile_ptx(k.matmul_kernel.py_func, (arr, i64, i64, numba.int64, arr, i64, i64, arr, i64,
                                                                i64), cc=(7, 5))
            assert "bar.sync" in ptx, "no barrier in the tiled matmul"
            assert "ld.local" not in ptx and "st.local" not in ptx, "the matmul's register tiles spilled to local memory"
        print("COMPILED")
    """)
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    if run.stdout.startswith("SKIP"):
        pytest.skip("numba cannot compile for a GPU here (no NVVM / NVRTC: install the CUDA toolkit or the "
                    f"nvidia-cuda-nvrtc wheel, and set CUDA_HOME): {run.stdout.strip()[5:]}")
    assert "COMPILED" in run.stdout, run.stderr[-1500:]
