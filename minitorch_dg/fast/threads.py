"""How many threads Numba's parallel kernels use, changed only when it must change.

A parallel kernel (`@njit(parallel=True)` with `prange`) wakes every thread of Numba's pool, which costs
about 10 us on an idle machine and far more on a busy one: on the shared 2-core course machine at a load
average of 3, an empty parallel loop took 1.3 ms on average (10 us at the median, 7 ms at the 90th
percentile: the other thread waits for a core). The framework therefore runs work on one thread unless it
is worth about half a millisecond of one core (PARALLEL_MIN elements, MATMUL_PARALLEL_MIN multiply-adds),
and larger work on every thread the program allows.

Switching costs about 1.5 us per `numba.set_num_threads` call, so the count is switched lazily: a small op
lowers it to 1 and leaves it there, and the next large op restores the count it found. Between operations
`numba.get_num_threads()` may therefore read 1; `allowed()` says how many threads the program allows.
Numba's count is per Python thread, and so is this module's memory of it.

Even on one thread, entering a parallel kernel costs about 1.6 us (Numba's scheduler still runs), four times
the whole work of a 10x10 add; `serial_twin(kernel)` compiles the same loop without `parallel=True`
(`prange` then runs as `range`), for kernels to call below PARALLEL_MIN.
"""

from __future__ import annotations

import threading
import types
from typing import Any

import numba

PARALLEL_MIN = 1 << 18  # elements: smaller element-wise ops and reductions (< 0.1-0.3 ms) run on one thread
MATMUL_PARALLEL_MIN = 1 << 24  # multiply-adds: smaller products (about 0.4 ms of one core) run on one thread

numba.get_num_threads()  # starts Numba's thread pool, which the raw reads below need
try:
    from numba.np.ufunc.parallel import _get_num_threads as _read_count  # 0.15 us; the public read is 1 us
except ImportError:  # pragma: no cover - another Numba version: the public, slower read
    _read_count = numba.get_num_threads

_state = threading.local()


def serial() -> None:
    """Make the calling thread's parallel kernels run on one thread (remembering the count to restore)."""
    if _state.__dict__.get("restore"):
        return
    count = _read_count()
    if count != 1:
        _state.restore = count
        numba.set_num_threads(1)


def parallel() -> None:
    """Give the calling thread's parallel kernels the count that `serial()` lowered (if it lowered one)."""
    restore = _state.__dict__.get("restore")
    if restore:
        _state.restore = 0
        numba.set_num_threads(restore)


def allowed() -> int:
    """The number of threads parallel kernels of the calling thread use for large work."""
    return getattr(_state, "restore", 0) or numba.get_num_threads()


def for_work(work: int, limit: int) -> int:
    """Set up the calling thread for `work` units (serial below `limit`); return the thread count in force."""
    if work < limit:
        if not getattr(_state, "restore", 0):
            serial()
        return 1
    parallel()
    return _read_count()


def serial_twin(kernel: Any) -> Any:
    """`kernel` (an `@njit(parallel=True, ...)` function) compiled again without parallel=True, with its
    other options (fastmath, cache, ...): its prange loops run as plain loops on the calling thread."""
    return twin(kernel, "serial", parallel=None)


def twin(kernel: Any, name: str, **changes: Any) -> Any:
    """`kernel` (an `@njit` function) compiled again with its options changed by `changes` (None removes
    one): `twin(k, "serial", parallel=None)`, `twin(k, "nogil", nogil=True)`.

    Numba's cache key holds the function's bytecode and closure but not its options, so the twin is a copy
    of the Python function under another qualified name (`name` appended): its cache entry lives beside the
    original's instead of replacing it."""
    function = kernel.py_func
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__qualname__ = f"{function.__qualname__}_{name}"
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython" and v is not None}
    options.update(changes)
    options = {k: v for k, v in options.items() if v is not None}
    return numba.njit(cache=kernel._cache.__class__.__name__ != "NullCache", **options)(copy)
