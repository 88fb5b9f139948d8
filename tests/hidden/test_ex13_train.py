"""ex13 hidden tests: steps against torch with hyper-parameters drawn at grading time (MTDG_SEED), early stopping
on drawn loss curves, and the student's model scored on a held-out split of the digits drawn at grading time.

ex13 runs in a worker process (grader/judge.py): the programs of tests/support/training.py build, step and fit
there; the draws, torch and every comparison stay here."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from grader import judge
from tests.support import nn_programs
from tests.support.compare import assert_close
from tests.support.training import (
    ACCURACY_THRESHOLD,
    FIT_BUDGET_S,
    FIT_BUDGET_SLACK,
    compare_models,
    fit_and_score,
    optimizer_for,
    stops_at,
    torch_step,
    train_step,
    twin_models,
)

ag = judge.exercise("ex13")  # ex13 runs in a worker process (grader/judge.py)
run = ag.run_program


@pytest.mark.parametrize("trial", range(2))
def test_train_step_drawn(hidden_rng: random.Random, trial: int) -> None:
    model, reference = twin_models(ag, seed=hidden_rng.randrange(1000))
    lr = hidden_rng.uniform(0.01, 0.3)
    if hidden_rng.random() < 0.5:
        name, options = "SGD", {"lr": lr, "momentum": 0.8}
    else:
        # eps well above 1e-8: Adam's step g / (|g| + eps) turns the last-bit differences of a gradient near 0
        # (two summation orders of a batch) into differences of up to 1e-6 of the step, which failed a correct
        # solution at rtol 1e-7 for one seed (0.bias after two steps: -0.19867982 against -0.19867988)
        name, options = "Adam", {"lr": lr / 5, "eps": 1e-4}
    t_optimizer = getattr(torch.optim, name)(reference.parameters(), **options)
    step_size, gamma = hidden_rng.randint(1, 3), hidden_rng.uniform(0.3, 0.9)
    optimizer, scheduler = run(optimizer_for, model, name, options, [step_size, gamma])
    t_scheduler = torch.optim.lr_scheduler.StepLR(t_optimizer, step_size=step_size, gamma=gamma)
    max_norm = hidden_rng.choice([None, hidden_rng.uniform(0.01, 0.5)])
    gen = np.random.default_rng(hidden_rng.randrange(2**32))
    run(nn_programs.set_mode, model, True)
    for step in range(hidden_rng.randint(2, 4)):
        n = hidden_rng.randint(2, 12)
        x, y = gen.normal(size=(n, 6)), gen.integers(0, 4, size=n).astype(np.int64)
        got = run(train_step, model, x, y, optimizer, [scheduler, max_norm])
        t_loss = torch_step(reference, x, y, t_optimizer, t_scheduler, max_norm)
        label = f"train_step {step + 1} ({name}, lr {lr:.3g}, StepLR({step_size}, {gamma:.3g}), " \
                f"max_grad_norm={max_norm}, batch of {n})"
        assert_close(got["loss"], t_loss, what=f"{label}: loss")
        compare_models(got["state"], reference, label)


def _oracle_stop(losses: list[float], patience: int, min_delta: float) -> int | None:
    best, bad = float("inf"), 0
    for epoch, loss in enumerate(losses, 1):
        if loss < best - min_delta:
            best, bad = loss, 0
        else:
            bad += 1
        if bad >= patience:
            return epoch
    return None


@pytest.mark.parametrize("trial", range(3))
def test_early_stopping_drawn(hidden_rng: random.Random, trial: int) -> None:
    patience, min_delta = hidden_rng.randint(1, 4), hidden_rng.choice([0.0, 0.01, 0.05])
    losses = [1.0]
    for _ in range(hidden_rng.randint(4, 14)):
        losses.append(round(max(0.01, losses[-1] + hidden_rng.uniform(-0.1, 0.06)), 4))
    stopped = run(stops_at, losses, patience, min_delta)
    expected = _oracle_stop(losses, patience, min_delta)
    assert stopped == expected, (
        f"EarlyStopping(patience={patience}, min_delta={min_delta}) on losses {losses}: stopped at epoch {stopped}, "
        f"expected {expected}"
    )


@pytest.mark.slow
@pytest.mark.weight(3)
def test_your_model_on_a_held_out_split_drawn_at_grading_time(hidden_rng: random.Random) -> None:
    split_seed = hidden_rng.randrange(10**6)
    accuracy, seconds = fit_and_score(ag, split_seed)
    print(f"held-out split {split_seed}: accuracy {accuracy:.2%} after {seconds:.1f} CPU s")
    assert seconds <= FIT_BUDGET_S * FIT_BUDGET_SLACK, (
        f"fit took {seconds:.1f} s of CPU time; at most {FIT_BUDGET_S * FIT_BUDGET_SLACK:.0f} s are allowed"
    )
    assert accuracy >= ACCURACY_THRESHOLD, (
        f"your model reached {accuracy:.2%} on a held-out split drawn at grading time; at least "
        f"{ACCURACY_THRESHOLD:.0%} is needed"
    )
