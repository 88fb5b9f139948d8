"""A strict schedule for numba's CUDA simulator, for tests: one simulated thread at a time, shared memory poisoned.

The stock simulator runs the threads of a block concurrently, as Python threads, in whatever order the
interpreter picks. A kernel that forgets a `cuda.syncthreads()` then usually still gives the right
answer, because a neighbour has happened to write its slot in time. Under `serial_schedule()`:

* the threads of a block run one at a time, in thread order (x fastest), each until its next
  `cuda.syncthreads()` or its end; so without the barrier, a thread that reads a neighbour's slot reads it
  before the neighbour has written it, every time;
* shared memory is filled with NaN (a huge int, True) before every block, so such a read shows;
* a barrier that only some threads of a block reach (the others returned, or wait at another barrier)
  raises `BarrierError` instead of being glossed over (on a GPU it hangs or reads garbage);
* every kernel launch is logged (`ScheduleLog`), on a real GPU too, where kernels run as usual: the
  launch-shape tests of ex07 mean the same there.

It is grading harness, not framework. ex07's exercise code runs only in its worker (grader/worker.py), which
enters the schedule for its whole life when the judge starts it with `--cuda-schedule` (judge.py,
`CUDA_SCHEDULED`) and imports this module, the one part of the grader besides worker.py that a worker may
import (the sandbox's stage holds a copy of both). The launch log reaches the judge as data: a program
returns `active_log().records(first)`, lists of [kernel name, grid, block, function id] in which the id
numbers the compiled kernel functions of that worker in the order they first ran (`Launch.function` is then
that int, not the function). The framework's cuda tests and the cuda benchmarks enter the schedule in their
own process through tests/support/cuda_schedule.py, which re-exports this module. It imports numpy and the
framework's cuda backend only; it patches the simulator's BlockManager and shared-memory allocator while
the block is open.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorch_dg.backends.cuda import poison, simulator_enabled


class BarrierError(RuntimeError):
    """Threads of one block did not all reach the same cuda.syncthreads() (undefined behaviour on a GPU)."""


@dataclass
class Launch:
    kernel: str  # the kernel function's name
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    function: Any = None  # the Python function behind the kernel (one per compiled kernel); its id as data


@dataclass
class ScheduleLog:
    """What ran under `serial_schedule`: one Launch per kernel launch, in order."""

    launches: list[Launch] = field(default_factory=list)
    _ids: dict[int, tuple[int, Any]] = field(default_factory=dict, repr=False)  # id(function) -> (number, function)

    def of(self, kernel: str) -> list[Launch]:
        return [launch for launch in self.launches if launch.kernel == kernel]

    def function_id(self, function: Any) -> int:
        """A number for a kernel function, stable for this log: 1 for the first function launched, 2 for the
        next other one, ... (the log keeps each function, so Python never reuses its id for another)."""
        found = self._ids.get(id(function))
        if found is None:
            found = self._ids[id(function)] = (len(self._ids) + 1, function)
        return found[0]

    def records(self, first: int = 0) -> list[list[Any]]:
        """The launches from number `first` on as data: [kernel name, grid, block, function id] each, with
        grid and block as lists of three ints (what a worker sends the judge; `Launch(*record)` rebuilds one)."""
        return [[launch.kernel, [int(v) for v in launch.grid], [int(v) for v in launch.block],
                 self.function_id(launch.function)] for launch in self.launches[first:]]


_schedule_lock = threading.Lock()
_active_log: ScheduleLog | None = None  # the simulator's: its BlockManager appends to it
_current_log: ScheduleLog | None = None  # the innermost open serial_schedule's, simulated or on a GPU


def active_log() -> ScheduleLog | None:
    """The log of the serial_schedule open in this process (on the simulator or a GPU), or None."""
    return _current_log


@contextlib.contextmanager
def serial_schedule() -> Iterator[ScheduleLog]:
    """Run simulated kernels strictly: threads of a block one at a time in thread order (x fastest), each
    until its next cuda.syncthreads() or its end; shared memory is NaN before every block; a barrier that
    only some threads reach raises BarrierError. Each launch is logged, on a real GPU too (where kernels
    run as usual)."""
    global _current_log
    log = ScheduleLog()
    outer, _current_log = _current_log, log
    try:
        with _serial_or_logged(log):
            yield log
    finally:
        _current_log = outer


@contextlib.contextmanager
def _serial_or_logged(log: ScheduleLog) -> Iterator[None]:
    """The simulator under the serial schedule, logging into `log`; on a GPU, only the logging."""
    global _active_log
    if not simulator_enabled():
        with _logged_gpu_launches(log):
            yield
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
                poison(found)
                self._allocations[key] = found
            return found

        sim_kernel.BlockManager = manager
        kernelapi.FakeCUDAShared.array = poisoned_array
        _active_log = log
        try:
            yield
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
    """On a GPU nothing is simulated, but launches are still logged: those through numba when a kernel is
    configured, those of the fast path (minitorch_dg/backends/cuda_launch.py) by its observer hook."""
    try:
        from numba.cuda.dispatcher import CUDADispatcher
    except Exception:  # noqa: BLE001 - no numba-cuda: nothing will be launched anyway
        yield
        return
    original = CUDADispatcher.configure

    from minitorch_dg.backends import cuda_launch

    def logged(dispatcher: Any, griddim: Any, blockdim: Any) -> None:
        kernel = dispatcher.py_func
        log.launches.append(Launch(kernel.__name__, tuple(griddim), tuple(blockdim), kernel))  # type: ignore[arg-type]

    def configure(self: Any, griddim: Any, blockdim: Any, stream: Any = 0, sharedmem: Any = 0) -> Any:
        launch = original(self, griddim, blockdim, stream, sharedmem)
        logged(self, launch.griddim, launch.blockdim)
        return launch

    with _schedule_lock:
        CUDADispatcher.configure = configure  # launches through numba's dispatcher
        cuda_launch.observers.append(logged)  # launches on the framework's fast path (backends/cuda_launch.py)
        try:
            yield
        finally:
            CUDADispatcher.configure = original
            cuda_launch.observers.remove(logged)


def _serial_manager_class(sim_kernel: Any) -> type:
    """A BlockManager (the simulator's per-block driver) that runs one thread at a time on the pool."""
    base_manager = sim_kernel.BlockManager
    dim3 = sim_kernel.Dim3

    class SerialBlockManager(base_manager):  # type: ignore[misc, valid-type]
        def run(self, grid_point: Any, *args: Any) -> None:
            context = sim_kernel._get_kernel_context()
            if context is not None:
                for array in getattr(context.shared, "_allocations", {}).values():
                    poison(array)
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
