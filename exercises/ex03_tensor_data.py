"""ex03 — tensor data: strides, indices, broadcasting and views.

Read exercises/ex03_tensor_data.md first. Replace each `raise NotImplementedYet(...)` with your code,
then run `mtdg check ex03`. Do not rename functions or change their parameters: the tests and the
framework call them.

A tensor is a flat 1-D storage plus a shape and strides. Element (i0, i1, ..., ik) lives at

    storage[i0 * s0 + i1 * s1 + ... + ik * sk]

Everything in this file is arithmetic on those tuples of ints; nothing here touches the storage. The
framework (minitorch_dg/tensor_data.py) calls these functions to create tensors, to permute and view
them without copying, and to broadcast them; ex04 calls them in every kernel.
"""

from __future__ import annotations

from minitorch_dg.errors import NotImplementedYet, ShapeError  # noqa: F401  (raise ShapeError on bad input)

Shape = tuple[int, ...]
Strides = tuple[int, ...]
Index = tuple[int, ...]

# ---------------------------------------------------------------------------------------------
# Part 1: from an index to a place in storage, and back
# ---------------------------------------------------------------------------------------------


def strides_from_shape(shape: Shape) -> Strides:
    """Row-major (C-contiguous) strides of `shape`.

    The last dim has stride 1; each earlier dim's stride is the product of the sizes after it:
        s[k-1] = 1,   s[d] = s[d+1] * max(shape[d+1], 1)
    (a dim of size 0 counts as 1 here, as in torch). (2, 3, 4) -> (12, 4, 1); () -> ().
    """
    raise NotImplementedYet("ex03", "strides_from_shape")


def index_to_position(index: Index, strides: Strides) -> int:
    """Position in storage of a multi-index: sum over d of index[d] * strides[d].

    index_to_position((1, 2), (3, 1)) -> 5; index_to_position((), ()) -> 0.
    """
    raise NotImplementedYet("ex03", "index_to_position")


def to_index(ordinal: int, shape: Shape) -> Index:
    """The multi-index of the `ordinal`-th element when the elements of `shape` are counted in row-major order.

    The last dim turns fastest, like the digits of a number whose d-th digit has base shape[d]:
        index[k-1] = ordinal mod shape[k-1],   then ordinal //= shape[k-1], and so on to the left.
    to_index(5, (2, 3)) -> (1, 2). Shape () has one element, whose index is ().
    """
    raise NotImplementedYet("ex03", "to_index")


# ---------------------------------------------------------------------------------------------
# Part 2: broadcasting
# ---------------------------------------------------------------------------------------------


def broadcast_index(big_index: Index, big_shape: Shape, shape: Shape) -> Index:
    """Map an index into the broadcast shape `big_shape` to the index of the same element in `shape`.

    `shape` broadcasts to `big_shape`: align them on the right (big_shape may have more dims). For each dim
    d of `shape`:   index[d] = 0                           if shape[d] == 1 (that dim was stretched)
                    index[d] = big_index[d + offset]       otherwise, offset = len(big_shape) - len(shape)
    broadcast_index((1, 2, 3), (2, 3, 4), (3, 1)) -> (2, 0).
    """
    raise NotImplementedYet("ex03", "broadcast_index")


def shape_broadcast(shape_a: Shape, shape_b: Shape) -> Shape:
    """The shape that both shapes broadcast to (torch's rules).

    Pad the shorter shape with 1s on the left; then, dim by dim, the sizes must be equal or one of them 1,
    and the result takes the larger. (3, 1) and (4,) -> (3, 4).
    Otherwise raise ShapeError whose message names both shapes and the dimension (numbered in the
    result) where they clash, e.g. "... tensor a (3) must match ... tensor b (4) at non-singleton dimension 1".
    """
    raise NotImplementedYet("ex03", "shape_broadcast")


# ---------------------------------------------------------------------------------------------
# Part 3: views — new shapes and strides over the same storage
# ---------------------------------------------------------------------------------------------


def permute(shape: Shape, strides: Strides, order: tuple[int, ...]) -> tuple[Shape, Strides]:
    """Shape and strides of the view whose dim d is the input's dim order[d]:

        new_shape[d] = shape[order[d]],   new_strides[d] = strides[order[d]]

    Negative dims count from the end (-1 is the last). `order` must name every dim exactly once;
    otherwise raise ShapeError (wrong length, a repeated dim, a dim out of range).
    """
    raise NotImplementedYet("ex03", "permute")


def is_contiguous(shape: Shape, strides: Strides) -> bool:
    """True when the strides are the row-major strides of `shape`, ignoring dims of size 1 (as torch does).

    Walk from the last dim: a dim of size 1 is skipped (its stride does not matter, only index 0 exists);
    every other dim's stride must equal the product of the sizes after it. A tensor with no elements
    (some size 0) is contiguous.
    """
    raise NotImplementedYet("ex03", "is_contiguous")


def view_strides(shape: Shape, strides: Strides, new_shape: Shape) -> Strides | None:
    """Strides that show the same elements, in the same row-major order, with shape `new_shape`; None if none exist.

    Both shapes have the same number of elements (the rule torch's `Tensor.view` follows; see the handout):
    - leave out old dims of size 1, and merge the others, outermost first, into *runs* that step evenly
      through storage: an outer dim joins the run after it when stride_outer == stride_inner * size_inner;
    - walk the new dims from the left, splitting the current run: with `left` of its elements still to
      split, a new dim of size m needs left % m == 0, then left //= m and its stride is (run's innermost
      stride) * left; when left reaches 1, the next new dim of size > 1 starts the next run;
    - a new dim that does not divide what is left would span two runs: return None (then `view` raises
      and `reshape` copies);
    - new dims of size 1 may get any stride (nothing is addressed through them);
    - a shape with no elements: keep `strides` if new_shape == shape, else strides_from_shape(new_shape).
    """
    raise NotImplementedYet("ex03", "view_strides")
