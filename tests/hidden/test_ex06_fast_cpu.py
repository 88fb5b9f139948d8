"""ex06 hidden tests: shapes, layouts, broadcasts, dtypes and ops drawn at grading time (seed MTDG_SEED).

Each test draws its cases from `hidden_rng`, runs your kernels on views over numpy buffers and compares with
torch on the same memory; parallel loops are also run as Python with a race check. A failure message names
the case (shape, layout, dtype, op), not the seed's other cases.

ex06 runs in a worker process (grader/judge.py): the kernels run there through the programs of
tests/support/fast_kernel_programs.py (the race checks too), and so do the networks on the fast backend
(`check_op(..., worker=ops, backend="fast")`); torch and the comparisons stay here.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import fast_kernel_programs as kernels
from tests.support.compare import assert_close
from tests.support.fast_kernel_programs import run_kernel
from tests.support.parallel_races import races_reported, without_jit
from tests.support.strided_operands import KINDS, Operand, operand, output
from tests.support.tensor_oracle import check_op

ops = judge.exercise("ex06")  # the kernels run in a worker process (grader/judge.py, fast_kernel_programs.py)

MAP_OPS = {"exp": torch.exp, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "neg": torch.neg}
ZIP_OPS = {"add": torch.add, "mul": torch.mul, "sub": torch.sub, "maximum": torch.maximum}
REDUCE_OPS = {"sum": lambda v, d: v.sum(d, keepdim=True), "max": lambda v, d: v.amax(d, keepdim=True),
              "min": lambda v, d: v.amin(d, keepdim=True), "prod": lambda v, d: v.prod(d, keepdim=True)}


def values_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.randrange(2**32))


def draw_shape(rng: random.Random, min_dims: int = 0, max_dims: int = 4) -> tuple[int, ...]:
    dims = rng.randint(min_dims, max_dims)
    shape = [rng.choice([1, 2, 3, 5, 7, 9, 16, 33]) for _ in range(dims)]
    if dims and rng.random() < 0.25:
        shape[-1] = rng.randint(2000, 2600)  # a row longer than a block
        shape = [min(s, 3) for s in shape[:-1]] + [shape[-1]]
    return tuple(shape)


def shrink(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to `shape`: some leading dims dropped, some sizes set to 1."""
    small = [1 if rng.random() < 0.35 else s for s in shape]
    return tuple(small[rng.randint(0, len(small)):] if rng.random() < 0.3 else small)


def kind_for(rng: random.Random, shape: tuple[int, ...]) -> str:
    return rng.choice(KINDS) if shape else "contiguous"


def check(out: Operand, expected: torch.Tensor, what: str, rtol: float | None = None,
          atol: float | None = None) -> None:
    assert_close(out.values(), expected.detach().double().numpy(), what=what, dtype=out.dtype, rtol=rtol, atol=atol)
    out.assert_untouched()


@pytest.mark.parametrize("case", range(6))
def test_random_maps(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    for _ in range(3):
        name = hidden_rng.choice(list(MAP_OPS))
        dtype = hidden_rng.choice(["float32", "float64"])
        shape = draw_shape(hidden_rng)
        small = shrink(hidden_rng, shape)
        x = operand(values.uniform(-4, 4, size=small), dtype, kind_for(hidden_rng, small))
        out = output(shape, dtype, kind_for(hidden_rng, shape))
        a = x.expand(shape)
        run_kernel(ops, kernels.map_kernel, out, a, before=[None, name])
        check(out, MAP_OPS[name](x.view).expand(shape), f"tensor_map({name!r}) of {x} broadcast into {out}")


@pytest.mark.parametrize("case", range(6))
def test_random_zips(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    for _ in range(3):
        name = hidden_rng.choice(list(ZIP_OPS))
        dtype = hidden_rng.choice(["float32", "float64"])
        shape = draw_shape(hidden_rng)
        shape_a, shape_b = shrink(hidden_rng, shape), shrink(hidden_rng, shape)
        big = tuple(torch.broadcast_shapes(shape_a, shape_b))
        x = operand(values.uniform(-3, 3, size=shape_a), dtype, kind_for(hidden_rng, shape_a))
        y = operand(values.uniform(-3, 3, size=shape_b), dtype, kind_for(hidden_rng, shape_b))
        out = output(big, dtype, kind_for(hidden_rng, big))
        a, b = x.expand(big), y.expand(big)
        run_kernel(ops, kernels.zip_kernel, out, a, b, before=[None, name])
        check(out, ZIP_OPS[name](x.view, y.view), f"tensor_zip({name!r}) of {x} and {y} into {out}")


@pytest.mark.parametrize("case", range(6))
def test_random_reductions(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    for _ in range(3):
        name = hidden_rng.choice(list(REDUCE_OPS))
        dtype = hidden_rng.choice(["float32", "float64"])
        shape = draw_shape(hidden_rng, min_dims=1)
        if hidden_rng.random() < 0.2:
            shape = (int(ops.run_program(kernels.split_min)) + hidden_rng.randint(1, 5000),)
        dim = hidden_rng.randrange(len(shape))
        low, high = (0.97, 1.03) if name == "prod" else (-3.0, 3.0)
        x = operand(values.uniform(low, high, size=shape), dtype, kind_for(hidden_rng, shape))
        out_shape = tuple(1 if d == dim else s for d, s in enumerate(shape))
        out = output(out_shape, dtype, kind_for(hidden_rng, out_shape))
        threads = hidden_rng.choice([1, 2, 3, 8])
        run_kernel(ops, kernels.reduce_kernel, out, x, before=[None, name], after=[dim, threads])
        check(out, REDUCE_OPS[name](x.view, dim), f"tensor_reduce({name!r}) of {x} over dim {dim}, n_threads={threads}",
              rtol=2e-4 if dtype == "float32" else 1e-6, atol=1e-3 if dtype == "float32" else 1e-9)


@pytest.mark.parametrize("case", range(3))
def test_random_reductions_have_no_race(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    split = int(ops.run_program(kernels.split_min))
    shape = hidden_rng.choice([(split + hidden_rng.randint(1, 3000),), (2, split + 7), (hidden_rng.randint(2, 40), 300)])
    dim = hidden_rng.randrange(len(shape)) if len(shape) > 1 and shape[-1] < split else len(shape) - 1
    name = hidden_rng.choice(["sum", "max", "prod"])
    x = operand(values.uniform(0.999, 1.001, size=shape), "float64")
    out = output(tuple(1 if d == dim else s for d, s in enumerate(shape)), "float64")
    with races_reported(f"tensor_reduce({name!r}) of {x} over dim {dim}"):
        run_kernel(ops, kernels.reduce_kernel, out, x, before=[without_jit, name],
                   after=[dim, hidden_rng.choice([2, 4, 6])])
    check(out, REDUCE_OPS[name](x.view, dim), f"tensor_reduce({name!r}) of {x} over dim {dim}, run as Python",
          rtol=1e-9)


@pytest.mark.parametrize("case", range(5))
def test_random_matmuls(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    dtype = hidden_rng.choice(["float32", "float64"])
    m, n = hidden_rng.randint(1, 150), hidden_rng.randint(1, 150)
    k = hidden_rng.choice([hidden_rng.randint(1, 80), hidden_rng.randint(500, 1100)])
    batch = hidden_rng.choice([(), (3,), (2, 2)])
    batch_a = tuple(1 if hidden_rng.random() < 0.4 else s for s in batch)
    batch_b = batch[hidden_rng.randint(0, len(batch)):]
    x = operand(values.uniform(-2, 2, size=batch_a + (m, k)), dtype, hidden_rng.choice(KINDS))
    y = operand(values.uniform(-2, 2, size=batch_b + (k, n)), dtype, hidden_rng.choice(KINDS))
    batch = tuple(torch.broadcast_shapes(batch_a, batch_b))
    out = output(batch + (m, n), dtype, hidden_rng.choice(KINDS))
    a, b = x.expand(batch + (m, k)), y.expand(batch + (k, n))
    run_kernel(ops, kernels.matmul_kernel, out, a, b)
    check(out, x.view.double() @ y.view.double(), f"tensor_matmul {x} @ {y} into {out}",
          rtol=2e-4 if dtype == "float32" else None, atol=8e-6 * k if dtype == "float32" else None)


def network(x: Any, w1: Any, b1: Any, w2: Any, activation: str) -> Any:
    """Linear -> activation (a tensor method's name) -> Linear -> softmax over dim 1, summed over the batch;
    on minitorch-dg tensors in the worker (check_op sends it as code) and on torch's here."""
    h = getattr(x @ w1 + b1, activation)()
    return ((h @ w2).exp() / (h @ w2).exp().sum(1, keepdim=True)).sum(0)


@pytest.mark.parametrize("case", range(3))
def test_random_networks_on_the_fast_backend(case: int, hidden_rng: random.Random) -> None:
    values = values_rng(hidden_rng)
    dtype = hidden_rng.choice(["float32", "float64"])
    batch, n_in, hidden = hidden_rng.randint(1, 40), hidden_rng.randint(1, 30), hidden_rng.randint(1, 70)
    activation = hidden_rng.choice(["tanh", "sigmoid", "relu"])
    arrays = [values.uniform(-1, 1, size=s) for s in [(batch, n_in), (n_in, hidden), (hidden,), (hidden, 3)]]
    check_op(network, *arrays, dtype=dtype, layouts=[(1, 0), None, None, (1, 0)], params=[activation], worker=ops,
             backend="fast",
             label=f"{batch}x{n_in} -> Linear({n_in}, {hidden}) -> {activation} -> Linear({hidden}, 3) -> softmax",
             rtol=2e-4 if dtype == "float32" else None)
