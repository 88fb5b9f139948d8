"""Index arithmetic for Numba kernels: ex03's rules, compiled (framework plumbing for ex06).

ex03's functions are plain Python in an exercise module. A Numba kernel must not call them: Numba
would compile them into the kernel, and its on-disk cache only watches the kernel's own file, so a
cached ex06 kernel would keep running old ex03 code after ex03 changed. These are the same rules,
written once here for compiled code. Shapes and strides arrive as 1-D int64 numpy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit


@njit(cache=True)
def size_of(shape: Any) -> int:
    """The number of elements of a tensor of this shape (1 for a 0-d tensor)."""
    n = 1
    for s in shape:
        n *= s
    return n


@njit(cache=True)
def position(ordinal: int, shape: Any, strides: Any) -> int:
    """The storage position of the element that comes `ordinal`-th in row-major order over `shape`.

    to_index(ordinal, shape) followed by index_to_position(index, strides), without building the index.
    """
    pos = 0
    rest = np.int64(ordinal)  # a prange index is unsigned; mixing it with int64 in one variable gives float64
    for d in range(len(shape) - 1, -1, -1):
        size = shape[d]
        pos += (rest % size) * strides[d]
        rest //= size
    return pos


@njit(cache=True)
def is_contiguous(shape: Any, strides: Any) -> bool:
    """True when the elements are packed in row-major order with no gaps (dims of size 1 may have any stride)."""
    expected = 1
    for d in range(len(shape) - 1, -1, -1):
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True


@njit(cache=True)
def same_strides(shape: Any, first: Any, second: Any) -> bool:
    """True when two views of `shape` step through their storages identically (dims of size 1 excepted)."""
    for d in range(len(shape)):
        if shape[d] != 1 and first[d] != second[d]:
            return False
    return True


@njit(cache=True)
def flat_size(shape: Any, out_strides: Any, a_strides: Any, b_strides: Any) -> int:
    """size_of(shape) when out, a and b step through `shape` identically and contiguously, so that element i
    of all three is at storage position i (one flat loop serves); -1 otherwise. For a map, pass a's strides
    twice. One compiled call instead of four: each call from Python into Numba costs about 0.3 us, which is
    a tenth of a small element-wise op."""
    expected = 1
    for d in range(len(shape) - 1, -1, -1):
        n = shape[d]
        if n != 1 and (out_strides[d] != expected or a_strides[d] != expected or b_strides[d] != expected):
            return -1
        expected *= n
    return expected
