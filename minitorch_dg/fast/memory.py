"""A register tile for the matmul micro-kernel: a small fixed-size array on the stack (framework plumbing).

An array made with `np.zeros` in a Numba function lives on the heap, and LLVM must assume that stores
through other arrays may change it, so it reloads and re-stores it on every use. An array of a size
fixed at compile time *on the stack* (an LLVM `alloca`), indexed only with loop counters of loops that
LLVM unrolls completely, is promoted to registers: the accumulator of a TILE_ROWS x TILE_COLS block of
C stays in vector registers for the whole k loop of the micro-kernel.

    acc = register_tile(packed_a)      # TILE_ROWS_MAX x TILE_COLS, of packed_a's dtype (not zeroed)
    rows = tile_rows(packed_a)         # MR for packed_a's dtype on this CPU: a compile-time constant
    NR = TILE_COLS                     # the tile's columns on this CPU

The tile's shape depends on the CPU Numba compiles for (`wide_vectors()`), and on the micro-kernel's loop
order: for each k, the j loop over the NR columns outside, the i loop over the MR rows inside (so that one
vector of B serves MR rows, and LLVM vectorises the j loop).

* AVX-512 (32 vector registers of 16 float32 / 8 float64): MR x NR = 4 x 64 for float32 and 2 x 64 for
  float64, 16 registers each.
* AVX2 and older (16 registers of 8 float32 / 4 float64): 4 x 16 for both dtypes, 8 float32 or 16 float64
  registers. On one core of an AMD EPYC Milan (no AVX-512) the 4 x 16 float32 micro-kernel reaches 93
  GFLOP/s, the 4 x 64 tile 30 (its 32 accumulators spill to the stack on every k); see
  docs/ex06_measurements.md.

The product MR x NR must stay >= 64: with a smaller tile LLVM unrolls the column loop completely before its
vectoriser sees it and the micro-kernel runs on scalars (4 GFLOP/s instead of 90).

The tile must only be used inside the function that calls `register_tile` (it is that function's
stack memory); `register_tile` is inlined into its caller so that this holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

TILE_ROWS_MAX = 4


def wide_vectors() -> bool:
    """True when Numba compiles for a CPU with AVX-512 (NUMBA_CPU_FEATURES if set, else the host's)."""
    from numba.core import config

    features = config.CPU_FEATURES
    if not features:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in str(features).split(",")


_WIDE = wide_vectors()
TILE_COLS = 64 if _WIDE else 16  # NR (see the module docstring)
_ROWS32, _ROWS64 = (4, 2) if _WIDE else (4, 4)  # MR for float32 / float64
_TILE_SIZE = TILE_ROWS_MAX * TILE_COLS


@intrinsic
def _stack_buffer(typingctx, size, dtype):  # type: ignore[no-untyped-def]
    """A pointer to `size` (a literal int) elements of `dtype` in the calling function's stack frame."""
    if not isinstance(size, types.IntegerLiteral) or not isinstance(dtype, types.DType):
        return None
    count = size.literal_value
    element = dtype.dtype

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return cgutils.alloca_once(builder, context.get_value_type(element),
                                   size=context.get_constant(types.intp, count))

    return types.CPointer(element)(size, dtype), codegen


def tile_rows(like: Any) -> int:
    """Rows MR of the register tile for `like`'s dtype (an array or a dtype): with AVX-512 4 for float32 and 2
    for float64, otherwise 4 for both."""
    dtype = like.dtype if isinstance(like, np.ndarray) else np.dtype(like)
    return _ROWS32 if dtype.itemsize <= 4 else _ROWS64


def register_tile(like: Any) -> Any:
    """A TILE_ROWS_MAX x TILE_COLS array of `like`'s dtype, on the stack of the calling kernel (not zeroed)."""
    return np.zeros((TILE_ROWS_MAX, TILE_COLS), dtype=np.asarray(like).dtype)


@overload(tile_rows, inline="always")
def _tile_rows_numba(like):  # type: ignore[no-untyped-def]  (Numba compares these names with the impl's)
    dtype = like.dtype if isinstance(like, types.Array) else like
    rows = _ROWS32 if getattr(dtype, "bitwidth", 64) <= 32 else _ROWS64
    return lambda like: rows


@overload(register_tile, inline="always")
def _register_tile_numba(like):  # type: ignore[no-untyped-def]
    if not isinstance(like, types.Array):
        raise TypingError("register_tile(like) takes an array (its dtype is the tile's)")
    return lambda like: carray(_stack_buffer(_TILE_SIZE, like.dtype), (TILE_ROWS_MAX, TILE_COLS))
