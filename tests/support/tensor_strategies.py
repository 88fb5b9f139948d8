"""Hypothesis strategies for tensor tests: shapes, broadcastable pairs, arrays, permutations."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_SIDE = 4


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes with 0 (a 0-d tensor) to 4 dims, sides 1..4 (size-1 dims included)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@st.composite
def broadcast_pairs(draw: st.DrawFn, max_dims: int = 4) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast together: drop leading dims and set some sizes to 1 on either side."""
    full = draw(shapes(min_dims=0, max_dims=max_dims))
    a, b = list(full), list(full)
    for side in (a, b):
        for d in range(len(side)):
            if draw(st.booleans()) and draw(st.booleans()):
                side[d] = 1
    cut_a = draw(st.integers(0, len(a)))
    cut_b = draw(st.integers(0, len(b))) if cut_a == 0 else 0
    return tuple(a[cut_a:]), tuple(b[cut_b:])


def arrays(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of `shape` with finite values in [low, high] (kept away from +-0 ties by rounding)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False,
                                                            width=32))


@st.composite
def array_of_shape(draw: st.DrawFn, min_dims: int = 0, max_dims: int = 4, low: float = -3.0,
                   high: float = 3.0) -> np.ndarray:
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims))
    return draw(arrays(shape, low, high))


@st.composite
def permutations_of(draw: st.DrawFn, ndim: int) -> tuple[int, ...] | None:
    """A permutation of range(ndim) (None for fewer than 2 dims): used to make non-contiguous inputs."""
    if ndim < 2:
        return None
    return tuple(draw(st.permutations(list(range(ndim)))))
