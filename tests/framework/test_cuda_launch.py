"""The launch path below numba's dispatcher (minitorch_dg/backends/cuda_launch.py).

The routing (first launch through numba, then the plan; every case that must stay on numba's path) is checked
here with a stand-in dispatcher and driver, so it runs on any machine. The real launches (same results as
numba's, the packing check against numba's own on every kernel of ex07) run where there is a GPU.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Any

import numpy as np
import pytest

from minitorch_dg.backends import cuda as cuda_env
from minitorch_dg.backends import cuda_launch

# ---------------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------------


def test_dims3_pads_ints_and_tuples_and_refuses_the_rest() -> None:
    assert cuda_launch.dims3(7) == (7, 1, 1)
    assert cuda_launch.dims3((4, 2)) == (4, 2, 1)
    assert cuda_launch.dims3((4, 2, 3)) == (4, 2, 3)
    for bad in (0, -1, (1, 2, 3, 4), (), (2, 0), 2.0, np.int64(3), (np.int32(2), 1), True):
        assert cuda_launch.dims3(bad) is None, bad


def test_requested_unless_turned_off() -> None:
    assert cuda_launch.fast_launch_requested({})
    assert cuda_launch.fast_launch_requested({"MTDG_CUDA_FAST_LAUNCH": "1"})
    for off in ("0", "off", "No", " false "):
        assert not cuda_launch.fast_launch_requested({"MTDG_CUDA_FAST_LAUNCH": off})


def test_slot_formats_fill_whole_slots() -> None:
    assert cuda_launch.slot_format("float32", 1) == "q" * 7
    assert cuda_launch.slot_format("int64", 2) == "q" * 9
    for name, fmt in cuda_launch.SCALAR_SLOTS.items():
        assert struct.calcsize("<" + fmt) == 8, name
    assert cuda_launch.slot_format("complex64", None) is None
    assert cuda_launch.slot_format("Record(...)", None) is None


class FakeArray:
    """The attributes of a numba device array that the packing reads."""

    __cuda_ndarray__ = True

    def __init__(self, size: int, dtype: Any = np.float32, pointer: int = 0x7000, step: int = 1) -> None:
        self.size = size
        self.dtype = np.dtype(dtype)
        self.shape = (size,)
        self.strides = (self.dtype.itemsize * step,)
        self.device_ctypes_pointer = ctypes.c_void_p(pointer)


def parameters(array: FakeArray) -> tuple[int, ...]:
    return cuda_launch.describe_array(array)[1]


def test_array_parameters_as_numba_packs_them_and_kept_on_the_array() -> None:
    array = FakeArray(10, np.float64, pointer=0x1000, step=2)
    assert parameters(array) == (0, 0, 10, 8, 0x1000, 10, 16)
    array.device_ctypes_pointer = ctypes.c_void_p(0x2000)  # kept: a device array's pointer never changes
    assert parameters(array)[4] == 0x1000
    assert parameters(FakeArray(0, pointer=0x3000))[4] == 0


def key(args: tuple[Any, ...]) -> Any:
    described = cuda_launch.key_and_values(args)
    return None if described is None else described[0]


def test_launch_key_separates_what_changes_the_overload() -> None:
    a, b = FakeArray(10), FakeArray(20, pointer=0x9000)
    assert key((1, a)) == key((5, b))  # sizes and pointers travel as values
    assert cuda_launch.key_and_values((5, b))[1] == [5, 0, 0, 20, 4, 0x9000, 20, 4]  # type: ignore[index]
    assert key((1, a)) != key((1.0, a))
    assert key((1, a)) != key((True, a))
    assert key((1, a)) != key((1, FakeArray(10, np.float64)))
    assert key((1, a)) != key((1, FakeArray(10, step=2)))
    assert key((1, FakeArray(1, step=2))) != key((1, FakeArray(2, step=2)))  # one element: numba says contiguous
    assert key((1, np.zeros(3))) is None  # a host array: numba copies it to the GPU
    assert key((np.int64(1), a)) is None


# ---------------------------------------------------------------------------------------------------
# Routing, with a stand-in dispatcher and driver
# ---------------------------------------------------------------------------------------------------


class FakeType:
    def __init__(self, name: str, ndim: int | None = None) -> None:
        self.name, self.ndim = name, ndim

    def __str__(self) -> str:
        return self.name


class Array(FakeType):  # the class name is what make_plan recognises
    pass


class FakeKernel:
    debug = False
    cooperative = False

    def __init__(self, types: tuple[FakeType, ...], mispack: bool = False) -> None:
        self.argument_types = types
        self.mispack = mispack
        handle = type("Handle", (), {"__int__": lambda self: 0xBEEF})()
        self._codelibrary = type("Lib", (), {"get_cufunc": lambda self: type("F", (), {"handle": handle})()})()

    def _prepare_args(self, ty: FakeType, value: Any, stream: Any, retr: list[Any], out: list[Any]) -> None:
        if isinstance(ty, Array):
            out.extend(parameters(value))
        else:
            out.append(ctypes.c_int64(value + (1 if self.mispack else 0)))


class FakeDispatcher:
    """Launches through `numba_launches`; its one overload takes (int64, float32[:])."""

    __name__ = "fake_kernel"
    specialized = False
    _launch_config_sensitive = False
    extensions: list[Any] = []

    def __init__(self, mispack: bool = False) -> None:
        self.kernel = FakeKernel((FakeType("int64"), Array("array(float32, 1d, C)", 1)), mispack)
        self.overloads = {("int", "array"): self.kernel}
        self.numba_launches: list[tuple[Any, ...]] = []

    def typeof_pyval(self, value: Any) -> str:
        return "int" if type(value) is int else "array"


class FakeDriver:
    def __init__(self) -> None:
        self.launches: list[tuple[Any, ...]] = []
        self.fail = False

    @staticmethod
    def CUfunction(address: int) -> int:  # noqa: N802 - the driver's name
        return address

    def cuLaunchKernel(self, f: Any, *rest: Any) -> tuple[int]:  # noqa: N802
        if self.fail:
            return (1,)
        *dims, shared, stream, params, extra = rest
        pointers = (ctypes.c_void_p * 8).from_address(params)
        first = ctypes.c_int64.from_address(pointers[0]).value
        data = ctypes.c_int64.from_address(pointers[5]).value
        self.launches.append((f, tuple(dims), first, data))
        return (0,)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    driver = FakeDriver()

    def original(dispatcher: FakeDispatcher, config: Any) -> Any:
        return lambda *args: dispatcher.numba_launches.append((config, args))

    monkeypatch.setattr(cuda_launch, "_driver", driver)
    monkeypatch.setattr(cuda_launch, "_stream", 0)
    monkeypatch.setattr(cuda_launch, "_success", 0)
    monkeypatch.setattr(cuda_launch, "_original_getitem", original)
    monkeypatch.setattr(cuda_launch, "counts", {"fast": 0, "numba": 0})
    monkeypatch.setattr(cuda_launch, "refusals", {})
    return driver


def test_first_launch_goes_through_numba_then_the_plan(fake: FakeDriver) -> None:
    dispatcher = FakeDispatcher()
    a, b = FakeArray(10, pointer=0x100), FakeArray(10, pointer=0x200)
    cuda_launch.FastLaunch(dispatcher, (4, 256))(3, a)
    assert dispatcher.numba_launches == [((4, 256), (3, a))] and not fake.launches
    cuda_launch.FastLaunch(dispatcher, ((4, 2), 256))(5, b)
    assert fake.launches == [(0xBEEF, (4, 2, 1, 256, 1, 1), 5, 0x200)]
    assert cuda_launch.counts == {"fast": 1, "numba": 1}


def test_a_plan_whose_packing_differs_from_numbas_is_refused(fake: FakeDriver) -> None:
    dispatcher = FakeDispatcher(mispack=True)
    for _ in range(3):
        cuda_launch.FastLaunch(dispatcher, (4, 256))(3, FakeArray(10))
    assert len(dispatcher.numba_launches) == 3 and not fake.launches
    assert "packing differs" in cuda_launch.refusals["fake_kernel"]


def test_what_the_fast_path_leaves_to_numba(fake: FakeDriver) -> None:
    dispatcher = FakeDispatcher()
    a = FakeArray(10)
    cuda_launch.FastLaunch(dispatcher, (4, 256))(3, a)  # makes the plan
    cuda_launch.FastLaunch(dispatcher, (4, 256, 0))(3, a)  # a stream in the brackets
    cuda_launch.FastLaunch(dispatcher, (4.0, 256))(3, a)  # dims numba must check
    cuda_launch.FastLaunch(dispatcher, (4, 256))(2 ** 64, a)  # beyond int64: numba says what it makes of it
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(cuda_launch.FastLaunch(dispatcher, (4, 256))(3, a)))
    thread.start()
    thread.join()
    cuda_launch.FastLaunch(dispatcher, (4, 256))(3, np.zeros(10, np.float32))  # a host array: numba copies it
    fake.fail = True  # the driver refuses: numba launches again and raises its own error
    cuda_launch.FastLaunch(dispatcher, (4, 256))(3, a)
    assert not fake.launches
    assert len(dispatcher.numba_launches) == 7
    assert cuda_launch.counts == {"fast": 0, "numba": 7}


def test_observers_see_each_launch_of_the_fast_path(fake: FakeDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(cuda_launch, "observers", [lambda *launch: seen.append(launch)])
    dispatcher = FakeDispatcher()
    for _ in range(3):
        cuda_launch.FastLaunch(dispatcher, (4, (8, 8)))(3, FakeArray(10))
    assert seen == [(dispatcher, (4, 1, 1), (8, 8, 1))] * 2  # the first launch went through numba


def test_install_is_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cuda_launch, "_original_getitem", None)

    class Dispatcher:
        def __getitem__(self, config: Any) -> str:
            return "numba"

    assert not cuda_launch.install(Dispatcher, {"MTDG_CUDA_FAST_LAUNCH": "0"})
    assert Dispatcher()[1, 2] == "numba"


# ---------------------------------------------------------------------------------------------------
# Real launches (a GPU)
# ---------------------------------------------------------------------------------------------------

gpu = pytest.mark.skipif(cuda_env.mode() != "gpu", reason=f"needs a real GPU ({cuda_env.describe_mode()}); "
                         "the simulator has no driver to launch on")


@gpu
def test_ex07_kernels_launch_on_the_fast_path_with_numbas_results() -> None:
    import minitorch_dg as mt

    rng = np.random.default_rng(0)
    a_host = rng.standard_normal((33, 70)).astype(np.float32)
    b_host = rng.standard_normal((70, 5)).astype(np.float32)
    a, b = mt.tensor(a_host, device="cuda"), mt.tensor(b_host, device="cuda")
    assert cuda_launch.installed(), cuda_launch.refusals

    def run() -> list[np.ndarray]:
        return [(a.exp() + 1).to_numpy(), (a * a.T.T).sum(1).to_numpy(), a.sum().to_numpy(),
                (a @ b).to_numpy(), a[:, ::3].exp().to_numpy()]

    first = run()  # plans made
    before = cuda_launch.counts["fast"]
    again = run()
    assert cuda_launch.counts["fast"] > before, cuda_launch.refusals
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(again[0], np.exp(a_host) + 1, rtol=1e-6)
    np.testing.assert_allclose(again[3], a_host @ b_host, rtol=1e-4, atol=1e-4)
    assert not {name for name in cuda_launch.refusals if "kernel" in name}, cuda_launch.refusals


@gpu
def test_a_pooled_block_stays_in_use_while_a_view_of_it_lives() -> None:
    import gc

    import minitorch_dg as mt
    from minitorch_dg.backends import cuda_pool

    mt.zeros(1, device="cuda")  # the backend installs the caching allocator before numba's context exists
    from numba import cuda

    base = cuda.to_device(np.arange(1000, dtype=np.float32))
    assert isinstance(base.gpu_data, cuda_pool.PooledMemory) or not cuda_pool.pool_requested()
    view = base[100:200]
    del base
    gc.collect()
    others = [cuda.to_device(np.full(1000, -1, np.float32)) for _ in range(8)]  # would reuse a freed block
    np.testing.assert_array_equal(view.copy_to_host(), np.arange(100, 200, dtype=np.float32))
    del others
