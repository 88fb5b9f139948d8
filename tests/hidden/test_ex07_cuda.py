"""ex07 hidden tests: shapes, layouts, ops and values drawn at grading time (seed MTDG_SEED), compared with torch.

Same conditions as the public tests: a GPU when there is one, else the simulator under the strict schedule,
with small shapes, and the kernels run in ex07's worker process (tests/support/cuda_programs.py), torch here.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from grader import judge
from minitorch_dg.backends import cuda as cuda_env
from tests.support.compare import assert_close
from tests.support.cuda_programs import Cuda
from tests.support.tensor_oracle import check_op

ops = judge.exercise("ex07")  # the kernels run in a worker process, under the strict schedule
cuda = Cuda(ops)

pytestmark = pytest.mark.skipif(cuda_env.mode() == "none",
                                reason=cuda_env.skip_reason("tests/hidden/test_ex07_cuda.py"))

UNARY = {"neg": torch.neg, "exp": torch.exp, "sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh,
         "abs": torch.abs, "id": lambda t: t.clone()}
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "maximum": torch.maximum, "lt": torch.lt,
          "ge": torch.ge, "relu_back": lambda a, d: d * (a > 0)}
REDUCE = {"sum": lambda t, d: t.sum(d, keepdim=True), "max": lambda t, d: t.amax(d, keepdim=True),
          "min": lambda t, d: t.amin(d, keepdim=True), "prod": lambda t, d: t.prod(d, keepdim=True)}


def _shape(rng: random.Random, max_dims: int = 3, max_side: int = 7) -> tuple[int, ...]:
    return tuple(rng.randint(1, max_side) for _ in range(rng.randint(1, max_dims)))


def _values(rng: random.Random, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(rng.randrange(2**32)).uniform(low, high, size=shape)


def _layout(rng: random.Random, array: np.ndarray) -> tuple[list[int], torch.Tensor]:
    """A layout for the cuda tensor of `array` (a permutation: the worker makes it as a permuted view of the
    permuted copy, with `array`'s values) and a torch tensor with those values."""
    order = list(range(array.ndim))
    rng.shuffle(order)
    return order, torch.tensor(array)


def test_hidden_tensor_map(hidden_rng: random.Random) -> None:
    for _ in range(4):
        op = hidden_rng.choice(sorted(UNARY))
        array = _values(hidden_rng, _shape(hidden_rng))
        layout, t = _layout(hidden_rng, array)
        assert_close(cuda.map(op, array, layout).values, UNARY[op](t), what=f"K.map({op!r}) of shape {array.shape}")


def test_hidden_tensor_zip_broadcast(hidden_rng: random.Random) -> None:
    for _ in range(4):
        op = hidden_rng.choice(sorted(BINARY))
        full = _shape(hidden_rng)
        a_shape = tuple(1 if hidden_rng.random() < 0.3 else s for s in full)
        b_shape = tuple(1 if hidden_rng.random() < 0.3 else s for s in full)[hidden_rng.randint(0, len(full) - 1):]
        a, b = _values(hidden_rng, a_shape), _values(hidden_rng, b_shape)
        a_layout, ta = _layout(hidden_rng, a)
        b_layout, tb = _layout(hidden_rng, b)
        assert_close(cuda.zip(op, a, b, [a_layout, b_layout]).values, BINARY[op](ta, tb),
                     what=f"K.zip({op!r}) of shapes {a_shape} and {b_shape}")


def test_hidden_contiguous_map_and_zip(hidden_rng: random.Random) -> None:
    shape = _shape(hidden_rng, max_side=9)
    a, b = _values(hidden_rng, shape), _values(hidden_rng, shape)
    op = hidden_rng.choice(sorted(UNARY))
    assert_close(cuda.map(op, a).values, UNARY[op](torch.tensor(a)), what=f"K.map({op!r}) of a contiguous {shape}")
    op = hidden_rng.choice(sorted(BINARY))
    assert_close(cuda.zip(op, a, b).values, BINARY[op](torch.tensor(a), torch.tensor(b)),
                 what=f"K.zip({op!r}) of two contiguous {shape}")


def test_hidden_tensor_reduce(hidden_rng: random.Random) -> None:
    for _ in range(3):
        op = hidden_rng.choice(sorted(REDUCE))
        shape = _shape(hidden_rng, max_side=6)
        dim = hidden_rng.randrange(len(shape))
        low = 0.5 if op == "prod" else -2.0
        array = _values(hidden_rng, shape, low, 1.5)
        layout, t = _layout(hidden_rng, array)
        assert_close(cuda.reduce(op, array, dim, layout).values, REDUCE[op](t, dim),
                     what=f"K.reduce({op!r}) over dim {dim} of shape {shape}")


def test_hidden_tensor_reduce_long_slice(hidden_rng: random.Random) -> None:
    n = hidden_rng.randint(300, 700)
    slices = hidden_rng.randint(1, 2)
    op = hidden_rng.choice(["sum", "max", "min"])
    array = _values(hidden_rng, (slices, n))
    array[:, hidden_rng.randrange(260, n)] = 7.0 if op == "max" else -7.0
    dim = hidden_rng.randint(0, 1)
    if dim == 0:
        array = array.T.copy()
    assert_close(cuda.reduce(op, array, dim).values, REDUCE[op](torch.tensor(array), dim),
                 what=f"K.reduce({op!r}) over dim {dim} of shape {array.shape}")


def test_hidden_tensor_matmul(hidden_rng: random.Random) -> None:
    for _ in range(2):
        n, k, m = (hidden_rng.randint(1, 24) for _ in range(3))
        batch = hidden_rng.choice([(), (2,), (2, 1)])
        other = tuple(hidden_rng.choice([1, s]) for s in batch)[hidden_rng.randint(0, len(batch)):] if batch else ()
        a, b = _values(hidden_rng, batch + (n, k)), _values(hidden_rng, other + (k, m))
        a_layout, ta = _layout(hidden_rng, a)
        b_layout, tb = _layout(hidden_rng, b)
        assert_close(cuda.matmul(a, b, [a_layout, b_layout]).values, ta @ tb, what=f"matmul of shapes {a.shape} and {b.shape}")


def test_hidden_tensor_matmul_beyond_one_block(hidden_rng: random.Random) -> None:
    n, k, m = hidden_rng.randint(65, 80), hidden_rng.randint(1, 20), hidden_rng.randint(1, 12)
    if hidden_rng.random() < 0.5:
        n, m = m, n
    a, b = _values(hidden_rng, (n, k)), _values(hidden_rng, (k, m))
    assert_close(cuda.matmul(a, b).values, torch.tensor(a) @ torch.tensor(b), what=f"matmul of shapes {a.shape} and {b.shape}")


def test_hidden_gradients_on_cuda(hidden_rng: random.Random) -> None:
    n, k, m = (hidden_rng.randint(2, 9) for _ in range(3))
    x, w, c = _values(hidden_rng, (n, k)), _values(hidden_rng, (k, m)), _values(hidden_rng, (m,))
    check_op(lambda a, b, d: ((a @ b).tanh() * d).sum(1).sigmoid(), x, w, c, device="cuda", worker=ops,
             label=f"((x @ w).tanh() * c).sum(1).sigmoid() with x {x.shape}, w {w.shape}")
