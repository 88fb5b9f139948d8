"""MTDG_DEBUG=1: run the fast backend's kernels with Numba's bounds checking, so that an index outside an
array raises IndexError (naming the index, the axis and the size) instead of reading or writing someone
else's memory, which at best gives wrong numbers and at worst a segmentation fault.

What it takes, measured with numba 0.68:

* `numba.config.BOUNDSCHECK = 1` makes every compilation check indices. It must be set before anything
  is compiled, and Numba's cache does not record it: a kernel cached without checks would be loaded as
  is. So debug builds use their own cache folder (`numba.config.CACHE_DIR`).
* Inside a `prange` loop the check fires but the exception is lost: the loop body runs as a separate
  gufunc on worker threads, which cannot raise, and the kernel returns normally. So in debug mode the
  backend runs every kernel (and every module-level kernel of ex06) serially: the same Python source
  compiled again with parallel=False, where `prange` is a plain `range` and the exception propagates.
* Numba's message is only "index is out of bounds". With `numba.config.FULL_TRACEBACKS` the check also
  prints "index 7 is out of bounds for axis 0 with size 6" (from C, on file descriptor 1); the backend
  captures that line and puts it into the IndexError it raises, with the name of the kernel.

Debug mode is slow (serial, checked, compiled per process): use it to find a bug on small inputs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from ..cache_root import cache_root

ENV = "MTDG_DEBUG"
_MESSAGE = re.compile(rb"debug: IndexError: (index -?\d+ is out of bounds for axis \d+ with size \d+)")


def enabled() -> bool:
    """True when MTDG_DEBUG asks for debug kernels (any value but '', '0', 'false', 'no')."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def cache_folder() -> Path:
    return cache_root() / "numba-debug"


def configure() -> None:
    """Switch Numba to checked builds in their own cache folder (call before anything is compiled)."""
    if not enabled():
        return
    from numba.core import config

    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    config.BOUNDSCHECK = 1
    config.FULL_TRACEBACKS = 1
    config.CACHE_DIR = str(folder)


def serial(kernel: Any) -> Any:
    """The same kernel compiled without parallel=True (prange becomes range) and with bounds checks."""
    from numba import njit

    options = dict(getattr(kernel, "targetoptions", {}))
    if not options.get("parallel"):
        return kernel
    options.pop("nopython", None)  # implied by njit, which warns when it is given
    options.update(parallel=False, boundscheck=True, cache=False)
    return njit(**options)(kernel.py_func)


def serial_function(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (a kernel, or a Python function whose closure holds kernels) with every parallel kernel
    it reaches directly replaced by its serial, checked version."""
    from numba.core.registry import CPUDispatcher

    if isinstance(function, CPUDispatcher):
        return serial(function)
    cells = getattr(function, "__closure__", None)
    if not cells:
        return function
    new_cells = []
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            new_cells.append(cell)
            continue
        if isinstance(value, CPUDispatcher) and value.targetoptions.get("parallel"):
            value = serial(value)
        new_cells.append(types.CellType(value))
    rebuilt = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                                 function.__defaults__, tuple(new_cells))
    rebuilt.__kwdefaults__ = function.__kwdefaults__
    return rebuilt


def serialize_module(module: ModuleType) -> None:
    """Replace the module's parallel module-level kernels by serial checked ones (once per module object)."""
    if getattr(module, "__mtdg_debug_serial__", False):
        return
    from numba.core.registry import CPUDispatcher

    for name, value in list(vars(module).items()):
        if isinstance(value, CPUDispatcher) and value.targetoptions.get("parallel"):
            setattr(module, name, serial(value))
    module.__mtdg_debug_serial__ = True  # type: ignore[attr-defined]


@contextlib.contextmanager
def _capture_fd1() -> Iterator[list[bytes]]:
    """Collect what C code writes to file descriptor 1 (Numba's bounds-check printf) during the block."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    captured: list[bytes] = []
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield captured
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read())


def call(name: str, kernel: Callable[..., Any], *args: Any) -> Any:
    """Run a debug kernel; an IndexError names the kernel and the index that was out of bounds."""
    with _capture_fd1() as captured:
        try:
            return kernel(*args)
        except IndexError as error:
            failure: IndexError | None = error
        else:
            failure = None
    text = captured[0] if captured else b""
    others = b"\n".join(line for line in text.splitlines() if not line.startswith(b"debug: IndexError"))
    if others.strip():
        sys.stdout.write(others.decode("utf-8", "replace") + "\n")
    if failure is None:  # pragma: no cover - the return above left the function
        return None
    found = _MESSAGE.search(text)
    detail = found.group(1).decode() if found else str(failure)
    raise IndexError(f"{name}: {detail} (Numba bounds check, {ENV}=1)") from failure
