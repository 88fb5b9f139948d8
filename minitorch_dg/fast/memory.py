"""A register tile for the matmul micro-kernel: a small fixed-size array on the stack (framework plumbing).

An array made with `np.zeros` in a Numba function lives on the heap, and LLVM must assume that stores
through other arrays may change it, so it reloads and re-stores it on every use. An array of a size
fixed at compile time *on the stack* (an LLVM `alloca`), indexed only with loop counters of loops that
LLVM unrolls completely, is promoted to registers: the accumulator of a TILE_ROWS x TILE_COLS block of
C stays in vector registers for the whole k loop of the micro-kernel.

    acc = register_tile(packed_a)      # TILE_ROWS_MAX x TILE_COLS, of packed_a's dtype (not zeroed)
    rows = tile_rows(packed_a)         # 4 for float32, 2 for float64: a compile-time constant

Sizes measured on this machine (AVX-512: 32 vector registers of 16 float32 / 8 float64): a 4 x 64
float32 tile is 16 registers, a 2 x 64 float64 tile is 16 registers. TILE_COLS must be >= 64: with
a narrower tile LLVM unrolls the column loop before its vectoriser sees it and vectorises the k loop
instead, with gathers (4 GFLOP/s instead of 240, see the ex06 handout).

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

TILE_COLS = 64
TILE_ROWS_MAX = 4
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
    """Rows of the register tile for `like`'s dtype: 4 (4-byte float32) or 2 (8-byte float64)."""
    return 4 if np.asarray(like).dtype.itemsize <= 4 else 2


def register_tile(like: Any) -> Any:
    """A TILE_ROWS_MAX x TILE_COLS array of `like`'s dtype, on the stack of the calling kernel (not zeroed)."""
    return np.zeros((TILE_ROWS_MAX, TILE_COLS), dtype=np.asarray(like).dtype)


@overload(tile_rows, inline="always")
def _tile_rows_numba(like):  # type: ignore[no-untyped-def]  (Numba compares these names with the impl's)
    dtype = like.dtype if isinstance(like, types.Array) else like
    rows = 4 if getattr(dtype, "bitwidth", 64) <= 32 else 2
    return lambda like: rows


@overload(register_tile, inline="always")
def _register_tile_numba(like):  # type: ignore[no-untyped-def]
    if not isinstance(like, types.Array):
        raise TypingError("register_tile(like) takes an array (its dtype is the tile's)")
    return lambda like: carray(_stack_buffer(_TILE_SIZE, like.dtype), (TILE_ROWS_MAX, TILE_COLS))
