"""Framework plumbing for the fast CPU backend (ex06): what Numba kernels may call besides themselves.

    from minitorch_dg.fast import op_id, unary, binary, fold, identity       # element functions (ops.py)
    from minitorch_dg.fast import size_of, position, is_contiguous, flat_size  # index arithmetic (indexing.py)
    from minitorch_dg.fast import register_tile, tile_rows, TILE_COLS        # matmul register tile (memory.py)
    from minitorch_dg.fast import serial_twin, PARALLEL_MIN                  # small work on one thread (threads.py)

Nothing here is an exercise: students call these from their kernels in exercises/ex06_fast_cpu.py.
The backend itself (minitorch_dg/backends/fast.py) uses layout.py to simplify shapes before a call.

With MTDG_DEBUG=1 in the environment, Numba is switched to bounds-checked builds before anything is
compiled (see debug.py).
"""

from __future__ import annotations

from . import debug

debug.configure()  # before any of the modules below compiles or loads a kernel

from .indexing import flat_size, is_contiguous, position, same_strides, size_of  # noqa: E402
from .memory import TILE_COLS, TILE_ROWS_MAX, register_tile, tile_rows  # noqa: E402
from .ops import FRAMEWORK_STAMP, binary, fold, identity, op_id, op_name, unary  # noqa: E402
from .threads import MATMUL_PARALLEL_MIN, PARALLEL_MIN, serial_twin  # noqa: E402

__all__ = [
    "MATMUL_PARALLEL_MIN", "PARALLEL_MIN", "serial_twin",
    "FRAMEWORK_STAMP", "TILE_COLS", "TILE_ROWS_MAX", "binary", "flat_size", "fold", "identity", "is_contiguous",
    "op_id",
    "op_name", "position", "register_tile", "same_strides", "size_of", "tile_rows", "unary",
]
