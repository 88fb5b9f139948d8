"""ex03 public tests: strides, indices, broadcasting and views, each compared with what torch computes.

Layouts (shape + strides) come from real torch views — a contiguous tensor, then permutes, slices with
steps, unsqueezes, expands (stride 0) and selects — or are drawn outright (any strides, even 0). The
same recipe of views runs on minitorch-dg for the Tensor API tests at the end.

ex03 runs in a worker process (grader/judge.py): its functions are called there with shapes and strides and
answer with data; the Tensor API tests build their tensors there with programs (tests/support/view_programs.py)
and only shapes, strides, flags and values come back.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import judge
from minitorch_dg.errors import ShapeError
from tests.support import view_programs as views
from tests.support.compare import assert_close
from tests.support.tensor_strategies import broadcast_pairs, shapes
from tests.support.view_programs import apply_recipe

td = judge.exercise("ex03")

Shape = tuple[int, ...]
Strides = tuple[int, ...]
Step = tuple[Any, ...]  # one view operation of a recipe, e.g. ("permute", (1, 0))


# ---------------------------------------------------------------------------------------------
# Layouts from torch
# ---------------------------------------------------------------------------------------------


@st.composite
def view_recipes(draw: st.DrawFn, max_dims: int = 4, max_steps: int = 3) -> tuple[Shape, tuple[Step, ...]]:
    """A base shape and up to `max_steps` view steps (permute, step slice, unsqueeze, expand, select)."""
    base = draw(shapes(min_dims=0, max_dims=3, max_side=4))
    t = torch.empty(base)
    recipe: list[Step] = []
    for _ in range(draw(st.integers(0, max_steps))):
        kind = draw(st.sampled_from(["permute", "slice", "unsqueeze", "expand", "select"]))
        step: Step | None = None
        if kind == "permute" and t.dim() >= 2:
            step = ("permute", tuple(draw(st.permutations(list(range(t.dim()))))))
        elif kind == "slice" and t.dim() >= 1:
            d = draw(st.integers(0, t.dim() - 1))
            size = t.shape[d]
            start = draw(st.integers(0, max(size - 1, 0)))
            stop = draw(st.integers(start + 1, size)) if size > start else size
            step = ("slice", d, start, stop, draw(st.integers(1, 3)))
        elif kind == "unsqueeze" and t.dim() < max_dims:
            step = ("unsqueeze", draw(st.integers(0, t.dim())))
        elif kind == "expand" and 1 in t.shape:
            step = ("expand", tuple(draw(st.integers(1, 3)) if s == 1 else s for s in t.shape))
        elif kind == "select" and t.dim() >= 1 and t.shape[0] > 0:
            d = draw(st.integers(0, t.dim() - 1))
            step = ("select", d, draw(st.integers(0, t.shape[d] - 1)))
        if step is not None:
            t = apply_recipe(t, [step])
            recipe.append(step)
    return tuple(base), tuple(recipe)


def torch_view(base: Shape, recipe: Sequence[Step]) -> torch.Tensor:
    """torch.arange over `base`, viewed through `recipe`: each element's value is its storage position."""
    return apply_recipe(torch.arange(math.prod(base), dtype=torch.float64).reshape(base), recipe)


def layout(t: torch.Tensor) -> tuple[Shape, Strides]:
    return tuple(t.shape), tuple(t.stride())


@st.composite
def free_layouts(draw: st.DrawFn, max_dims: int = 4) -> tuple[Shape, Strides]:
    """Any shape with any non-negative strides (0 included): not necessarily a view of anything sensible."""
    shape = draw(shapes(min_dims=0, max_dims=max_dims, max_side=4))
    strides = tuple(draw(st.integers(0, 13)) for _ in shape)
    return shape, strides


def as_strided_arange(shape: Shape, strides: Strides) -> torch.Tensor:
    """torch.as_strided over a storage 0, 1, 2, ...: the value of an element is its storage position."""
    span = 1 + sum((n - 1) * s for n, s in zip(shape, strides)) if math.prod(shape) else 1
    return torch.as_strided(torch.arange(span, dtype=torch.int64), shape, strides)


@st.composite
def new_shapes(draw: st.DrawFn, shape: Shape) -> Shape:
    """A shape with as many elements as `shape`: adjacent dims merged or split, size-1 dims added or dropped."""
    numel = math.prod(shape)
    if numel == 0:
        return draw(st.sampled_from([shape, (0,), tuple(reversed(shape)), (numel, 1)]))
    if draw(st.booleans()):  # regroup: merge runs of adjacent dims
        sizes = [s for s in shape if s != 1 or draw(st.booleans())]
        cuts = sorted(set(draw(st.lists(st.integers(1, max(len(sizes) - 1, 1)), max_size=3))))
        groups, last = [], 0
        for cut in cuts + [len(sizes)]:
            if cut > last:
                groups.append(math.prod(sizes[last:cut]))
                last = cut
        out = groups if sizes else []
    else:  # factor: spread the prime factors of numel over 1..4 dims
        factors, n, p = [], numel, 2
        while n > 1:
            while n % p == 0:
                factors.append(p)
                n //= p
            p += 1
        dims = draw(st.integers(1, 4))
        out = [1] * dims
        for f in factors:
            out[draw(st.integers(0, dims - 1))] *= f
    for _ in range(draw(st.integers(0, 2))):
        if len(out) < 5:
            out.insert(draw(st.integers(0, len(out))), 1)
    return tuple(out)


def addressing(shape: Shape, strides: Sequence[int]) -> tuple[int, ...]:
    """The strides that address elements: those of dims larger than 1 (a size-1 dim's stride is never used)."""
    return tuple(s for n, s in zip(shape, strides) if n != 1)


def torch_view_strides(t: torch.Tensor, new_shape: Shape) -> Strides | None:
    """torch's answer: the strides of t.view(new_shape), or None when torch's view refuses."""
    try:
        return tuple(t.view(new_shape).stride())
    except RuntimeError:
        return None


# ---------------------------------------------------------------------------------------------
# Part 1: strides, positions, indices
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Strides from the right: the last is 1, each earlier one multiplies by max(size, 1) of the dim after.")
@given(shapes(min_dims=0, max_dims=5, min_side=0, max_side=5))
@example(())
@example((2, 3))
@example((2, 3, 4))
@example((2, 0, 3))
@example((1, 1, 1))
def test_strides_from_shape_matches_torch(shape: Shape) -> None:
    got = tuple(td.strides_from_shape(shape))
    expected = tuple(torch.empty(shape).stride())
    assert got == expected, f"strides_from_shape({shape}) = {got}, torch.empty({shape}).stride() = {expected}"


@given(free_layouts(), st.data())
@example(((), ()), None)
@example(((2, 3), (3, 1)), None)
@example(((3, 2), (1, 3)), None)
@example(((4, 3), (0, 1)), None)
def test_index_to_position_matches_as_strided(layout_: tuple[Shape, Strides], data: st.DataObject | None) -> None:
    shape, strides = layout_
    t = as_strided_arange(shape, strides)
    indices = [tuple(int(i) for i in ix) for ix in np.ndindex(*shape)]
    if data is not None:
        indices = [data.draw(st.sampled_from(indices), label="index")]
    for index in indices:
        got = td.index_to_position(index, strides)
        expected = int(t[index]) if shape else int(t.item())
        assert got == expected, (
            f"index_to_position({index}, strides={strides}) = {got}; torch.as_strided(storage 0, 1, 2, ..., "
            f"size={shape}, stride={strides})[{index}] is the element at position {expected}"
        )


@pytest.mark.hint("Row-major order: the LAST dim turns fastest. Peel digits with % and // starting from the last dim.")
@given(shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
@example(())
@example((2, 3))
@example((3, 1, 2))
def test_to_index_matches_unravel_index_and_torch_order(shape: Shape) -> None:
    ordered = torch.arange(math.prod(shape)).reshape(shape)  # element value = its row-major ordinal
    for ordinal in range(math.prod(shape)):
        got = tuple(td.to_index(ordinal, shape))
        expected = tuple(int(i) for i in np.unravel_index(ordinal, shape))
        assert got == expected, f"to_index({ordinal}, {shape}) = {got}, numpy.unravel_index gives {expected}"
        assert int(ordered[got]) == ordinal, f"torch.arange(n).reshape({shape})[{got}] is not {ordinal}"


# ---------------------------------------------------------------------------------------------
# Part 2: broadcasting
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Align the shapes on the RIGHT and pad the shorter one with 1s on the left.")
@given(broadcast_pairs())
@example(((3, 1), (4,)))
@example(((), (2, 3)))
@example(((5, 1, 4), (3, 1)))
@example(((1,), (1, 1, 1)))
@example(((2, 1), (1, 3)))
def test_shape_broadcast_matches_torch(pair: tuple[Shape, Shape]) -> None:
    a, b = pair
    for x, y in ((a, b), (b, a)):
        got = tuple(td.shape_broadcast(x, y))
        expected = tuple(torch.broadcast_shapes(x, y))
        assert got == expected, f"shape_broadcast({x}, {y}) = {got}, torch.broadcast_shapes gives {expected}"


def clashing_dims(a: Shape, b: Shape) -> list[int]:
    """Dims of the broadcast result (right-aligned numbering from the left) where a and b clash."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return [d for d in range(n) if pa[d] != pb[d] and 1 not in (pa[d], pb[d])]


def torch_broadcast_error(a: Shape, b: Shape) -> str:
    try:
        torch.ones(a) + torch.ones(b)
    except RuntimeError as error:
        return str(error)
    raise AssertionError(f"torch broadcasts {a} and {b}: the test case is wrong")


@pytest.mark.hint("Raise ShapeError (from minitorch_dg.errors) and put both shapes and the clashing dimension in the message.")
@pytest.mark.parametrize("a, b", [
    ((2, 3), (4,)),
    ((3,), (2,)),
    ((3, 2), (3,)),
    ((4, 1, 3), (2, 5)),
    ((2, 1, 3), (5, 3, 4)),
    ((7,), (1, 2, 3)),
])
def test_shape_broadcast_error_names_both_shapes_and_the_dimension(a: Shape, b: Shape) -> None:
    with pytest.raises(ShapeError) as info:
        td.shape_broadcast(a, b)
    message = str(info.value)
    assert str(a) in message and str(b) in message, (
        f"shape_broadcast({a}, {b}) raised ShapeError({message!r}): the message must name both shapes, {a} and {b}"
    )
    clashes = clashing_dims(a, b)
    named = [int(m) for m in re.findall(r"dimension (\d+)", message)]
    assert any(d in clashes for d in named), (
        f"shape_broadcast({a}, {b}) raised ShapeError({message!r}): say 'dimension d' for a dimension d of the "
        f"result where the sizes clash ({clashes}); torch says: {torch_broadcast_error(a, b)!r}"
    )
    if len(clashes) == 1:
        torch_dims = [int(m) for m in re.findall(r"dimension (\d+)", torch_broadcast_error(a, b))]
        assert named[0] == torch_dims[0], f"dimension {named[0]} named, torch names dimension {torch_dims[0]}"


@pytest.mark.hint("A size-1 dim of the small shape always gets index 0; the others copy the RIGHT-aligned big index.")
@given(broadcast_pairs(), st.booleans())
@example(((3, 1), (4,)), True)
@example(((3, 1), (4,)), False)
@example(((1, 1), (1,)), True)
@example(((), (2, 2)), True)
def test_broadcast_index_matches_torch_expand(pair: tuple[Shape, Shape], take_first: bool) -> None:
    small = pair[0] if take_first else pair[1]
    big = tuple(torch.broadcast_shapes(*pair))
    # Each element of the expanded tensor holds the row-major ordinal of the small element it comes from.
    expanded = torch.arange(math.prod(small)).reshape(small).expand(big)
    for big_index in np.ndindex(*big):
        big_index = tuple(int(i) for i in big_index)
        got = tuple(td.broadcast_index(big_index, big, small))
        source = int(expanded[big_index]) if big else int(expanded.item())
        expected = tuple(int(i) for i in np.unravel_index(source, small))
        assert got == expected, (
            f"broadcast_index({big_index}, big_shape={big}, shape={small}) = {got}; "
            f"torch.Tensor.expand takes element {big_index} of the {big} result from element {expected}"
        )


# ---------------------------------------------------------------------------------------------
# Part 3: permute, is_contiguous, view
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("new_shape[d] = shape[order[d]] and new_strides[d] = strides[order[d]]; normalize negative dims first.")
@given(st.one_of(view_recipes().map(lambda r: layout(torch_view(*r))), free_layouts()), st.data())
@example(((2, 3), (3, 1)), None)
@example(((2, 3, 4), (12, 4, 1)), None)
def test_permute_matches_torch(layout_: tuple[Shape, Strides], data: st.DataObject | None) -> None:
    shape, strides = layout_
    ndim = len(shape)
    if data is None:
        orders = [tuple(p) for p in itertools.permutations(range(ndim))]
    else:
        order = data.draw(st.permutations(list(range(ndim))), label="order")
        orders = [tuple(d - ndim if data.draw(st.booleans(), label="negative") else d for d in order)]
    for order in orders:
        got_shape, got_strides = td.permute(shape, strides, order)
        t = as_strided_arange(shape, strides).permute(order)
        expected = (tuple(t.shape), tuple(t.stride()))
        assert (tuple(got_shape), tuple(got_strides)) == expected, (
            f"permute(shape={shape}, strides={strides}, order={order}) = ({tuple(got_shape)}, {tuple(got_strides)}); "
            f"torch's permute gives shape {expected[0]}, strides {expected[1]}"
        )


@pytest.mark.hint("Check the length of order, normalize negative dims, then check it names every dim once.")
@pytest.mark.parametrize("shape, order", [
    ((2, 3), (0,)),
    ((2, 3), (0, 1, 2)),
    ((2, 3), (0, 0)),
    ((2, 3), (1, -1)),
    ((2, 3), (0, 2)),
    ((2, 3, 4), (0, 1, -4)),
    ((), (0,)),
])
def test_permute_rejects_invalid_orders(shape: Shape, order: tuple[int, ...]) -> None:
    strides = tuple(torch.empty(shape).stride())
    with pytest.raises((RuntimeError, IndexError)):
        torch.empty(shape).permute(*order)
    try:
        result = td.permute(shape, strides, order)
    except ShapeError:
        return
    raise AssertionError(
        f"permute(shape={shape}, strides={strides}, order={order}) returned {result}; torch refuses this order, "
        "raise ShapeError"
    )


@pytest.mark.hint("Ignore size-1 dims entirely; every other stride must be the product of the sizes after it.")
@given(st.one_of(view_recipes().map(lambda r: layout(torch_view(*r))), free_layouts()))
@example(((), ()))
@example(((2, 3), (3, 1)))
@example(((3, 2), (1, 3)))
@example(((2, 1, 3), (3, 99, 1)))
@example(((1, 4), (1, 1)))
@example(((4, 1), (1, 7)))
@example(((2, 0, 3), (5, 7, 2)))
@example(((3, 4), (0, 1)))
@example(((2, 2), (2, 2)))
def test_is_contiguous_matches_torch(layout_: tuple[Shape, Strides]) -> None:
    shape, strides = layout_
    got = td.is_contiguous(shape, strides)
    expected = as_strided_arange(shape, strides).is_contiguous()
    assert bool(got) == expected, f"is_contiguous(shape={shape}, strides={strides}) = {got}, torch says {expected}"


def check_view_strides(shape: Shape, strides: Strides, new_shape: Shape, t: torch.Tensor) -> None:
    got = td.view_strides(shape, strides, new_shape)
    expected = torch_view_strides(t, new_shape)
    call = f"view_strides(shape={shape}, strides={strides}, new_shape={new_shape})"
    if expected is None:
        assert got is None, f"{call} = {got}, but torch's view refuses (the view needs a copy): return None"
        return
    assert got is not None, f"{call} = None, but torch's view gives strides {expected}"
    assert addressing(new_shape, got) == addressing(new_shape, expected), (
        f"{call} = {tuple(got)}, torch's view gives strides {expected} (strides of size-1 dims are not compared)"
    )


@pytest.mark.hint("Group the old dims into chunks from the right; each chunk must be covered exactly by new dims.")
@given(view_recipes(), st.data())
@example(((2, 3), (("permute", (1, 0)),)), (6,))
@example(((2, 3), (("permute", (1, 0)),)), (3, 2))
@example(((2, 2, 3), (("slice", 1, 1, 2, 1),)), (2, 3))
@example(((2, 2, 3), (("slice", 1, 1, 2, 1),)), (6,))
@example(((6,), ()), (1, 6))
@example(((), ()), (1, 1))
@example(((2, 3), (("unsqueeze", 1), ("expand", (2, 4, 3)))), (8, 3))
@example(((2, 3), (("unsqueeze", 1), ("expand", (2, 4, 3)))), (2, 12))
@example(((4, 6), (("slice", 1, 0, 6, 2),)), (2, 2, 3))
def test_view_strides_matches_torch_view(recipe: tuple[Shape, tuple[Step, ...]], data: Any) -> None:
    t = torch_view(*recipe)
    shape, strides = layout(t)
    new_shape = data if isinstance(data, tuple) else data.draw(new_shapes(shape), label="new_shape")
    check_view_strides(shape, strides, new_shape, t)


@pytest.mark.parametrize("shape, strides, new_shape", [
    ((0, 2), (1, 1), (0, 2)),
    ((2, 3, 0), (1, 2, 2), (2, 3, 0)),
    ((2, 3, 0), (1, 2, 2), (6, 0)),
    ((4, 0), (1, 1), (0, 4)),
])
def test_view_strides_of_tensors_without_elements(shape: Shape, strides: Strides, new_shape: Shape) -> None:
    check_view_strides(shape, strides, new_shape, torch.empty(0).as_strided(shape, strides))


# ---------------------------------------------------------------------------------------------
# The Tensor API on top of ex03
# ---------------------------------------------------------------------------------------------


def both(base: Shape, recipe: Sequence[Step]) -> tuple[judge.RemoteObject, torch.Tensor]:
    """The same views of arange over `base`: a minitorch-dg tensor kept in the worker, and torch's."""
    values = np.arange(math.prod(base), dtype=np.float64).reshape(base)
    return (td.run_program(views.arange_view, apply_recipe, base, tuple(recipe)),
            apply_recipe(torch.tensor(values, dtype=torch.float64), recipe))


def torch_shares_storage(x: torch.Tensor, y: torch.Tensor) -> bool:
    return x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr()


@given(view_recipes())
@example(((2, 3), (("permute", (1, 0)),)))
@example(((3, 4), (("slice", 0, 0, 3, 2), ("slice", 1, 1, 4, 2))))
def test_tensor_views_have_torchs_shape_strides_and_values(recipe: tuple[Shape, tuple[Step, ...]]) -> None:
    x, t = both(*recipe)
    got = td.run_program(views.facts, x)
    what = f"torch.arange over {recipe[0]} then {list(recipe[1])}"
    assert got["shape"] == tuple(t.shape), f"{what}: shape {got['shape']}, torch gives {tuple(t.shape)}"
    # Only strides of dims with more than one element are compared: the stride of a size-1 dim never
    # addresses anything, and the framework's unsqueeze gives it the view rule's value, not torch's.
    used = [s for n, s in zip(got["shape"], got["strides"]) if n != 1]
    expected = [s for n, s in zip(t.shape, t.stride()) if n != 1]
    assert used == expected, f"{what}: strides {got['strides']}, torch gives {tuple(t.stride())}"
    assert got["contiguous"] == t.is_contiguous(), (
        f"{what}: is_contiguous() {got['contiguous']}, torch says {t.is_contiguous()}")
    assert_close(got["values"], t, what=f"{what}: values")


@pytest.mark.hint("view_strides must return None when torch's view refuses; the framework then raises and reshape copies.")
@pytest.mark.parametrize("base, recipe, new_shape", [
    ((2, 3), (("permute", (1, 0)),), (6,)),
    ((2, 3, 4), (("permute", (2, 0, 1)),), (8, 3)),
    ((4, 5), (("slice", 1, 0, 5, 2),), (12,)),
    ((2, 2, 3), (("slice", 1, 1, 2, 1),), (6,)),
    ((2, 3), (("unsqueeze", 1), ("expand", (2, 4, 3))), (8, 3)),
])
def test_view_of_a_non_contiguous_tensor_raises_and_reshape_copies(base: Shape, recipe: tuple[Step, ...],
                                                                   new_shape: Shape) -> None:
    x, t = both(base, recipe)
    with pytest.raises(RuntimeError):
        t.view(new_shape)
    with pytest.raises(ShapeError) as info:
        td.run_program(views.view, x, new_shape)
    assert ".reshape" in str(info.value), f"the view error should point to .reshape: {info.value}"
    before = td.run_program(views.facts, x)
    y, u = td.run_program(views.reshape, x, new_shape), t.reshape(new_shape)
    got = td.run_program(views.facts, y)
    assert_close(got["values"], u,
                 what=f"reshape{new_shape} of a {before['shape']} view with strides {before['strides']}")
    assert got["contiguous"] and not td.run_program(views.shares_storage, y, x), (
        "reshape of a tensor that cannot be viewed must copy into a fresh contiguous tensor"
    )
    assert not torch_shares_storage(u, t)


@pytest.mark.parametrize("base, recipe, new_shape", [
    ((2, 2, 3), (("slice", 1, 1, 2, 1),), (2, 3)),
    ((2, 3), (("unsqueeze", 1), ("expand", (2, 4, 3))), (2, 2, 2, 3)),
    ((4, 6), (("slice", 1, 0, 6, 2),), (12,)),
    ((3, 4), (), (2, 6)),
    ((4, 6), (("slice", 1, 0, 6, 2),), (2, 2, 3)),
])
def test_view_that_strides_can_express_shares_storage(base: Shape, recipe: tuple[Step, ...], new_shape: Shape) -> None:
    x, t = both(base, recipe)
    before = td.run_program(views.facts, x)
    y, u = td.run_program(views.view, x, new_shape), t.view(new_shape)
    got = td.run_program(views.facts, y)
    assert addressing(new_shape, got["strides"]) == addressing(new_shape, u.stride()), (
        f"view{new_shape}: strides {got['strides']}, torch gives {tuple(u.stride())}"
    )
    assert_close(got["values"], u, what=f"view{new_shape} of a {before['shape']} tensor with strides {before['strides']}")
    assert td.run_program(views.shares_storage, y, x) and torch_shares_storage(u, t), "a view must share the storage"
    r = td.run_program(views.reshape, x, new_shape)
    assert td.run_program(views.shares_storage, r, x), (
        "reshape returns a view (no copy) when view_strides finds strides")


@pytest.mark.parametrize("a, b", [((2, 3), (4,)), ((3, 1, 2), (4, 3))])
def test_tensor_arithmetic_reports_a_broadcast_error(a: Shape, b: Shape) -> None:
    with pytest.raises(ShapeError) as info:
        td.run_program(views.add_ones, a, b)
    assert str(a) in str(info.value) and str(b) in str(info.value), f"the error must name {a} and {b}: {info.value}"
