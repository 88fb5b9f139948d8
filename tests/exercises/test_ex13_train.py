"""ex13 public tests: the training loop against torch, checkpoints resumed in a new process, early stopping,
and the student's own model trained on the digits and scored on samples it never saw.

(a) train_step and evaluate run on a model whose weights are copied from a torch model; torch runs the same
    recipe (zero_grad, forward, loss, backward, clip_grad_norm_, step, scheduler) and the parameters, buffers,
    losses and learning rates must agree after every step (tolerances: tests/support/compare.py).
(b) Resume equivalence: 4 epochs in one go equal 2 epochs, save_checkpoint, then load_checkpoint **in a new
    process** and 2 more epochs (tests/support/ex13_resume.py), parameter for parameter.
(c) build_model() trained by fit() within a CPU-time budget reaches an accuracy threshold on a held-out
    split of the digits (the hidden test draws the split at grading time).

ex13 runs in a worker process (grader/judge.py): models, optimizers and loaders are built there by programs
(tests/support/training.py, tests/support/ex13_resume.py and the test's own below) and held here as
references; what comes back is data (losses, state dicts as arrays, checkpoint bytes, logits), and torch,
the held-out labels and every comparison stay here. The new process of (b) is a new worker.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support import nn_programs, training
from tests.support.compare import assert_close
from tests.support.ex13_resume import build_training, load_into_fresh, train_run
from tests.support.training import (
    ACCURACY_THRESHOLD,
    FIT_BUDGET_S,
    FIT_BUDGET_SLACK,
    compare_models,
    fit_and_score,
    optimizer_for,
    torch_step,
    train_step,
    twin_models,
)

ag = judge.exercise("ex13")  # ex13 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex13's module as the worker serves it (never bound here)


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def labels(n: int, classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, classes, size=n).astype(np.int64)

# ---------------------------------------------------------------------------------------------
# (a) one step and evaluation, against torch
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("zero_grad, forward, loss, backward, clip, step, scheduler.step() — in that order.")
@pytest.mark.parametrize("max_norm", [0.05, None])
def test_train_step_matches_torch(max_norm: float | None) -> None:
    model, reference = twin_models(ag)
    optimizer, scheduler = run(optimizer_for, model, "SGD", {"lr": 0.2, "momentum": 0.9}, [2, 0.5])
    t_optimizer = torch.optim.SGD(reference.parameters(), lr=0.2, momentum=0.9)
    t_scheduler = torch.optim.lr_scheduler.StepLR(t_optimizer, step_size=2, gamma=0.5)
    run(nn_programs.set_mode, model, True)
    for step in range(4):
        x, y = data(10, 6, seed=step), labels(10, 4, seed=step)
        got = run(train_step, model, x, y, optimizer, [scheduler, max_norm])
        t_loss = torch_step(reference, x, y, t_optimizer, t_scheduler, max_norm)
        label = f"train_step {step + 1} (SGD momentum 0.9, StepLR, max_grad_norm={max_norm})"
        assert got["is float"], f"train_step must return the loss as a float, got {got['loss type']}"
        assert_close(got["loss"], t_loss, what=f"{label}: returned loss")
        compare_models(got["state"], reference, label)
        assert_close(got["lr"], t_scheduler.get_last_lr()[0], what=f"{label}: learning rate")


def test_train_step_without_scheduler_or_clipping_uses_adam() -> None:
    model, reference = twin_models(ag, seed=3)
    optimizer, _ = run(optimizer_for, model, "Adam", {"lr": 0.05}, None)
    t_optimizer = torch.optim.Adam(reference.parameters(), lr=0.05)
    run(nn_programs.set_mode, model, True)
    for step in range(3):
        x, y = data(8, 6, seed=10 + step), labels(8, 4, seed=10 + step)
        got = run(train_step, model, x, y, optimizer, [])  # train_step's defaults: no scheduler, no clipping
        torch_step(reference, x, y, t_optimizer, None, None)
        compare_models(got["state"], reference, f"train_step {step + 1} with Adam, no scheduler, no clipping")


def _evaluate_after_a_step(model: Any, x: Any, y: Any, x_val: Any, y_val: Any,
                           start_in_training: bool) -> dict[str, Any]:
    """Program: one train_step with SGD (lr 0.1) in training mode, then the model in the mode
    `start_in_training` says, zero_grad, and ex13's evaluate on (x_val, y_val) in batches of 10; what evaluate
    returned (tensors as numbers), the state dict before and after it (arrays), whether every parameter is
    without a gradient afterwards, and the mode the model was left in."""

    def plain(value: Any) -> Any:
        return value.item() if isinstance(value, mt.Tensor) else value

    model.train()
    ex.train_step(model, (mt.tensor(x), mt.tensor(y)), mt.nn.functional.cross_entropy,
                  mt.optim.SGD(model.parameters(), lr=0.1))
    model.train(start_in_training)
    model.zero_grad()
    before = {k: v.detach().to_numpy().copy() for k, v in model.state_dict().items()}
    dataset = mt.utils.data.TensorDataset(mt.tensor(x_val), mt.tensor(y_val))
    loss, accuracy = ex.evaluate(model, mt.utils.data.DataLoader(dataset, batch_size=10),
                                 mt.nn.functional.cross_entropy)
    return {"loss": plain(loss), "accuracy": plain(accuracy), "before": before,
            "after": {k: v.detach().to_numpy() for k, v in model.state_dict().items()},
            "no gradients": all(p.grad is None for p in model.parameters()), "training": model.training}


@pytest.mark.hint("evaluate: model.eval() and mt.no_grad(); weight each batch's mean loss by its size; "
                  "restore the mode the model was in.")
@pytest.mark.parametrize("start_in_training", [True, False])
def test_evaluate_matches_torch_in_eval_mode(start_in_training: bool) -> None:
    model, reference = twin_models(ag, seed=1)
    reference.train()
    x, y = data(12, 6, seed=4), labels(12, 4, seed=4)
    x_val, y_val = data(23, 6, seed=5), labels(23, 4, seed=5)
    got = run(_evaluate_after_a_step, model, x, y, x_val, y_val, start_in_training)  # batches 10, 10, 3
    torch_step(reference, x, y, torch.optim.SGD(reference.parameters(), lr=0.1), None, None)
    reference.eval()
    with torch.no_grad():
        logits = reference(torch.tensor(x_val))
    t_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y_val)).item()
    t_accuracy = (logits.argmax(1) == torch.tensor(y_val)).double().mean().item()
    assert_close(got["loss"], t_loss, what="evaluate: mean loss per sample (in eval mode, batches of 10, 10, 3)")
    assert_close(got["accuracy"], t_accuracy, what="evaluate: accuracy")
    for name, value in got["after"].items():
        assert np.array_equal(value, got["before"][name]), f"evaluate changed {name} (it must only read)"
    assert got["no gradients"], "evaluate must not compute gradients"
    assert got["training"] == start_in_training, "evaluate must leave the model in the mode it found it in"


def _grad_mode_seen_by_the_model(model: Any, x: Any, y: Any) -> list[bool]:
    """Program: ex13's evaluate on a Module that records mt.is_grad_enabled() at every forward (then runs
    `model`), over (x, y) in batches of 2; what it recorded."""
    seen: list[bool] = []

    class Spy(mt.nn.Module):
        def forward(self, x: Any) -> Any:
            seen.append(mt.is_grad_enabled())
            return model(x)

    loader = mt.utils.data.DataLoader(mt.utils.data.TensorDataset(mt.tensor(x), mt.tensor(y)), batch_size=2)
    ex.evaluate(Spy(), loader, mt.nn.functional.cross_entropy)
    return seen


def test_evaluate_builds_no_graph() -> None:
    model, _ = twin_models(ag)
    seen = run(_grad_mode_seen_by_the_model, model, data(4, 6), labels(4, 4))
    assert seen and not any(seen), "evaluate must run the model under mt.no_grad()"


# ---------------------------------------------------------------------------------------------
# (b) checkpoints: in process, then resumed in a new process
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("One mt.save of a dict: model, optimizer, scheduler state dicts, epoch, mt.get_rng_state(), "
                  "the generator's get_state() and the early stopping's state_dict().")
def test_checkpoint_round_trip_restores_everything() -> None:
    first = run(train_run, build_training, 2, True, None)
    got = run(load_into_fresh, build_training, first["checkpoint"])
    assert got["kind"] == "dict" and got["epoch"] == 2, (
        "save_checkpoint must write one dict whose 'epoch' is the number of completed epochs (2 here)"
    )
    for key, value in first["state"].items():
        assert key in got["model"] and np.array_equal(got["model"][key], value), f"checkpoint['model'][{key!r}]"
    epoch = got["returned"]
    assert epoch == 2, f"load_checkpoint must return the number of completed epochs (2), got {epoch}"
    for key, value in got["state"].items():
        assert np.array_equal(value, first["state"][key]), f"after load_checkpoint, {key} differs from the saved run"
    assert got["rng"] == first["rng"], "load_checkpoint must restore mt's global random state"
    assert got["saved last_epoch"] is not None and got["last_epoch"] == got["saved last_epoch"] > 0, (
        "the scheduler's state was not restored"
    )
    assert got["optimizer states"] == got["parameters"], "the optimizer's state (Adam's moments) was not restored"
    assert got["best"] < math.inf, "the early stopping's state was not restored"


@pytest.mark.hint("Resuming must restore everything that changes during training: BatchNorm's buffers, "
                  "the optimizer's moments, the scheduler, mt.get_rng_state() (dropout) and the loader's generator.")
def test_resume_in_a_new_process_equals_uninterrupted_training() -> None:
    straight = run(train_run, build_training, 4, False, None)["state"]
    checkpoint = run(train_run, build_training, 2, True, None)["checkpoint"]
    ag.close()  # the next program runs in a new worker process, which knows only the checkpoint's bytes
    resumed = run(train_run, build_training, 4, False, checkpoint)["state"]
    assert sorted(resumed) == sorted(straight), "the resumed model has other state keys"
    for key, value in straight.items():
        assert_close(resumed[key], value, dtype="float32", rtol=1e-6, atol=1e-7,
                     what=f"{key} after 2 epochs + save + load in a new process + 2 epochs, vs 4 epochs in one go")


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("Improve when val_loss < best − min_delta (then reset the count); stop when the count of "
                  "epochs without improvement reaches patience.")
@pytest.mark.parametrize("losses,patience,min_delta,stops_at", [
    ([1.0, 0.9, 0.95, 0.96, 0.97], 3, 0.0, 5),
    ([1.0, 0.9, 0.95, 0.8, 0.85, 0.86], 2, 0.0, 6),
    ([1.0, 0.99, 0.985, 0.98], 2, 0.02, 3),
    ([1.0, 1.0, 0.5], 1, 0.0, 2),
    ([3.0, 2.0, 1.0, 0.5], 1, 0.0, None),
])
def test_early_stopping(losses: list[float], patience: int, min_delta: float, stops_at: int | None) -> None:
    stopped = run(training.stops_at, losses, patience, min_delta)
    assert stopped == stops_at, (
        f"EarlyStopping(patience={patience}, min_delta={min_delta}) on losses {losses}: stopped at epoch {stopped}, "
        f"expected {stops_at}"
    )


def _steps_after_load_state_dict(losses: list[float], later: list[float]) -> list[Any]:
    """Program: ex13's EarlyStopping(patience=3, min_delta=0.01) stepped through `losses`; its state_dict()
    loaded into a new EarlyStopping(), which then steps through `later`; what those steps returned."""
    stopper = ex.EarlyStopping(patience=3, min_delta=0.01)
    for loss in losses:
        stopper.step(loss)
    copy = ex.EarlyStopping()
    copy.load_state_dict(stopper.state_dict())
    return [copy.step(loss) for loss in later]


def test_early_stopping_state_dict_round_trip() -> None:
    steps = run(_steps_after_load_state_dict, [1.0, 0.5, 0.6], [0.7, 0.8])
    assert [type(s) for s in steps] == [bool, bool] and steps == [False, True], (
        "after load_state_dict, EarlyStopping must continue with the saved best loss and count of bad epochs "
        f"(its steps on 0.7 and 0.8 returned {steps}, expected [False, True])"
    )
    with pytest.raises(ValueError):
        ag.EarlyStopping(patience=0)


# ---------------------------------------------------------------------------------------------
# (c) the student's model and recipe, on digits it never saw
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.weight(3)
@pytest.mark.hint("Start from Flatten - Linear(64, 128) - BatchNorm1d - ReLU - Linear(128, 10) with Adam, "
                  "and watch time.process_time() in fit.")
def test_your_model_reaches_the_accuracy_threshold_on_held_out_digits() -> None:
    accuracy, seconds = fit_and_score(ag, split_seed=0)
    print(f"build_model + fit: held-out accuracy {accuracy:.2%} after {seconds:.1f} CPU s")
    assert seconds <= FIT_BUDGET_S * FIT_BUDGET_SLACK, (
        f"fit took {seconds:.1f} s of CPU time; its budget was {FIT_BUDGET_S:.0f} s (at most "
        f"{FIT_BUDGET_S * FIT_BUDGET_SLACK:.0f} s allowed): stop starting epochs that will not fit"
    )
    assert accuracy >= ACCURACY_THRESHOLD, (
        f"your model reached {accuracy:.2%} on 360 held-out digits; at least {ACCURACY_THRESHOLD:.0%} is needed"
    )
