"""ex03 hidden tests: shapes, strides, indices and views drawn at grading time (seed MTDG_SEED), checked with torch."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from minitorch_dg.errors import ShapeError
from tests.support import view_programs as views
from tests.support.compare import assert_close
from tests.support.view_programs import apply_recipe

td = judge.exercise("ex03")  # the exercise runs in a worker process (grader/judge.py)

Shape = tuple[int, ...]
Strides = tuple[int, ...]
Step = tuple[Any, ...]


def random_shape(rng: random.Random, min_dims: int = 0, max_dims: int = 4, min_side: int = 1,
                 max_side: int = 4) -> Shape:
    return tuple(rng.randint(min_side, max_side) for _ in range(rng.randint(min_dims, max_dims)))


def random_layout(rng: random.Random) -> tuple[Shape, Strides]:
    """Any shape with any non-negative strides (0 included)."""
    shape = random_shape(rng, 0, 5)
    return shape, tuple(rng.randint(0, 20) for _ in shape)


def as_strided_arange(shape: Shape, strides: Strides) -> torch.Tensor:
    """torch.as_strided over a storage 0, 1, 2, ...: the value of an element is its storage position."""
    span = 1 + sum((n - 1) * s for n, s in zip(shape, strides)) if math.prod(shape) else 1
    return torch.as_strided(torch.arange(span, dtype=torch.int64), shape, strides)


def random_recipe(rng: random.Random, max_dims: int = 5) -> tuple[Shape, list[Step]]:
    """A base shape and a few view steps (permute, step slice, unsqueeze, expand, select) valid for it."""
    base = random_shape(rng, 0, 4, 1, 5)
    t = torch.empty(base)
    recipe: list[Step] = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(["permute", "slice", "slice", "unsqueeze", "expand", "select"])
        step: Step | None = None
        if kind == "permute" and t.dim() >= 2:
            order = list(range(t.dim()))
            rng.shuffle(order)
            step = ("permute", tuple(order))
        elif kind == "slice" and t.dim() >= 1:
            d = rng.randrange(t.dim())
            start = rng.randrange(t.shape[d])
            step = ("slice", d, start, rng.randint(start + 1, t.shape[d]), rng.randint(1, 3))
        elif kind == "unsqueeze" and t.dim() < max_dims:
            step = ("unsqueeze", rng.randint(0, t.dim()))
        elif kind == "expand" and 1 in t.shape:
            step = ("expand", tuple(rng.randint(1, 4) if s == 1 else s for s in t.shape))
        elif kind == "select" and t.dim() >= 1:
            d = rng.randrange(t.dim())
            step = ("select", d, rng.randrange(t.shape[d]))
        if step is not None:
            t = apply_recipe(t, [step])
            recipe.append(step)
    return base, recipe


def torch_view(base: Shape, recipe: Sequence[Step]) -> torch.Tensor:
    return apply_recipe(torch.arange(math.prod(base), dtype=torch.float64).reshape(base), recipe)


def random_new_shape(rng: random.Random, shape: Shape) -> Shape:
    """A shape with the same number of elements: runs of dims merged, or prime factors spread; 1s inserted."""
    numel = math.prod(shape)
    if rng.random() < 0.5:
        sizes = [s for s in shape if s != 1 or rng.random() < 0.5]
        out: list[int] = []
        for s in sizes:
            if out and rng.random() < 0.5:
                out[-1] *= s
            else:
                out.append(s)
    else:
        factors, n, p = [], numel, 2
        while n > 1:
            while n % p == 0:
                factors.append(p)
                n //= p
            p += 1
        out = [1] * rng.randint(1, 4)
        for f in factors:
            out[rng.randrange(len(out))] *= f
    for _ in range(rng.randint(0, 2)):
        out.insert(rng.randint(0, len(out)), 1)
    return tuple(out)


def broadcast_pair(rng: random.Random) -> tuple[Shape, Shape]:
    full = random_shape(rng, 0, 5)
    a = [1 if rng.random() < 0.3 else s for s in full][rng.randint(0, len(full)):]
    b = [1 if rng.random() < 0.3 else s for s in full]
    if a and rng.random() < 0.5:
        b = b[rng.randint(0, len(b)):]
    return tuple(a), tuple(b)


@pytest.mark.parametrize("case", range(4))
def test_strides_and_positions(case: int, hidden_rng: random.Random) -> None:
    for _ in range(15):
        shape = random_shape(hidden_rng, 0, 6, 0, 6)
        got = tuple(td.strides_from_shape(shape))
        assert got == tuple(torch.empty(shape).stride()), (
            f"strides_from_shape({shape}) = {got}, torch gives {tuple(torch.empty(shape).stride())}"
        )
        shape, strides = random_layout(hidden_rng)
        t = as_strided_arange(shape, strides)
        for _ in range(5):
            index = tuple(hidden_rng.randrange(n) for n in shape)
            expected = int(t[index]) if shape else int(t.item())
            got_position = td.index_to_position(index, strides)
            assert got_position == expected, (
                f"index_to_position({index}, strides={strides}) = {got_position}, torch.as_strided gives {expected}"
            )


@pytest.mark.parametrize("case", range(4))
def test_to_index(case: int, hidden_rng: random.Random) -> None:
    for _ in range(10):
        shape = random_shape(hidden_rng, 0, 5, 1, 6)
        ordered = torch.arange(math.prod(shape)).reshape(shape)
        for _ in range(10):
            ordinal = hidden_rng.randrange(math.prod(shape))
            got = tuple(td.to_index(ordinal, shape))
            expected = tuple(int(i) for i in np.unravel_index(ordinal, shape))
            assert got == expected, f"to_index({ordinal}, {shape}) = {got}, expected {expected}"
            assert int(ordered[got]) == ordinal


@pytest.mark.parametrize("case", range(4))
def test_broadcasting(case: int, hidden_rng: random.Random) -> None:
    for _ in range(10):
        a, b = broadcast_pair(hidden_rng)
        big = tuple(torch.broadcast_shapes(a, b))
        for x, y in ((a, b), (b, a)):
            got = tuple(td.shape_broadcast(x, y))
            assert got == big, f"shape_broadcast({x}, {y}) = {got}, torch.broadcast_shapes gives {big}"
        small = hidden_rng.choice([a, b])
        expanded = torch.arange(math.prod(small)).reshape(small).expand(big)
        for _ in range(8):
            big_index = tuple(hidden_rng.randrange(n) for n in big)
            got_index = tuple(td.broadcast_index(big_index, big, small))
            source = int(expanded[big_index]) if big else int(expanded.item())
            expected = tuple(int(i) for i in np.unravel_index(source, small))
            assert got_index == expected, (
                f"broadcast_index({big_index}, big_shape={big}, shape={small}) = {got_index}, torch's expand "
                f"reads element {expected}"
            )


def clashing_pair(rng: random.Random) -> tuple[Shape, Shape]:
    """Two shapes that do not broadcast: a broadcastable pair with sizes p != q, both >= 2, at one aligned dim."""
    while True:
        a, b = (list(s) for s in broadcast_pair(rng))
        if a and b:
            break
    d = rng.randrange(min(len(a), len(b)))  # counted from the right
    p = rng.randint(2, 5)
    a[-1 - d], b[-1 - d] = p, rng.choice([q for q in range(2, 7) if q != p])
    return tuple(a), tuple(b)


@pytest.mark.parametrize("case", range(3))
def test_broadcast_errors(case: int, hidden_rng: random.Random) -> None:
    for _ in range(8):
        a_shape, b_shape = clashing_pair(hidden_rng)
        with pytest.raises(RuntimeError):
            torch.broadcast_shapes(a_shape, b_shape)
        with pytest.raises(ShapeError) as info:
            td.shape_broadcast(a_shape, b_shape)
        message = str(info.value)
        assert str(a_shape) in message and str(b_shape) in message, (
            f"shape_broadcast({a_shape}, {b_shape}): the ShapeError must name both shapes: {message!r}"
        )
        n = max(len(a_shape), len(b_shape))
        pa, pb = (1,) * (n - len(a_shape)) + a_shape, (1,) * (n - len(b_shape)) + b_shape
        clashes = [k for k in range(n) if pa[k] != pb[k] and 1 not in (pa[k], pb[k])]
        named = [int(m) for m in re.findall(r"dimension (\d+)", message)]
        assert any(k in clashes for k in named), (
            f"shape_broadcast({a_shape}, {b_shape}): name a clashing dimension {clashes}: {message!r}"
        )


def invalid_order(rng: random.Random, order: list[int]) -> tuple[int, ...]:
    """A wrong order for len(order) >= 2 dims: one dim dropped, one repeated, or one out of range."""
    bad = list(order)
    kind = rng.choice(["drop", "repeat", "range"])
    i = rng.randrange(len(bad))
    if kind == "drop":
        del bad[i]
    elif kind == "repeat":
        bad[i] = bad[(i + 1) % len(bad)]
    else:
        bad[i] = rng.choice([len(bad) + rng.randint(0, 2), -len(bad) - 1 - rng.randint(0, 2)])
    return tuple(bad)


@pytest.mark.parametrize("case", range(4))
def test_permute(case: int, hidden_rng: random.Random) -> None:
    for _ in range(10):
        shape, strides = random_layout(hidden_rng)
        order = list(range(len(shape)))
        hidden_rng.shuffle(order)
        order = [d - len(shape) if hidden_rng.random() < 0.3 else d for d in order]
        got_shape, got_strides = td.permute(shape, strides, tuple(order))
        t = as_strided_arange(shape, strides).permute(order)
        assert (tuple(got_shape), tuple(got_strides)) == (tuple(t.shape), tuple(t.stride())), (
            f"permute(shape={shape}, strides={strides}, order={tuple(order)}) = "
            f"({tuple(got_shape)}, {tuple(got_strides)}), torch gives ({tuple(t.shape)}, {tuple(t.stride())})"
        )
        if len(shape) >= 2:
            bad = invalid_order(hidden_rng, order)
            with pytest.raises((RuntimeError, IndexError)):
                torch.empty(shape).permute(bad)
            with pytest.raises(ShapeError):
                td.permute(shape, strides, bad)


@pytest.mark.parametrize("case", range(4))
def test_is_contiguous(case: int, hidden_rng: random.Random) -> None:
    for _ in range(20):
        if hidden_rng.random() < 0.5:
            shape, strides = random_layout(hidden_rng)
        else:
            t = torch_view(*random_recipe(hidden_rng))
            shape, strides = tuple(t.shape), tuple(t.stride())
        got = td.is_contiguous(shape, strides)
        expected = as_strided_arange(shape, strides).is_contiguous()
        assert bool(got) == expected, f"is_contiguous(shape={shape}, strides={strides}) = {got}, torch says {expected}"


@pytest.mark.parametrize("case", range(6))
def test_view_strides(case: int, hidden_rng: random.Random) -> None:
    for _ in range(25):
        t = torch_view(*random_recipe(hidden_rng))
        shape, strides = tuple(t.shape), tuple(t.stride())
        new_shape = random_new_shape(hidden_rng, shape)
        try:
            expected: Strides | None = tuple(t.view(new_shape).stride())
        except RuntimeError:
            expected = None
        got = td.view_strides(shape, strides, new_shape)

        def used(st: Strides | None) -> tuple[int, ...] | None:  # strides of size-1 dims address nothing
            return None if st is None else tuple(s for n, s in zip(new_shape, st) if n != 1)

        assert used(got) == used(expected), (
            f"view_strides(shape={shape}, strides={strides}, new_shape={new_shape}) = {got}, torch's view gives "
            f"{'an error (return None)' if expected is None else expected}"
        )


@pytest.mark.parametrize("case", range(3))
def test_tensor_view_and_reshape(case: int, hidden_rng: random.Random) -> None:
    for _ in range(6):
        base, recipe = random_recipe(hidden_rng)
        values = np.arange(math.prod(base), dtype=np.float64).reshape(base)
        x = td.run_program(views.arange_view, apply_recipe, base, tuple(recipe))
        t = apply_recipe(torch.tensor(values), recipe)
        new_shape = random_new_shape(hidden_rng, tuple(t.shape))
        what = f"arange over {base} then {recipe}, then view/reshape to {new_shape}"
        try:
            u = t.view(new_shape)
        except RuntimeError:
            with pytest.raises(ShapeError):
                td.run_program(views.view, x, new_shape)
            u = t.reshape(new_shape)
            y = td.run_program(views.reshape, x, new_shape)
            assert not td.run_program(views.shares_storage, y, x), f"{what}: reshape must copy here"
        else:
            y = td.run_program(views.view, x, new_shape)
            assert td.run_program(views.shares_storage, y, x) or u.numel() == 0, f"{what}: view must share storage"
        got = td.run_program(views.facts, y)
        assert got["shape"] == tuple(u.shape), f"{what}: shape {got['shape']}, torch gives {tuple(u.shape)}"
        assert_close(got["values"], u, what=what)
