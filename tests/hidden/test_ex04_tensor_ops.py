"""ex04 hidden tests: kernels on strided views drawn at grading time (seed MTDG_SEED), compared with torch."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import kernel_programs as kernels
from tests.support.compare import assert_close
from tests.support.strided_views import Shape, Strided, run_in_worker
from tests.support.tensor_oracle import check_op

ops = judge.exercise("ex04")  # the kernels run in a worker process (grader/judge.py, kernel_programs.py)


def random_shape(rng: random.Random, min_dims: int = 0, max_dims: int = 4, max_side: int = 4) -> Shape:
    return tuple(rng.randint(1, max_side) for _ in range(rng.randint(min_dims, max_dims)))


def smaller(rng: random.Random, shape: Shape) -> Shape:
    """A shape that broadcasts to `shape`: some sizes set to 1, maybe some leading dims dropped."""
    small = tuple(1 if rng.random() < 0.3 else s for s in shape)
    return small[rng.randint(0, len(small)):] if rng.random() < 0.5 else small


def random_values(rng: random.Random, shape: Shape) -> np.ndarray:
    return np.random.default_rng(rng.randrange(2**32)).uniform(-2.0, 2.0, size=shape)


def strided(rng: random.Random, values: np.ndarray, kinds: tuple[str, ...]) -> Strided:
    """`values` laid out as a randomly chosen view: contiguous, permuted, sliced with a random step and start."""
    kind = rng.choice(kinds)
    if kind == "permuted" and values.ndim >= 2:
        order = list(range(values.ndim))
        rng.shuffle(order)
        inverse = [order.index(d) for d in range(values.ndim)]
        base = np.ascontiguousarray(values.transpose(order))
        return Strided(kind, torch.from_numpy(base).permute(inverse), base)
    if kind == "stepped":
        steps = [rng.randint(1, 3) for _ in values.shape]
        starts = [rng.randint(0, 2) for _ in values.shape]
        base = np.full(tuple(a + s * n + 1 for a, s, n in zip(starts, steps, values.shape)), np.nan)
        key = tuple(slice(a, a + s * n, s) for a, s, n in zip(starts, steps, values.shape))
        base[key] = values
        return Strided(kind, torch.from_numpy(base)[key], base)
    base = np.array(values, dtype=np.float64, order="C")
    return Strided("contiguous", torch.from_numpy(base), base)


def random_input(rng: random.Random, shape: Shape) -> Strided:
    if rng.random() < 0.25:  # stride 0: a smaller tensor expanded to `shape`
        base = np.array(random_values(rng, smaller(rng, shape)), order="C")
        return Strided("expanded", torch.from_numpy(base).expand(shape), base)
    return strided(rng, random_values(rng, shape), ("contiguous", "permuted", "stepped"))


def random_out(rng: random.Random, shape: Shape) -> Strided:
    return strided(rng, np.full(shape, np.nan), ("contiguous", "permuted", "stepped"))


def check_out(out: Strided, expected: torch.Tensor, what: str, **operands: Strided) -> None:
    inputs = {name: repr(s) for name, s in {"out": out, **operands}.items()}
    assert_close(out.view, expected.expand(out.shape), what=what, inputs=inputs)
    written = int(np.count_nonzero(~np.isnan(out.base)))
    assert written == math.prod(out.shape), (
        f"{what}: {written} slots of out's storage were written for a view of {math.prod(out.shape)} elements {inputs}"
    )


def mix(x: float, y: float) -> float:
    return x * y - 0.5 * y + x


def torch_mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a * b - 0.5 * b + a


@pytest.mark.parametrize("case", range(6))
def test_map(case: int, hidden_rng: random.Random) -> None:
    for _ in range(4):
        out_shape = random_shape(hidden_rng)
        a = random_input(hidden_rng, smaller(hidden_rng, out_shape) if hidden_rng.random() < 0.5 else out_shape)
        out = random_out(hidden_rng, out_shape)
        scale = hidden_rng.uniform(-2.0, 2.0)
        run_in_worker(ops, kernels.scaled_square_map, out, a, before=[scale])
        check_out(out, scale * a.view * a.view - a.view, "tensor_map(scale * v * v - v)", a=a)


@pytest.mark.parametrize("case", range(6))
def test_zip(case: int, hidden_rng: random.Random) -> None:
    for _ in range(4):
        full = random_shape(hidden_rng)
        a_shape, b_shape = smaller(hidden_rng, full), smaller(hidden_rng, full)
        out_shape = tuple(torch.broadcast_shapes(a_shape, b_shape))
        a, b = random_input(hidden_rng, a_shape), random_input(hidden_rng, b_shape)
        out = random_out(hidden_rng, out_shape)
        run_in_worker(ops, kernels.zip_kernel, out, a, b, before=[mix])
        check_out(out, torch_mix(a.view, b.view), f"tensor_zip(mix) of {a_shape} and {b_shape}", a=a, b=b)


FOLDS: dict[str, tuple[Callable[[float, float], float], Callable[[torch.Tensor, int, float], torch.Tensor]]] = {
    "sum": (lambda acc, x: acc + x, lambda t, d, s: t.sum(d, keepdim=True) + s),
    "max": (lambda acc, x: x if x > acc else acc, lambda t, d, s: torch.clamp(t.amax(d, keepdim=True), min=s)),
    "prod": (lambda acc, x: acc * x, lambda t, d, s: t.prod(d, keepdim=True) * s),
}


@pytest.mark.parametrize("case", range(6))
def test_reduce(case: int, hidden_rng: random.Random) -> None:
    for _ in range(4):
        a = random_input(hidden_rng, random_shape(hidden_rng, min_dims=1))
        dim = hidden_rng.randrange(len(a.shape))
        name = hidden_rng.choice(list(FOLDS))
        fn, expected_of = FOLDS[name]
        start = hidden_rng.choice([0.0, 1.0, -math.inf]) if name == "max" else hidden_rng.uniform(-3.0, 3.0)
        if name == "prod":
            start = hidden_rng.uniform(0.5, 2.0)
        out = random_out(hidden_rng, tuple(1 if d == dim else s for d, s in enumerate(a.shape)))
        run_in_worker(ops, kernels.reduce_kernel, out, a, before=[fn, start], after=[dim])
        check_out(out, expected_of(a.view, dim, start),
                  f"tensor_reduce({name}, start={start:.4g}) along dim {dim} of {a.shape}", a=a)


@pytest.mark.parametrize("case", range(6))
def test_matmul(case: int, hidden_rng: random.Random) -> None:
    for _ in range(3):
        batch = random_shape(hidden_rng, 0, 2, 3)
        n, k, m = (hidden_rng.randint(1, 4) for _ in range(3))
        a = random_input(hidden_rng, smaller(hidden_rng, batch) + (n, k))
        b = random_input(hidden_rng, smaller(hidden_rng, batch) + (k, m))
        expected = torch.matmul(a.view, b.view)
        out = random_out(hidden_rng, tuple(expected.shape))
        run_in_worker(ops, kernels.matmul_kernel, out, a, b)
        check_out(out, expected, f"tensor_matmul of {a.shape} and {b.shape}", a=a, b=b)


EXPRESSIONS: dict[str, Callable[..., object]] = {
    "x * y + x": lambda x, y: x * y + x,
    "(x - y).exp().sum(-1)": lambda x, y: (x - y).exp().sum(-1),
    "(x * y).amax(0)": lambda x, y: (x * y).amax(0),
    "x @ y.mT": lambda x, y: x @ y.mT,
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_tensor_expressions_on_the_simple_backend(name: str, hidden_rng: random.Random) -> None:
    batch = random_shape(hidden_rng, 0, 2, 3)
    rows, cols = hidden_rng.randint(1, 4), hidden_rng.randint(1, 4)
    x_shape = batch + (rows, cols)
    y_shape = smaller(hidden_rng, x_shape) if name != "x @ y.mT" else smaller(hidden_rng, batch) + (2, cols)
    x, y = random_values(hidden_rng, x_shape), random_values(hidden_rng, y_shape)
    layouts = [tuple(reversed(range(len(x_shape)))), None if len(y_shape) < 2 else tuple(range(len(y_shape)))[::-1]]
    check_op(EXPRESSIONS[name], x, y, dtype="float64", layouts=layouts, label=f"{name}, x {x_shape}, y {y_shape}",
             worker=ops, backend="simple")
