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
    out = []
    for d, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise ShapeError(
                f"shapes {tuple(shape_a)} and {tuple(shape_b)} cannot be broadcast: the size of tensor a ({x}) "
                f"must match the size of tensor b ({y}) at non-singleton dimension {d}"
            )
        out.append(y if x == 1 else x)
    return tuple(out)


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

    Both shapes have the same number of elements. Walk the old dims from the right, grouping them into
    chunks whose elements are evenly spaced in storage (the next dim's stride equals the chunk's element
    count times the chunk's base stride); each chunk can be re-split into any run of new dims whose sizes
    multiply to the chunk's size. A new dim that would span two chunks is impossible: that view needs a
    copy (reshape makes one; view raises).
    """
    if len(shape) == 0:
        return (1,) * len(new_shape)
    if any(size == 0 for size in shape):
        return tuple(strides) if tuple(new_shape) == tuple(shape) else strides_from_shape(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    chunk_numel = 1
    view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        chunk_numel *= shape[d]
        chunk_ends = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != chunk_numel * chunk_base)
        if not chunk_ends:
            continue
        while view_d >= 0 and (view_numel < chunk_numel or new_shape[view_d] == 1):
            new_strides[view_d] = view_numel * chunk_base
            view_numel *= new_shape[view_d]
            view_d -= 1
        if view_numel != chunk_numel:
            return None
        if d > 0:
            chunk_base = strides[d - 1]
            chunk_numel = 1
            view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)
