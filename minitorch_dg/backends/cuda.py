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

`serial_schedule()` is a stricter simulator for tests: one simulated thread at a time, in thread
order, with shared memory filled with NaN before each block. Under it, a missing `cuda.syncthreads()`
is certain to show (a thread reads a neighbour's slot before the neighbour has written it), and a
barrier that only some threads of a block reach is reported instead of being glossed over.

This module does not import numba until a cuda tensor is made, so importing it is cheap.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    if os.environ.get("MTDG_CUDA_POOL", "").strip() not in ("", "0"):  # opt-in caching allocator (cuda_pool.py)
        from .cuda_pool import install_if_requested

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
    return cuda


def _loaded_as_simulator(cuda_module: Any) -> bool:
    """True when this numba.cuda module object is the simulator's."""
    return ".simulator." in str(getattr(cuda_module.to_device, "__module__", ""))


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


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
        """A TensorData of this device as the kernels see it."""
        if data.device != "cuda":
            raise RuntimeError(f"the CUDA backend was handed a tensor on {data.device}; move it with .cuda() first")
        device_shape, device_strides = self.layout(data.shape, data.strides)
        return DeviceTensor(data.storage, tuple(data.shape), data.size, device_shape, device_strides,
                            _is_contiguous(tuple(data.shape), tuple(data.strides)))

    def scratch(self, shape: tuple[int, ...]) -> DeviceTensor:
        """A fresh contiguous float64 DeviceTensor, not initialised (partial results of multi-pass kernels,
        which write every element)."""
        strides = _contiguous_strides(shape)
        return self.view(TensorData(self.uninitialized(shape, np.float64), shape, strides, "cuda"))

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
        array = self.cuda.device_array(size, dtype=dtype)
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
            _poison(host)
            return self.cuda.to_device(host)
        return self.cuda.device_array(size, dtype=dtype)

    def to_host(self, storage: Any) -> Any:
        return storage.copy_to_host()

    def from_host(self, array: Any) -> Any:
        return self.cuda.to_device(np.ascontiguousarray(array))


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


# ---------------------------------------------------------------------------------------------------
# A strict schedule for the simulator: one thread at a time, shared memory poisoned
# ---------------------------------------------------------------------------------------------------


class BarrierError(RuntimeError):
    """Threads of one block did not all reach the same cuda.syncthreads() (undefined behaviour on a GPU)."""


@dataclass
class Launch:
    kernel: str  # the kernel function's name
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    function: Any = None  # the Python function behind the kernel (one per compiled kernel)


@dataclass
class ScheduleLog:
    """What ran under `serial_schedule`: one Launch per kernel launch, in order."""

    launches: list[Launch] = field(default_factory=list)

    def of(self, kernel: str) -> list[Launch]:
        return [launch for launch in self.launches if launch.kernel == kernel]


_schedule_lock = threading.Lock()
_active_log: ScheduleLog | None = None


def _poison(array: np.ndarray) -> None:
    """Fill a simulated shared array with values no correct kernel would read: NaN, a huge int, True."""
    kind = array.dtype.kind
    if kind in "fc":
        array.fill(np.nan)
    elif kind in "iu":
        array.fill(np.iinfo(array.dtype).max // 3)
    elif kind == "b":
        array.fill(True)


@contextlib.contextmanager
def serial_schedule() -> Iterator[ScheduleLog]:
    """Run simulated kernels strictly: threads of a block one at a time in thread order (x fastest), each
    until its next cuda.syncthreads() or its end; shared memory is NaN before every block; a barrier that
    only some threads reach raises BarrierError. Each launch is logged, on a real GPU too (where kernels
    run as usual)."""
    global _active_log
    log = ScheduleLog()
    if not simulator_enabled():
        with _logged_gpu_launches(log):
            yield log
        return
    from numba.cuda.simulator import kernel as sim_kernel
    from numba.cuda.simulator import kernelapi

    with _schedule_lock:
        original_manager = sim_kernel.BlockManager
        original_array = kernelapi.FakeCUDAShared.array
        manager = _serial_manager_class(sim_kernel)

        def poisoned_array(self: Any, shape: Any, dtype: Any, alignment: Any = None) -> Any:
            if shape == 0 or alignment is not None:  # dynamic shared memory, or the simulator's own error
                return original_array(self, shape, dtype, alignment)
            if not isinstance(dtype, np.dtype) and not isinstance(dtype, type):
                from numba.cuda.np import numpy_support

                dtype = numpy_support.as_dtype(dtype)
            caller = sys._getframe(1)  # the kernel line that declares the array, as the simulator keys it
            key = (caller.f_code.co_filename, caller.f_lineno)
            found = self._allocations.get(key)
            if found is None:
                found = np.empty(shape, dtype)
                _poison(found)
                self._allocations[key] = found
            return found

        sim_kernel.BlockManager = manager
        kernelapi.FakeCUDAShared.array = poisoned_array
        _active_log = log
        try:
            yield log
        finally:
            sim_kernel.BlockManager = original_manager
            kernelapi.FakeCUDAShared.array = original_array
            _active_log = None


class _PoolThread(threading.Thread):
    """A reusable stand-in for the simulator's BlockThread: runs one simulated GPU thread per job.

    Creating a Python thread costs about half a millisecond, so the serial schedule keeps a pool and
    hands each block's threads to it; the simulator reads threadIdx, blockIdx and syncthreads() from
    `threading.current_thread()`, which is this object while it runs a job."""

    def __init__(self, number: int) -> None:
        super().__init__(name=f"cudasim-serial-{number}", daemon=True)
        self.go = threading.Semaphore(0)
        self.job: Any = None
        self.manager: Any = None
        self.state = "idle"
        self.abort = False
        self.exception: tuple[BaseException, Any] | None = None
        self.barrier_site: tuple[str, int] | None = None
        self.threadIdx: Any = None
        self.blockIdx: Any = None
        self.thread_id = 0
        self.retired = False  # set when the pool is discarded: the thread ends at its next chance

    def run(self) -> None:
        while not self.retired:
            self.go.acquire()
            job = self.job
            if job is None or self.retired:
                return
            try:
                if not self.abort:
                    job()
            except Exception as error:  # noqa: BLE001 - handed to the launching thread, as the simulator does
                error.add_note(f"in simulated GPU thread threadIdx={tuple(self.threadIdx)} of block "
                               f"blockIdx={tuple(self.blockIdx)}")
                self.exception = (error, error.__traceback__)
            finally:
                self.job = None
                self.state = "done"
                self.manager.turn_over.release()

    def syncthreads(self) -> None:
        if self.abort:
            raise RuntimeError("abort flag set on syncthreads call")
        caller = sys._getframe(2)  # the kernel line that called cuda.syncthreads()
        self.barrier_site = (caller.f_code.co_filename, caller.f_lineno)
        self.state = "barrier"
        self.manager.turn_over.release()
        self.go.acquire()
        if self.abort:
            raise RuntimeError("abort flag set on syncthreads clear")
        self.state = "running"

    def _vote(self, value: Any) -> Any:
        idx = self.threadIdx.x, self.threadIdx.y, self.threadIdx.z
        self.manager.block_state[idx] = value
        self.syncthreads()
        state = self.manager.block_state.copy()
        self.syncthreads()
        return state

    def syncthreads_count(self, value: Any) -> int:
        return int(np.count_nonzero(self._vote(value)))

    def syncthreads_and(self, value: Any) -> int:
        return 1 if np.all(self._vote(value)) else 0

    def syncthreads_or(self, value: Any) -> int:
        return 1 if np.any(self._vote(value)) else 0


_pool: list[_PoolThread] = []


POOL_STACK_BYTES = 1 << 20  # a simulated thread runs shallow Python: 1 MiB of stack, not the default 8 MiB


def _pool_of(count: int) -> list[_PoolThread]:
    if len(_pool) < count:
        previous = threading.stack_size(POOL_STACK_BYTES)
        try:
            while len(_pool) < count:
                worker = _PoolThread(len(_pool))
                worker.start()
                _pool.append(worker)
        finally:
            threading.stack_size(previous)
    return _pool[:count]


@contextlib.contextmanager
def _logged_gpu_launches(log: ScheduleLog) -> Iterator[None]:
    """On a GPU nothing is simulated, but launches are still logged (when a kernel is configured)."""
    try:
        from numba.cuda.dispatcher import CUDADispatcher
    except Exception:  # noqa: BLE001 - no numba-cuda: nothing will be launched anyway
        yield
        return
    original = CUDADispatcher.configure

    def configure(self: Any, griddim: Any, blockdim: Any, stream: Any = 0, sharedmem: Any = 0) -> Any:
        launch = original(self, griddim, blockdim, stream, sharedmem)
        kernel = self.py_func
        log.launches.append(Launch(kernel.__name__, tuple(launch.griddim), tuple(launch.blockdim), kernel))  # type: ignore[arg-type]
        return launch

    with _schedule_lock:
        CUDADispatcher.configure = configure
        try:
            yield
        finally:
            CUDADispatcher.configure = original


def _serial_manager_class(sim_kernel: Any) -> type:
    """A BlockManager (the simulator's per-block driver) that runs one thread at a time on the pool."""
    base_manager = sim_kernel.BlockManager
    dim3 = sim_kernel.Dim3

    class SerialBlockManager(base_manager):  # type: ignore[misc, valid-type]
        def run(self, grid_point: Any, *args: Any) -> None:
            context = sim_kernel._get_kernel_context()
            if context is not None:
                for array in getattr(context.shared, "_allocations", {}).values():
                    _poison(array)
            if _active_log is not None and not any(grid_point):
                grid = tuple(context.gridDim) if context is not None else ()
                kernel = getattr(self._f, "__wrapped__", self._f)
                _active_log.launches.append(Launch(kernel.__name__, grid, tuple(self._block_dim), kernel))  # type: ignore[arg-type]
            self.turn_over = threading.Semaphore(0)
            bx, by, bz = self._block_dim
            workers = _pool_of(bx * by * bz)
            block = dim3(*grid_point)
            target = self._f
            for number, worker in enumerate(workers):
                tx, rest = number % bx, number // bx
                worker.threadIdx = dim3(tx, rest % by, rest // by)
                worker.blockIdx = block
                worker.thread_id = number
                worker.manager = self
                worker.abort = False
                worker.exception = None
                worker.barrier_site = None
                worker.state = "ready"
                worker.job = lambda: target(*args)
            waiting = list(workers)
            completed = False
            try:
                while waiting:
                    for worker in waiting:
                        worker.go.release()
                        self.turn_over.acquire()
                        if worker.exception:
                            error, trace = worker.exception
                            raise error.with_traceback(trace)
                    at_barrier = [w for w in waiting if w.state == "barrier"]
                    finished = [w for w in waiting if w.state == "done"]
                    if at_barrier and finished:
                        raise BarrierError(_divergence(grid_point, at_barrier, finished))
                    if len({w.barrier_site for w in at_barrier}) > 1:
                        raise BarrierError(_split_barrier(grid_point, at_barrier))
                    waiting = at_barrier
                completed = True
            finally:
                if completed:
                    for worker in workers:
                        worker.state = "idle"
                else:
                    _retire(workers)

    return SerialBlockManager


def _retire(workers: list[_PoolThread]) -> None:
    """After an error (or a timeout) mid-block: discard the pool without waiting for it. Workers waiting for
    their turn end; those waiting at a barrier raise there and end; one caught in an endless loop is left
    behind (Python cannot stop a thread). The next block starts a fresh pool."""
    everyone = list(_pool) + [w for w in workers if w not in _pool]
    _pool.clear()
    for worker in everyone:
        worker.retired = True
        worker.abort = True
        if worker.state in ("idle", "ready", "barrier", "done"):
            worker.go.release()


def _thread_names(threads: list[Any], limit: int = 4) -> str:
    names = [str(tuple(t.threadIdx)) for t in threads[:limit]]
    return ", ".join(names) + (f" and {len(threads) - limit} more" if len(threads) > limit else "")


def _divergence(block: Any, waiting: list[Any], finished: list[Any]) -> str:
    file, line = waiting[0].barrier_site or ("?", 0)
    return (
        f"block {tuple(block)}: threads {_thread_names(waiting)} wait at cuda.syncthreads() "
        f"({os.path.basename(file)}:{line}) while threads {_thread_names(finished)} have already returned. Every "
        "thread of a block must reach every syncthreads(): on a GPU this hangs or reads garbage. Do not "
        "return early or put syncthreads() under a condition that differs between threads; guard the "
        "loads and stores instead."
    )


def _split_barrier(block: Any, waiting: list[Any]) -> str:
    sites = sorted({f"{os.path.basename(t.barrier_site[0])}:{t.barrier_site[1]}" for t in waiting if t.barrier_site})
    return (
        f"block {tuple(block)}: threads wait at different cuda.syncthreads() calls ({', '.join(sites)}) at "
        "the same time. All threads of a block must pass the same barriers in the same order: do not put "
        "syncthreads() inside a branch that depends on the thread."
    )
