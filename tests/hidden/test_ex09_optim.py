"""ex09 hidden tests: hyper-parameters, shapes, dtypes and gradients drawn at grading time (MTDG_SEED),
every optimizer compared with torch.optim step by step, clipping with torch.nn.utils.

ex09 runs in a worker process (grader/judge.py): the programs of tests/support/optim_programs.py run the
minitorch-dg side there on the gradients drawn here, and the comparison stays here."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
import torch

from grader import judge
from tests.support.compare import assert_close
from tests.support.optim_programs import clipped, optimizer_steps

ag = judge.exercise("ex09")  # ex09 runs in a worker process (grader/judge.py)
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop"]  # the same names in mt.optim and torch.optim


def _draw_kwargs(name: str, rng: random.Random) -> dict[str, Any]:
    if name == "SGD":
        kwargs: dict[str, Any] = {"lr": rng.uniform(0.01, 0.2)}
        if rng.random() < 0.8:
            kwargs["momentum"] = rng.uniform(0.5, 0.99)
            if rng.random() < 0.4:
                kwargs["nesterov"] = True
            elif rng.random() < 0.6:
                kwargs["dampening"] = rng.uniform(0.05, 0.9)
        if rng.random() < 0.5:
            kwargs["weight_decay"] = rng.uniform(0.001, 0.2)
        return kwargs
    if name in ("Adam", "AdamW"):
        kwargs = {"lr": rng.uniform(0.001, 0.05), "betas": (rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.9999))}
        if rng.random() < 0.5:
            kwargs["eps"] = rng.choice([1e-8, 1e-6, 1e-3])
        if rng.random() < 0.7:
            kwargs["weight_decay"] = rng.uniform(0.0, 0.3)
        return kwargs
    kwargs = {"lr": rng.uniform(0.001, 0.03), "alpha": rng.uniform(0.8, 0.999)}
    if rng.random() < 0.5:
        kwargs["centered"] = True
    if rng.random() < 0.5:
        kwargs["momentum"] = rng.uniform(0.3, 0.95)
    if rng.random() < 0.5:
        kwargs["weight_decay"] = rng.uniform(0.001, 0.2)
    if rng.random() < 0.3:
        kwargs["eps"] = rng.choice([1e-8, 1e-4])
    return kwargs


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("case", range(3))
def test_optimizer_random_hyper_parameters_20_steps(name: str, case: int, hidden_rng: random.Random) -> None:
    kwargs = _draw_kwargs(name, hidden_rng)
    if hidden_rng.random() < 0.2:
        kwargs["maximize"] = True
    dtype = hidden_rng.choice(["float64", "float64", "float32"])
    tdtype = getattr(torch, dtype)
    shapes = [tuple(hidden_rng.randint(1, 4) for _ in range(hidden_rng.randint(1, 3))) for _ in range(hidden_rng.randint(1, 3))]
    data = np.random.default_rng(hidden_rng.randrange(2**32))
    start = [data.normal(size=s) for s in shapes]
    t_params = [torch.tensor(a, dtype=tdtype, requires_grad=True) for a in start]
    grads = []  # per step, a gradient per parameter; sometimes a parameter gets none: it is skipped
    for step in range(1, 21):
        grads.append([None if step > 1 and data.random() < 0.1
                      else data.normal(scale=data.choice([0.01, 1.0, 10.0]), size=shape) for shape in shapes])
    got = ag.run_program(optimizer_steps, name, [{"params": start}], kwargs, dtype, grads)
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) [{dtype}]"
    for step in range(1, 21):
        for tp, g in zip(t_params, grads[step - 1]):
            tp.grad = None if g is None else torch.tensor(g, dtype=tdtype)
        t_opt.step()
        for i, tp in enumerate(t_params):
            assert_close(got["after"][step - 1][i], tp, what=f"{label}: parameter {i} after step {step}", dtype=dtype,
                         rtol=1e-3 if dtype == "float32" else None, atol=1e-4 if dtype == "float32" else None)


@pytest.mark.parametrize("case", range(4))
def test_clip_grad_norm_random(case: int, hidden_rng: random.Random) -> None:
    norm_type = hidden_rng.choice([1.0, 2.0, 2.5, math.inf])
    data = np.random.default_rng(hidden_rng.randrange(2**32))
    grads = [data.normal(scale=hidden_rng.uniform(0.1, 5.0), size=tuple(hidden_rng.randint(1, 5) for _ in range(2)))
             for _ in range(hidden_rng.randint(1, 4))]
    t_params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(t_params, grads):
        tp.grad = torch.tensor(g)
    zeros = [np.zeros(g.shape) for g in grads]
    every = list(range(len(grads)))
    total = float(torch.nn.utils.get_total_norm([tp.grad for tp in t_params], norm_type))
    max_norm = total * hidden_rng.choice([0.1, 0.5, 0.99, 2.0])
    want = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    got = ag.run_program(clipped, "clip_grad_norm_", zeros, grads, every, [max_norm, norm_type], {})
    what = f"clip_grad_norm_(max_norm={max_norm:.4g}, norm_type={norm_type})"
    assert_close(got["returned"], want, what=f"{what}: total norm")
    for i, tp in enumerate(t_params):
        assert_close(got["grads"][i], tp.grad, what=f"{what}: gradient {i}")
    value = hidden_rng.uniform(0.05, 2.0)
    torch.nn.utils.clip_grad_value_(t_params, value)
    got = ag.run_program(clipped, "clip_grad_value_", zeros, got["grads"], every, [value], {})
    for i, tp in enumerate(t_params):
        assert_close(got["grads"][i], tp.grad, what=f"clip_grad_value_({value:.3g}): gradient {i}")
