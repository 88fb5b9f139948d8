"""The CUDA backend: tensors whose storage lives in GPU memory, computed by ex07's numba.cuda kernels.

A cuda tensor's `TensorData.storage` is a 1-D numba device array; views slice it like numpy storage.
Each kernel call gets `DeviceTensor`s: the storage, the shape as a Python tuple (for the launch
configuration), and the shape and strides as int64 device arrays. Those small device arrays are made
once per distinct (shape, strides) and cached, so a call copies nothing to the GPU but its operands.

Without a GPU, numba's CUDA simulator runs the same kernels in Python threads, one simulated GPU thread
per Python thread. It must be chosen before numba is imported: NUMBA_ENABLE_CUDASIM=1 in the
environment. The test suite and the grader do that by themselves on machines without a GPU
(`use_simulator_without_gpu`). With neither a GPU nor the simulator, using "cuda" raises
`CudaUnavailable`, which says how to turn the simulator on.

The tests run the simulator under a stricter schedule of their own (tests/support/cuda_schedule.py:
one simulated thread at a time, shared memory poisoned with `poison`), so that a missing
`cuda.syncthreads()` is certain to show.

This module does not import numba until a cuda tensor is made, so importing it is cheap.
"""

from __future__ import annotations

import glob
import math
import os
import sys
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np

from .. import course
from ..tensor_data import TensorData

SIMULATOR_ENV = "NUMBA_ENABLE_CUDASIM"
ENABLE_HINT = (
    f"set {SIMULATOR_ENV}=1 in the environment before Python starts (for example "
    f"`{SIMULATOR_ENV}=1 python train.py`) to run the CUDA kernels in numba's simulator on the CPU; "
    "`pytest` and `mtdg` do this by themselves on a machine without a GPU"
)

ex07 = course.ExerciseProxy("ex07")


class CudaUnavailable(RuntimeError):
    """A cuda tensor was asked for where neither a GPU nor the CUDA simulator can run it."""


# ---------------------------------------------------------------------------------------------------
# Which CUDA is there: a GPU, the simulator, or none (decided without importing numba)
# ---------------------------------------------------------------------------------------------------


def simulator_enabled(environ: Any = None) -> bool:
    """True when NUMBA_ENABLE_CUDASIM asks for the simulator (any value but '' and '0')."""
    value = (os.environ if environ is None else environ).get(SIMULATOR_ENV, "").strip()
    return value not in ("", "0")


def gpu_present() -> bool:
    """True when the NVIDIA driver shows a GPU device (/dev/nvidia0, ..., or WSL's /dev/dxg with libcuda)."""
    if glob.glob("/dev/nvidia[0-9]*"):
        return True
    if os.path.exists("/proc/driver/nvidia/gpus") and os.listdir("/proc/driver/nvidia/gpus"):
        return True
    return os.path.exists("/dev/dxg") and bool(glob.glob("/usr/lib/wsl/lib/libcuda.so*"))


def mode(environ: Any = None) -> str:
    """'simulator', 'gpu' or 'none': what cuda tensors would run on in a process with this environment."""
    if simulator_enabled(environ):
        return "simulator"
    return "gpu" if gpu_present() else "none"


def use_simulator_without_gpu(environ: Any = None) -> str:
    """Turn the simulator on in `environ` (default: this process) when there is no GPU and nobody chose.

    Must run before numba is imported in the process that will use the environment. Returns the mode."""
    env = os.environ if environ is None else environ
    if SIMULATOR_ENV not in env and not gpu_present():
        env[SIMULATOR_ENV] = "1"
        if env is os.environ and "numba.core.config" in sys.modules and "numba.cuda" not in sys.modules:
            sys.modules["numba.core.config"].reload_config()  # numba was imported already: re-read the env
    return mode(env)


def skip_reason(test_file: str) -> str:
    """Why cuda tests cannot run here, and the command that runs them."""
    return (f"no GPU and the CUDA simulator is off ({SIMULATOR_ENV}={os.environ.get(SIMULATOR_ENV, '')!r}); run "
            f"them with `{SIMULATOR_ENV}=1 .venv/bin/pytest {test_file}` or `mtdg check ex07`")


def describe_mode(environ: Any = None) -> str:
    """One line for test headers and grader notes."""
    which = mode(environ)
    if which == "simulator":
        return (f"CUDA kernels run in numba's CUDA simulator ({SIMULATOR_ENV}=1): it checks results, not speed; "
                "shapes are kept small")
    if which == "gpu":
        return "CUDA kernels run on the GPU"
    return f"no GPU and no CUDA simulator: cuda tests are skipped ({ENABLE_HINT})"


def _import_cuda() -> Any:
    """numba.cuda, checked: CudaUnavailable with the reason and the way out when it cannot run kernels."""
    if simulator_enabled() and "numba.cuda" in sys.modules and not _loaded_as_simulator(sys.modules["numba.cuda"]):
        raise CudaUnavailable(
            f"{SIMULATOR_ENV}=1 was set after numba.cuda had already been imported without it, so the simulator "
            f"is not active in this process; {ENABLE_HINT}"
        )
    try:
        from numba import cuda
    except Exception as error:  # noqa: BLE001 - numba-cuda or its CUDA bindings are missing or broken
        from .cuda_versions import describe_import_failure

        raise CudaUnavailable(describe_import_failure(error)) from None
    if _loaded_as_simulator(cuda):
        return cuda
    from .cuda_pool import install_if_requested  # the caching allocator, on unless MTDG_CUDA_POOL turns it off

    install_if_requested(cuda)
    try:
        available = bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver counts as no GPU
        available = False
    if not available:
        raise CudaUnavailable(
            "device='cuda' needs a CUDA GPU, and this machine has none that numba can use (no NVIDIA driver or "
            f"device). To run the CUDA kernels anyway, {ENABLE_HINT}."
        )
    from numba.cuda.dispatcher import CUDADispatcher

    from .cuda_launch import install  # launches below numba's dispatcher, on unless MTDG_CUDA_FAST_LAUNCH turns it off

    install(CUDADispatcher)
    return cuda


def _loaded_as_simulator(cuda_module: Any) -> bool:
    """True when this numba.cuda module object is the simulator's."""
    return ".simulator." in str(getattr(cuda_module.to_device, "__module__", ""))


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


VIEW_ATTRIBUTE = "_cuda_view"  # where CudaBackend.view keeps a TensorData's DeviceTensor


class DeviceTensor(NamedTuple):
    """What a kernel launcher gets for one tensor (see exercises/ex07_cuda.md)."""

    storage: Any  # 1-D device array
    shape: tuple[int, ...]  # host copy of the shape, for launch configuration
    size: int  # number of elements
    device_shape: Any  # int64 device array
    device_strides: Any  # int64 device array
    contiguous: bool = False  # element i (row-major) is at storage position i: kernels may skip index arithmetic


class CudaBackend:
    """Runs map / zip / reduce / matmul of cuda tensors with ex07's kernels."""

    name = "cuda"
    device = "cuda"
    LAYOUT_CACHE = 4096  # distinct (shape, strides) pairs kept on the device

    def __init__(self) -> None:
        self.cuda = _import_cuda()
        self.simulated = _loaded_as_simulator(self.cuda)
        self._allocator: Any = None if self.simulated else _DirectAllocator()
        self._layouts: OrderedDict[tuple[tuple[int, ...], tuple[int, ...]], tuple[Any, Any]] = OrderedDict()
        self.layout_uploads = 0  # how many (shape, strides) pairs were copied to the device (for tests)

    # -- layouts ------------------------------------------------------------------------------------

    def layout(self, shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[Any, Any]:
        """The int64 device arrays of `shape` and `strides` (a 0-d tensor is laid out as shape (1,))."""
        key = (tuple(shape), tuple(strides))
        found = self._layouts.get(key)
        if found is not None:
            self._layouts.move_to_end(key)
            return found
        dims = key if key[0] else ((1,), (0,))
        found = (self.cuda.to_device(np.array(dims[0], dtype=np.int64)),
                 self.cuda.to_device(np.array(dims[1], dtype=np.int64)))
        self.layout_uploads += 1
        self._layouts[key] = found
        if len(self._layouts) > self.LAYOUT_CACHE:
            self._layouts.popitem(last=False)
        return found

    def view(self, data: TensorData) -> DeviceTensor:
        """A TensorData of this device as the kernels see it (made once per TensorData and kept on it: its
        storage, shape and strides never change)."""
        found = data.__dict__.get(VIEW_ATTRIBUTE)
        if found is not None:
            return found  # type: ignore[no-any-return]
        if data.device != "cuda":
            raise RuntimeError(f"the CUDA backend was handed a tensor on {data.device}; move it with .cuda() first")
        device_shape, device_strides = self.layout(data.shape, data.strides)
        found = DeviceTensor(data.storage, tuple(data.shape), data.size, device_shape, device_strides,
                             _is_contiguous(tuple(data.shape), tuple(data.strides)))
        data.__dict__[VIEW_ATTRIBUTE] = found
        return found

    def scratch(self, shape: tuple[int, ...]) -> DeviceTensor:
        """A fresh contiguous float64 DeviceTensor, not initialised (partial results of multi-pass kernels,
        which write every element)."""
        strides = _contiguous_strides(shape)
        return self.view(TensorData.fresh(self.uninitialized(shape, np.float64), shape, strides, "cuda"))

    # -- kernels ------------------------------------------------------------------------------------

    def map(self, op: str, a: TensorData, out: TensorData) -> None:
        ex07.tensor_map(op, self.view(out), self.view(a))

    def zip(self, op: str, a: TensorData, b: TensorData, out: TensorData) -> None:
        ex07.tensor_zip(op, self.view(out), self.view(a), self.view(b))

    def reduce(self, op: str, a: TensorData, dim: int, out: TensorData) -> None:
        ex07.tensor_reduce(op, self.view(out), self.view(a), dim, self.scratch)

    def matmul(self, a: TensorData, b: TensorData, out: TensorData) -> None:
        ex07.tensor_matmul(self.view(out), self.view(a), self.view(b))

    # -- memory -------------------------------------------------------------------------------------

    def empty(self, shape: tuple[int, ...], np_dtype: Any) -> Any:
        """A zero-filled 1-D device array with room for `shape`."""
        size = math.prod(shape)
        dtype = np.dtype(np_dtype)
        if self.simulated or size == 0:
            return self.cuda.to_device(np.zeros(size, dtype=dtype))
        array = self._allocate(size, dtype)
        try:
            from numba.cuda.cudadrv.driver import device_memset

            device_memset(array, 0, array.nbytes)
        except Exception:  # noqa: BLE001 - no memset in this numba-cuda: copy zeros instead
            array = self.cuda.to_device(np.zeros(size, dtype=dtype))
        return array

    def uninitialized(self, shape: tuple[int, ...], np_dtype: Any) -> Any:
        """A 1-D device array with room for `shape`, for a kernel to overwrite: on a GPU its bytes are whatever
        was there (no memset, no copy from the host); in the simulator it is filled with NaN (a huge int,
        True), so that a kernel that leaves an element unwritten shows it."""
        size = math.prod(shape)
        dtype = np.dtype(np_dtype)
        if self.simulated or size == 0:
            host = np.empty(size, dtype=dtype)
            poison(host)
            return self.cuda.to_device(host)
        return self._allocate(size, dtype)

    def _allocate(self, size: int, dtype: np.dtype) -> Any:
        """A 1-D device array of `size` elements, not initialised (a real GPU)."""
        array = self._allocator(size, dtype)
        return self.cuda.device_array(size, dtype=dtype) if array is None else array

    def to_host(self, storage: Any) -> Any:
        return storage.copy_to_host()

    def from_host(self, array: Any) -> Any:
        return self.cuda.to_device(np.ascontiguousarray(array))


class _DirectAllocator:
    """1-D device arrays made without numba.cuda.device_array's per-call work (a context check through a
    decorator and a context manager, and the normalisation of shape, strides and order: about 5 us of the
    15 us an allocation took on an H200): the context is looked up once, on the thread that made the
    backend. On another thread it answers None and the caller uses cuda.device_array."""

    def __init__(self) -> None:
        from numba.cuda.cudadrv import devicearray, devices

        self.context = devices.get_context()
        self.thread = threading.get_ident()
        self.device_array = devicearray.DeviceNDArray

    def __call__(self, size: int, dtype: np.dtype) -> Any:
        if threading.get_ident() != self.thread:
            return None
        itemsize = dtype.itemsize
        return self.device_array((size,), (itemsize,), dtype, gpu_data=self.context.memalloc(size * itemsize))


def _is_contiguous(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """True when every dim of more than one element has the row-major stride (the product of later sizes)."""
    step = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size > 1 and stride != step:
            return False
        step *= size
    return True


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def poison(array: np.ndarray) -> None:
    """Fill a host array with values no correct kernel would read: NaN, a huge int, True. Used for outputs in
    the simulator (`uninitialized`) and for shared memory under the tests' strict schedule."""
    kind = array.dtype.kind
    if kind in "fc":
        array.fill(np.nan)
    elif kind in "iu":
        array.fill(np.iinfo(array.dtype).max // 3)
    elif kind == "b":
        array.fill(True)
