"""ex03 — tensor data: strides, indices, broadcasting and views (reference solution).

A tensor is a flat 1-D storage plus a shape and strides. Element (i0, i1, ..., ik) lives at
storage[i0 * s0 + i1 * s1 + ... + ik * sk]. Everything here is arithmetic on those tuples; nothing
touches the storage itself.
"""

from __future__ import annotations

from minitorch_dg.errors import ShapeError

Shape = tuple[int, ...]
Strides = tuple[int, ...]
Index = tuple[int, ...]


def strides_from_shape(shape: Shape) -> Strides:
    """Row-major (C-contiguous) strides: the last dim has stride 1, each earlier dim the product of the later sizes.

    (2, 3, 4) -> (12, 4, 1); () -> ().
    """
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def index_to_position(index: Index, strides: Strides) -> int:
    """Position in storage of a multi-index: sum over d of index[d] * strides[d]."""
    position = 0
    for i, s in zip(index, strides):
        position += i * s
    return position


def to_index(ordinal: int, shape: Shape) -> Index:
    """The multi-index of the `ordinal`-th element in row-major order (the inverse of counting 0, 1, 2, ...).

    to_index(5, (2, 3)) -> (1, 2). Shape () has a single element, index ().
    """
    index = [0] * len(shape)
    rest = ordinal
    for d in range(len(shape) - 1, -1, -1):
        index[d] = rest % shape[d]
        rest //= shape[d]
    return tuple(index)


def broadcast_index(big_index: Index, big_shape: Shape, shape: Shape) -> Index:
    """Map an index into the broadcast shape `big_shape` to the index of the same element in `shape`.

    `shape` is right-aligned with `big_shape`; a dim of size 1 in `shape` was stretched, so its index is 0.
    broadcast_index((1, 2, 3), (2, 3, 4), (3, 1)) -> (2, 0).
    """
    offset = len(big_shape) - len(shape)
    return tuple(0 if size == 1 else big_index[d + offset] for d, size in enumerate(shape))


def shape_broadcast(shape_a: Shape, shape_b: Shape) -> Shape:
    """The shape both broadcast to (torch's rules): align on the right; sizes must be equal or one of them 1.

    Raises ShapeError naming both shapes and the dimension (of the result) where they clash.
    """
    ndim = max(len(shape_a), len(shape_b))
    a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    clashes = [d for d, (x, y) in enumerate(zip(a, b)) if x != y and x != 1 and y != 1]
    if clashes:
        d = clashes[-1]  # torch reports the last clashing dimension
        x, y = a[d], b[d]
        raise ShapeError(
            f"shapes {tuple(shape_a)} and {tuple(shape_b)} cannot be broadcast: the size of tensor a ({x}) "
            f"must match the size of tensor b ({y}) at non-singleton dimension {d}"
        )
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def permute(shape: Shape, strides: Strides, order: tuple[int, ...]) -> tuple[Shape, Strides]:
    """Shape and strides of the view whose dim d is the input's dim order[d] (no data moves).

    `order` must be a permutation of 0..ndim-1 (negative dims count from the end); otherwise ShapeError.
    """
    ndim = len(shape)
    if len(order) != ndim:
        raise ShapeError(f"permute: {len(order)} dims given for a tensor of {ndim} dims (shape {tuple(shape)})")
    normalized = tuple(d + ndim if d < 0 else d for d in order)
    if sorted(normalized) != list(range(ndim)):
        raise ShapeError(f"permute: {tuple(order)} is not a permutation of the dims of shape {tuple(shape)}")
    return tuple(shape[d] for d in normalized), tuple(strides[d] for d in normalized)


def is_contiguous(shape: Shape, strides: Strides) -> bool:
    """True when the strides are the row-major strides of `shape`, ignoring dims of size 1 (as torch does).

    A tensor with no elements is contiguous.
    """
    if any(size == 0 for size in shape):
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


def view_strides(shape: Shape, strides: Strides, new_shape: Shape) -> Strides | None:
    """Strides that show the same elements, in the same row-major order, with shape `new_shape`; None if none exist.

    Both shapes have the same number of elements. Drop the old dims of size 1 (they address nothing) and
    merge neighbours into *runs* that step evenly through storage: an outer dim continues the run of the
    dim after it when stride_outer == stride_inner * size_inner. A run of n elements with innermost stride
    s can be re-split into any new dims whose sizes multiply to n: cutting the run's remaining k blocks into
    `size` parts gives that new dim the stride s * (k / size). A new dim that does not divide what is left
    of the current run would span two runs: no strides can express it (view refuses; reshape copies).
    Strides of new dims of size 1 address nothing; any value is correct there.
    """
    if any(size == 0 for size in shape):  # no elements: every stride is as good as another
        return tuple(strides) if tuple(new_shape) == tuple(shape) else strides_from_shape(new_shape)
    runs: list[tuple[int, int]] = []  # (element count, innermost stride)
    for size, stride in zip(shape, strides):
        if size == 1:
            continue
        if runs and runs[-1][1] == stride * size:
            runs[-1] = (runs[-1][0] * size, stride)
        else:
            runs.append((size, stride))
    result = []
    run = 0
    blocks_left = runs[0][0] if runs else 1
    for size in new_shape:
        if run < len(runs) and blocks_left == 1 and size != 1:  # the current run is used up: start the next
            run += 1
            blocks_left = runs[run][0] if run < len(runs) else 1
        inner_stride = runs[run][1] if run < len(runs) else 1
        if size == 1:
            result.append(inner_stride * blocks_left)
            continue
        if run == len(runs) or blocks_left % size:
            return None
        blocks_left //= size
        result.append(inner_stride * blocks_left)
    return tuple(result)
