"""ex12 hidden tests: shapes, hyper-parameters, modes and data drawn at grading time (MTDG_SEED); every module
compared with torch.nn on copied weights and buffers, step by step, train then eval.

ex12 runs in a worker process (grader/judge.py): each minitorch-dg module is built and stepped there through
programs (tests/support/nn_programs.py) and held here as a reference; torch and the comparisons stay here."""

from __future__ import annotations

import copy
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
from tests.support.nn_programs import remote_layer

ag = judge.exercise("ex12")  # ex12 runs in a worker process (grader/judge.py)
run = ag.run_program


def _values(rng: random.Random, shape: tuple[int, ...]) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    return gen.normal(rng.uniform(-2, 2), rng.uniform(0.5, 3.0), size=shape)


def _copy(mine: Any, reference: torch.nn.Module, rng: random.Random) -> None:
    """Draw torch's parameters from `rng` and load torch's state dict into `mine` (a module in the worker)."""
    with torch.no_grad():
        for param in reference.parameters():
            param.copy_(torch.tensor(_values(rng, tuple(param.shape)), dtype=param.dtype))
    run(nn_programs.load_state, mine, nn_programs.state_of(reference), True)


def _input_gradient_against_float64(got: np.ndarray | None, torch32: torch.Tensor, reference: torch.nn.Module,
                                    x: np.ndarray, upstream: np.ndarray, what: str) -> None:
    """A normalization's input gradient is a difference of terms much larger than itself (a batch of 2 in
    training normalizes to exactly -1 and +1), so in float32 it carries the rounding of those terms. Compare
    with torch in float64 (a float64 copy of the module: in training the gradient uses the batch's statistics,
    in evaluation the running ones, which a forward in evaluation does not change), allowing 4x the error of
    torch's own float32 result, and never less than the float32 tolerance."""
    exact_module = copy.deepcopy(reference).double()
    t_x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    exact_module(t_x).backward(torch.tensor(upstream, dtype=torch.float64))
    exact = t_x.grad
    torch_error = float((torch32.double() - exact).abs().max()) if exact.numel() else 0.0
    assert_close(got, exact, what=f"{what}: gradient of the input (against torch in float64)", dtype="float32",
                 atol=max(1e-5, 4 * torch_error))


def _step(mine: Any, reference: torch.nn.Module, x: np.ndarray, dtype: str, what: str,
          rng: random.Random) -> None:
    """One forward and backward on both (`mine` in the worker, nn_programs.layer_step); compare the output, every
    gradient and every buffer."""
    tdtype = getattr(torch, dtype)
    t_x = torch.tensor(x, dtype=tdtype, requires_grad=True)
    t_out = reference(t_x)
    upstream = _values(rng, tuple(t_out.shape))
    got = run(nn_programs.layer_step, mine, x, dtype, upstream)
    assert_close(got["out"], t_out, what=f"{what}: output", dtype=dtype)
    t_out.backward(torch.tensor(upstream, dtype=tdtype))
    if dtype == "float32":
        _input_gradient_against_float64(got["x.grad"], t_x.grad, reference, x, upstream, what)
    else:
        assert_close(got["x.grad"], t_x.grad, what=f"{what}: gradient of the input", dtype=dtype)
    t_params = dict(reference.named_parameters())
    for name, grad in got["grads"].items():
        assert_close(grad, t_params[name].grad, what=f"{what}: gradient of {name}", dtype=dtype)
    t_buffers = dict(reference.named_buffers())
    for name, buffer in got["buffers"].items():
        assert_close(buffer, t_buffers[name], what=f"{what}: buffer {name}", dtype=dtype)


@pytest.mark.parametrize("kind", ["1d", "1d-3", "2d"])
@pytest.mark.parametrize("trial", range(2))
def test_batchnorm_drawn(hidden_rng: random.Random, kind: str, trial: int) -> None:
    channels = hidden_rng.randint(1, 5)
    batch = hidden_rng.randint(2, 6)
    shape = {"1d": (batch, channels), "1d-3": (batch, channels, hidden_rng.randint(1, 5)),
             "2d": (batch, channels, hidden_rng.randint(1, 4), hidden_rng.randint(1, 4))}[kind]
    kwargs = {"eps": hidden_rng.choice([1e-5, 1e-3, 0.1]), "momentum": hidden_rng.choice([0.1, 0.5, 0.9, None]),
              "affine": hidden_rng.random() < 0.7, "track_running_stats": hidden_rng.random() < 0.8}
    dtype = hidden_rng.choice(["float64", "float32"])
    name = "BatchNorm2d" if kind == "2d" else "BatchNorm1d"
    reference = getattr(torch.nn, name)(channels, **kwargs).to(getattr(torch, dtype))
    mine = remote_layer(ag, name, channels, **kwargs, dtype=dtype)
    _copy(mine, reference, hidden_rng)
    label = f"{name}({channels}, {kwargs}) on {shape} in {dtype}"
    for step in range(hidden_rng.randint(1, 3)):
        _step(mine, reference, _values(hidden_rng, shape), dtype, f"{label}, training step {step + 1}", hidden_rng)
    run(nn_programs.set_mode, mine, False)
    reference.eval()
    _step(mine, reference, _values(hidden_rng, shape), dtype, f"{label}, eval mode", hidden_rng)


@pytest.mark.parametrize("trial", range(3))
def test_layernorm_drawn(hidden_rng: random.Random, trial: int) -> None:
    shape = tuple(hidden_rng.randint(1, 4) for _ in range(hidden_rng.randint(1, 4)))
    normalized = shape[len(shape) - hidden_rng.randint(1, len(shape)):]
    affine, bias = hidden_rng.random() < 0.7, hidden_rng.random() < 0.7
    eps = hidden_rng.choice([1e-5, 1e-2])
    reference = torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias).double()
    mine = remote_layer(ag, "LayerNorm", list(normalized), eps=eps, elementwise_affine=affine, bias=bias,
                        dtype=mt.float64)
    _copy(mine, reference, hidden_rng)
    _step(mine, reference, _values(hidden_rng, shape), "float64",
          f"LayerNorm({list(normalized)}, eps={eps}, elementwise_affine={affine}, bias={bias}) on {shape}", hidden_rng)


@pytest.mark.parametrize("trial", range(3))
def test_groupnorm_drawn(hidden_rng: random.Random, trial: int) -> None:
    groups = hidden_rng.randint(1, 3)
    channels = groups * hidden_rng.randint(1, 3)
    shape = (hidden_rng.randint(1, 3), channels) + tuple(hidden_rng.randint(1, 3) for _ in range(hidden_rng.randint(0, 2)))
    if len(shape) == 2 and channels == groups:
        shape = shape + (2,)  # one value per group has variance 0 in both libraries; keep the test informative
    if math.prod(shape) // channels == 1:  # N x spatial of 1: torch's group_norm refuses it in training (it
        shape = (2,) + shape[1:]           # reuses batch norm's check); see docs/torch_differences.md
    affine = hidden_rng.random() < 0.7
    reference = torch.nn.GroupNorm(groups, channels, affine=affine).double()
    mine = remote_layer(ag, "GroupNorm", groups, channels, affine=affine, dtype=mt.float64)
    _copy(mine, reference, hidden_rng)
    _step(mine, reference, _values(hidden_rng, shape), "float64",
          f"GroupNorm({groups}, {channels}, affine={affine}) on {shape}", hidden_rng)


def _dropout2d_of_ones(p: float, seed: int, shape: tuple[int, ...]) -> Any:
    """Program: mt.nn.Dropout2d(p) on float64 ones of `shape` after mt.manual_seed(seed), as an array."""
    mt.manual_seed(seed)
    return mt.nn.Dropout2d(p)(mt.ones(*shape, dtype=mt.float64)).to_numpy()


def test_dropout2d_rate_drawn(hidden_rng: random.Random) -> None:
    p = hidden_rng.uniform(0.1, 0.9)
    seed = hidden_rng.randrange(2**31)
    shape = (40, 50, hidden_rng.randint(1, 3), hidden_rng.randint(1, 3))
    out = run(_dropout2d_of_ones, p, seed, shape).reshape(40, 50, -1)
    dropped = (out == 0.0).all(-1)
    assert np.all(dropped | (out != 0.0).all(-1)), f"Dropout2d({p:.3f}) zeroed parts of channels"
    assert abs(dropped.mean() - p) < 0.06, f"Dropout2d({p:.3f}) zeroed {dropped.mean():.3f} of 2000 channels"
    assert_close(out[~dropped], np.full(out[~dropped].shape, 1.0 / (1.0 - p)), what=f"Dropout2d({p:.3f}) kept values")
