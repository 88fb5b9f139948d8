"""ex08 hidden tests: shapes, dims, magnitudes and hyper-parameters drawn at grading time (MTDG_SEED),
compared with torch.nn on the same data.

ex08 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there, and torch
and the comparison stay here."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support import nn_programs
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

ag = judge.exercise("ex08")  # ex08 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex08's module as the worker serves it (never bound here)


def _shape(rng: random.Random, ndim: int) -> tuple[int, ...]:
    return tuple(rng.randint(1, 5) for _ in range(ndim))


def _array(rng: random.Random, shape: tuple[int, ...], scale: float = 2.0, offset: float = 0.0) -> np.ndarray:
    return np.random.default_rng(rng.randrange(2**32)).normal(offset, scale, size=shape)


@pytest.mark.parametrize("case", range(4))
def test_linear_random_shapes(case: int, hidden_rng: random.Random) -> None:
    lead = _shape(hidden_rng, hidden_rng.randint(0, 2))
    n_in, n_out = hidden_rng.randint(1, 6), hidden_rng.randint(1, 6)
    dtype = hidden_rng.choice(["float32", "float64"])
    arrays = [_array(hidden_rng, lead + (n_in,)), _array(hidden_rng, (n_out, n_in))]
    if hidden_rng.random() < 0.7:
        arrays.append(_array(hidden_rng, (n_out,)))
    check_op(lambda lib, *t: lib.nn.functional.linear(*t), *arrays, library=True, dtype=dtype, worker=ag,
             label=f"linear(x {lead + (n_in,)}, weight {(n_out, n_in)}, bias={'yes' if len(arrays) == 3 else 'None'})")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("case", range(3))
def test_softmax_family_random_dims_and_large_offsets(name: str, case: int, hidden_rng: random.Random) -> None:
    ndim = hidden_rng.randint(1, 4)
    shape = _shape(hidden_rng, ndim)
    dim = hidden_rng.randrange(-ndim, ndim)
    offset = hidden_rng.choice([0.0, 1000.0, -1000.0, 500.0])
    dtype = hidden_rng.choice(["float32", "float64"])
    x = _array(hidden_rng, shape, scale=hidden_rng.choice([1.0, 10.0]), offset=offset)
    keepdim = name == "logsumexp" and hidden_rng.random() < 0.5

    def fn(lib: Any, t: Any, name: str, dim: int, keepdim: bool) -> Any:
        if name == "logsumexp":
            return t.logsumexp(dim, keepdim=keepdim)
        return getattr(lib.nn.functional, name)(t, dim=dim)

    # float32 values near ±1000 carry an absolute rounding error of about 1e-4
    atol = 1e-3 if (dtype == "float32" and offset and name != "softmax") else None
    check_op(fn, x, library=True, params=[name, dim, keepdim], worker=ag, dtype=dtype, atol=atol, label=f"{name}(x of shape {shape} around {offset}, dim={dim})")


@pytest.mark.parametrize("name", ["mse_loss", "nll_loss", "cross_entropy"])
@pytest.mark.parametrize("case", range(3))
def test_losses_random(name: str, case: int, hidden_rng: random.Random) -> None:
    reduction = hidden_rng.choice(["mean", "sum", "none"])
    dtype = hidden_rng.choice(["float32", "float64"])
    n, c = hidden_rng.randint(1, 7), hidden_rng.randint(2, 6)
    if name == "mse_loss":
        shape = _shape(hidden_rng, hidden_rng.randint(1, 3))
        check_op(lambda lib, x, y, r: lib.nn.functional.mse_loss(x, y, reduction=r), _array(hidden_rng, shape),
                 _array(hidden_rng, shape), library=True, params=[reduction], worker=ag, dtype=dtype, label=f"mse_loss(shape {shape}, reduction={reduction!r})")
        return
    target = np.array([hidden_rng.randrange(c) for _ in range(n)], dtype=np.int64)
    x = _array(hidden_rng, (n, c), scale=hidden_rng.choice([1.0, 5.0, 400.0]))
    if name == "nll_loss":
        x = torch.log_softmax(torch.tensor(x), 1).numpy()

    check_op(lambda lib, t, y, name, r: getattr(lib.nn.functional, name)(t, y, reduction=r), x, target,
             library=True, params=[name, reduction], worker=ag, dtype=dtype, atol=1e-3 if dtype == "float32" else None,
             label=f"{name}(input ({n}, {c}), target {target.tolist()}, reduction={reduction!r})")


def test_mlp_with_copied_weights(hidden_rng: random.Random) -> None:
    sizes = [hidden_rng.randint(2, 9) for _ in range(3)]
    torch.manual_seed(hidden_rng.randrange(2**31))
    layers = [("Linear", sizes[0], sizes[1]), ("Tanh",), ("Linear", sizes[1], sizes[2])]
    n = hidden_rng.randint(1, 8)
    x = _array(hidden_rng, (n, sizes[0]))
    target = np.array([hidden_rng.randrange(sizes[2]) for _ in range(n)], dtype=np.int64)
    nn_programs.compare_module(ag, layers, "float64", x, target, None, what=f"cross-entropy of an MLP {sizes}")


def test_dropout_random_p(hidden_rng: random.Random) -> None:
    p = hidden_rng.uniform(0.1, 0.9)
    seed = hidden_rng.randrange(2**31)
    x = np.abs(_array(hidden_rng, (80, 80))) + 1.0
    values, grad, evaluating = run(_dropout_sum_backward_and_eval, x, p, seed)
    kept = values != 0
    assert abs((~kept).mean() - p) < 0.04, f"dropout(p={p:.3f}) zeroed {(~kept).mean():.3f} of the elements"
    assert_close(values[kept], x[kept] / (1 - p), what=f"dropout(p={p:.3f}): kept elements")
    assert grad is not None, f"x.grad is None after backward through dropout(p={p:.3f})"
    assert_close(grad, kept / (1 - p), what=f"gradient of dropout(p={p:.3f})")
    assert_close(evaluating, x, what="dropout in evaluation")


def _dropout_sum_backward_and_eval(x: Any, p: float, seed: int) -> tuple[Any, Any, Any]:
    """Program: out = dropout(x, p) after manual_seed(seed); out.sum().backward(); (out, x.grad, dropout(x, p,
    training=False))."""
    mt.manual_seed(seed)
    t = mt.tensor(x, dtype=mt.float64, requires_grad=True)
    out = mt.nn.functional.dropout(t, p)
    out.sum().backward()
    evaluating = mt.nn.functional.dropout(t, p, training=False).detach().to_numpy()
    return out.detach().to_numpy(), None if t.grad is None else t.grad.to_numpy(), evaluating


@pytest.mark.parametrize("case", range(3))
def test_init_bounds_random_shapes(case: int, hidden_rng: random.Random) -> None:
    shape = (hidden_rng.randint(20, 60), hidden_rng.randint(20, 60)) + _shape(hidden_rng, hidden_rng.randint(0, 2))
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    got_fans = tuple(run(lambda shape: tuple(ex.calculate_fan_in_and_fan_out(mt.zeros(*shape))), shape))
    assert got_fans == (fan_in, fan_out), f"calculate_fan_in_and_fan_out(shape {shape}) = {got_fans}"
    seed = hidden_rng.randrange(2**31)
    kind = hidden_rng.choice(["kaiming", "xavier", "linear"])
    if kind == "kaiming":
        a = hidden_rng.choice([0.0, 0.01, math.sqrt(5)])
        mode = hidden_rng.choice(["fan_in", "fan_out"])
        nonlinearity = hidden_rng.choice(["leaky_relu", "relu", "tanh"])
        values, _ = run(_initialised, "kaiming_uniform_", shape, seed, {"a": a, "mode": mode, "nonlinearity": nonlinearity})
        bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / (fan_in if mode == "fan_in" else fan_out))
        what = f"kaiming_uniform_(shape {shape}, a={a:.3g}, mode={mode!r}, {nonlinearity!r})"
    elif kind == "xavier":
        gain = hidden_rng.uniform(0.5, 2.0)
        values, _ = run(_initialised, "xavier_uniform_", shape, seed, {"gain": gain})
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        what = f"xavier_uniform_(shape {shape}, gain={gain:.3g})"
    else:
        values, b = run(_initialised, "init_linear_", shape, seed, {})
        bound = 1.0 / math.sqrt(fan_in)
        assert np.all(np.abs(b) <= bound) and np.abs(b).max() > 0.5 * bound, f"init_linear_ bias for shape {shape}"
        what = f"init_linear_(weight of shape {shape})"
    assert np.all(np.abs(values) <= bound * (1 + 1e-6)), f"{what}: |value| up to {np.abs(values).max():.5g} > bound {bound:.5g}"
    assert np.abs(values).max() > 0.97 * bound, f"{what}: values stay inside {np.abs(values).max():.5g} < bound {bound:.5g}"
    variance = values.var()
    assert abs(variance / (bound * bound / 3) - 1) < 0.15, f"{what}: variance {variance:.4g}, U(±b) has {bound * bound / 3:.4g}"


def _initialised(name: str, shape: tuple[int, ...], seed: int, options: dict[str, Any]) -> tuple[Any, Any]:
    """Program: w = zeros(shape) filled by mt.nn.init.<name>(w, **options) after manual_seed(seed), or, for
    "init_linear_", ex08's init_linear_(w, bias) of a zero bias; (w's values, the bias's values or None)."""
    mt.manual_seed(seed)
    w = mt.zeros(*shape)
    if name == "init_linear_":
        bias = mt.zeros(shape[0])
        ex.init_linear_(w, bias)
        return w.to_numpy(), bias.to_numpy()
    getattr(mt.nn.init, name)(w, **options)
    return w.to_numpy(), None
