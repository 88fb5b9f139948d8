"""Shared by ex13's public and hidden tests: twin models in both libraries, torch's training step, and the
grading of the student's own model (budget, threshold, held-out split)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (torch.optim imports it at its first step: before the grader's guard)

import minitorch_dg as mt
from minitorch_dg import course
from minitorch_dg.utils.data import Subset, random_split
from tests.support.compare import assert_close

ex13 = course.ExerciseProxy("ex13")

# (c): the grading budget and threshold; the reference must pass with margin (see exercises/ex13_train.md).
FIT_BUDGET_S = 4.0            # CPU seconds (time.process_time) handed to fit
FIT_BUDGET_SLACK = 1.5        # fit may overrun its budget by half (one epoch too many), no more
WARM_UP_SAMPLES = 256         # the untimed first fit: compiles every kernel the timed one will use
WARM_UP_BUDGET_S = 0.5
ACCURACY_THRESHOLD = 0.90     # on the held-out split


def twin_models(seed: int = 0) -> tuple[mt.nn.Module, torch.nn.Module]:
    """The same MLP with BatchNorm1d in both libraries, torch's weights copied into minitorch-dg's."""
    torch.manual_seed(seed)
    reference = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                    torch.nn.Linear(8, 4)).double()
    model = mt.nn.Sequential(mt.nn.Linear(6, 8), mt.nn.BatchNorm1d(8), mt.nn.ReLU(), mt.nn.Linear(8, 4)).double()
    model.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in reference.state_dict().items()})
    return model, reference


def compare_models(model: mt.nn.Module, reference: torch.nn.Module, what: str) -> None:
    theirs = reference.state_dict()
    for name, value in model.state_dict().items():
        assert_close(value, theirs[name], what=f"{what}: {name}")


def torch_step(reference: torch.nn.Module, x: np.ndarray, y: np.ndarray, optimizer: Any, scheduler: Any,
               max_norm: float | None) -> float:
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(reference(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return float(loss.item())


def warm_up(train_set: Any, val_set: Any) -> None:
    """Run build_model() and fit() once, untimed, on a few training samples with a small budget, so that the
    Numba kernels the timed fit needs are compiled (or loaded from the cache) before its clock starts.

    On a fresh checkout the first use of the fast backend compiles kernels for tens of seconds of CPU time; that
    is the framework's cost, not the student's, and counting it made the budget test fail on a cold cache."""
    model = ex13.build_model()
    assert isinstance(model, mt.nn.Module), f"build_model must return an nn.Module, got {type(model).__name__}"
    few = Subset(train_set, range(min(WARM_UP_SAMPLES, len(train_set))))
    ex13.fit(model, few, val_set, WARM_UP_BUDGET_S)


def fit_and_score(split_seed: int) -> tuple[float, float]:
    """Train build_model() with fit() on a training split drawn with split_seed; return (held-out accuracy,
    CPU seconds fit took). The held-out samples are never passed to the student's code before scoring.
    A first, untimed fit on a few training samples (warm_up) takes the kernels' compilation out of the timing."""
    mt.manual_seed(split_seed)
    train = mt.datasets.digits(train=True, seed=split_seed, flatten=False)
    held_out = mt.datasets.digits(train=False, seed=split_seed, flatten=False)
    train_set, val_set = random_split(train, [0.85, 0.15], generator=mt.Generator().manual_seed(split_seed))
    warm_up(train_set, val_set)
    mt.manual_seed(split_seed)
    model = ex13.build_model()
    assert isinstance(model, mt.nn.Module), f"build_model must return an nn.Module, got {type(model).__name__}"
    started = time.process_time()
    trained = ex13.fit(model, train_set, val_set, FIT_BUDGET_S)
    seconds = time.process_time() - started
    assert isinstance(trained, mt.nn.Module), "fit must return the trained model"
    trained.eval()
    x, y = held_out.tensors
    with mt.no_grad():
        predictions = trained(x).argmax(1)
    accuracy = float((predictions == y).to(mt.int64).sum().item()) / len(y)
    return accuracy, seconds
