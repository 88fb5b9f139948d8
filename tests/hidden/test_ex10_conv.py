"""ex10 hidden tests: shapes, kernels, strides, padding, dilation, groups and pooling options drawn at
grading time (MTDG_SEED), compared with torch.nn.functional on the same data (values and gradients).

ex10 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there
(`check_op(call_functional, ..., worker=ag)`), and torch and the comparison stay here."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support.tensor_oracle import call_functional, check_op

ag = judge.exercise("ex10")  # ex10 runs in a worker process (grader/judge.py)
TF = torch.nn.functional


def check_f(name: str, *arrays: np.ndarray, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
            **options: Any) -> None:
    """F.<name>(*tensors, *args, **kwargs) in ex10's worker against torch's."""
    check_op(call_functional, *arrays, library=True, params=[name, list(args), dict(kwargs or {})], worker=ag,
             **options)


def _array(rng: random.Random, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(rng.randrange(2**32)).normal(size=shape)


def _conv_case(rng: random.Random) -> tuple[tuple[int, ...], tuple[int, ...], dict[str, Any]]:
    groups = rng.choice([1, 1, 2, 3])
    channels = groups * rng.randint(1, 2)
    out_channels = groups * rng.randint(1, 2)
    kernel = (rng.randint(1, 3), rng.randint(1, 3))
    dilation = (rng.randint(1, 2), rng.randint(1, 2))
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    size = tuple(max(s - 2 * p, 1) + rng.randint(0, 4) for s, p in zip(span, padding))
    batch = rng.randint(1, 3)
    kwargs: dict[str, Any] = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (batch, channels, *size), (out_channels, channels // groups, *kernel), kwargs


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", range(6))
def test_conv2d_random_geometry(case: int, hidden_rng: random.Random) -> None:
    x_shape, w_shape, kwargs = _conv_case(hidden_rng)
    dtype = hidden_rng.choice(["float32", "float64"])
    layouts = [(0, 2, 3, 1) if hidden_rng.random() < 0.3 else None, None, None]
    # torch computes on contiguous copies: torch 2.13's CPU conv2d crashes the process (segfault) on some of
    # these geometries with a channels-last float32 input and a bias, e.g. x (2, 6, 3, 1), weight (6, 2, 2, 1),
    # stride (1, 2), padding (2, 1), dilation (1, 2), groups 3. The channels-last x is minitorch-dg's to handle.
    check_f("conv2d", _array(hidden_rng, x_shape), _array(hidden_rng, w_shape), _array(hidden_rng, (w_shape[0],)),
            kwargs=kwargs, dtype=dtype, layouts=layouts, oracle_layouts=False,
            label=f"F.conv2d(x {x_shape}, weight {w_shape}, bias, {kwargs})")


@pytest.mark.parametrize("case", range(3))
def test_conv1d_random_geometry(case: int, hidden_rng: random.Random) -> None:
    x_shape, w_shape, kwargs = _conv_case(hidden_rng)
    kwargs = {k: (v[1] if isinstance(v, tuple) else v) for k, v in kwargs.items()}
    x1, w1 = (x_shape[0], x_shape[1], x_shape[3]), (w_shape[0], w_shape[1], w_shape[3])
    check_f("conv1d", _array(hidden_rng, x1), _array(hidden_rng, w1), kwargs=kwargs,
            label=f"F.conv1d(x {x1}, weight {w1}, {kwargs})")


@pytest.mark.parametrize("case", range(3))
def test_unfold_fold_random_geometry(case: int, hidden_rng: random.Random) -> None:
    kernel = (hidden_rng.randint(1, 3), hidden_rng.randint(1, 3))
    kwargs = dict(kernel_size=kernel, dilation=hidden_rng.randint(1, 2), padding=hidden_rng.randint(0, 1),
                  stride=hidden_rng.randint(1, 3))
    size = (hidden_rng.randint(5, 8), hidden_rng.randint(5, 8))  # at least the longest window (3 taps, dilation 2)
    channels = hidden_rng.randint(1, 3)
    check_f("unfold", _array(hidden_rng, (2, channels, *size)), kwargs=kwargs,
            label=f"F.unfold(x (2, {channels}, {size}), {kwargs})")
    blocks = TF.unfold(torch.zeros(1, channels, *size), **kwargs).shape
    check_f("fold", _array(hidden_rng, (2, blocks[1], blocks[2])), args=(size,), kwargs=kwargs,
            label=f"F.fold(x (2, {blocks[1]}, {blocks[2]}), {size}, {kwargs})")


def _pool_kwargs(rng: random.Random, with_dilation: bool) -> dict[str, Any]:
    kernel = (rng.randint(1, 3), rng.randint(1, 3))
    kwargs: dict[str, Any] = dict(kernel_size=kernel, stride=(rng.randint(1, 3), rng.randint(1, 3)),
                                  ceil_mode=rng.random() < 0.5)
    if with_dilation:
        kwargs["dilation"] = (rng.randint(1, 2), rng.randint(1, 2))
    kwargs["padding"] = tuple(rng.randint(0, k // 2) for k in kernel)  # torch: at most half the kernel
    return kwargs


@pytest.mark.parametrize("case", range(5))
def test_max_pool2d_random_geometry_with_ties(case: int, hidden_rng: random.Random) -> None:
    kwargs = _pool_kwargs(hidden_rng, with_dilation=True)
    shape = (hidden_rng.randint(1, 2), hidden_rng.randint(1, 3), hidden_rng.randint(5, 8), hidden_rng.randint(5, 8))
    x = np.random.default_rng(hidden_rng.randrange(2**32)).integers(0, 4, size=shape).astype(np.float64)
    check_f("max_pool2d", x, kwargs=kwargs, dtype=hidden_rng.choice(["float32", "float64"]),
            label=f"F.max_pool2d(x {shape} with ties, {kwargs})")
    got = ag.run_program(lambda x, kw: mt.nn.functional.max_pool2d(mt.tensor(x), **kw, return_indices=True)[1]
                         .to_numpy(), x, kwargs)
    _, want = TF.max_pool2d(torch.tensor(x), **kwargs, return_indices=True)
    assert np.array_equal(got, want.numpy()), f"return_indices differ from torch's for {kwargs}"


@pytest.mark.parametrize("case", range(5))
def test_avg_pool2d_random_geometry(case: int, hidden_rng: random.Random) -> None:
    kwargs = _pool_kwargs(hidden_rng, with_dilation=False)
    kwargs["count_include_pad"] = hidden_rng.random() < 0.5
    shape = (hidden_rng.randint(1, 2), hidden_rng.randint(1, 3), hidden_rng.randint(4, 8), hidden_rng.randint(4, 8))
    check_f("avg_pool2d", _array(hidden_rng, shape), kwargs=kwargs,
            dtype=hidden_rng.choice(["float32", "float64"]), label=f"F.avg_pool2d(x {shape}, {kwargs})")


@pytest.mark.parametrize("case", range(3))
def test_adaptive_avg_pool2d_random_sizes(case: int, hidden_rng: random.Random) -> None:
    size = (hidden_rng.randint(1, 9), hidden_rng.randint(1, 9))
    out = (hidden_rng.randint(1, 6), hidden_rng.randint(1, 6))
    check_f("adaptive_avg_pool2d", _array(hidden_rng, (2, 2, *size)), args=(out,),
            label=f"F.adaptive_avg_pool2d(x (2, 2, {size}), {out})")
