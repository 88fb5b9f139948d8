"""Shared by ex13's public and hidden tests: twin models (torch's here, minitorch-dg's in ex13's worker with
torch's weights), torch's training step, the programs that run ex13's step and early stopping in the worker,
and the grading of the student's own model (budget, threshold, held-out split).

ex13 runs in a worker process (grader/judge.py): the programs below (functions sent as code, which name only
their arguments, builtins, `mt` and `ex`) build and train there and return data; torch, the held-out labels
and every comparison stay here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from minitorch_dg.datasets import digits_arrays
from tests.support import nn_programs
from tests.support.compare import assert_close

mt: Any  # a program's global: the framework as the worker serves it (never bound here)
ex: Any  # a program's global: ex13's module as the worker serves it (never bound here)

# (c): the grading budget and threshold; the reference must pass with margin (see exercises/ex13_train.md).
FIT_BUDGET_S = 4.0            # CPU seconds (time.process_time) handed to fit
FIT_BUDGET_SLACK = 1.5        # fit may overrun its budget by half (one epoch too many), no more
WARM_UP_SAMPLES = 256         # the untimed first fit: compiles every kernel the timed one will use
WARM_UP_BUDGET_S = 0.5
ACCURACY_THRESHOLD = 0.90     # on the held-out split

# The MLP with BatchNorm1d that the step tests train in both libraries (tests/support/nn_programs.py's layers).
TWIN_LAYERS = [("Linear", 6, 8), ("BatchNorm1d", 8), ("ReLU",), ("Linear", 8, 4)]


def twin_models(worker: Any, seed: int = 0) -> tuple[Any, torch.nn.Module]:
    """The same MLP with BatchNorm1d in both libraries: torch's here (seeded with `seed`), and minitorch-dg's
    built in `worker` with torch's weights and buffers loaded (a reference to it)."""
    torch.manual_seed(seed)
    reference = nn_programs.torch_module(TWIN_LAYERS, "float64")
    model = worker.run_program(nn_programs.network, nn_programs.build, TWIN_LAYERS, "float64",
                               nn_programs.state_of(reference))
    return model, reference


def optimizer_for(model: Any, name: str, options: dict[str, Any], step_lr: Any) -> list[Any]:
    """Program: mt.optim.<name>(model.parameters(), **options) and, when `step_lr` ([step_size, gamma]) is
    given, a StepLR on it; [optimizer, scheduler] (the scheduler None without one)."""
    optimizer = getattr(mt.optim, name)(model.parameters(), **options)
    scheduler = None
    if step_lr is not None:
        scheduler = mt.optim.lr_scheduler.StepLR(optimizer, step_size=step_lr[0], gamma=step_lr[1])
    return [optimizer, scheduler]


def train_step(model: Any, x: Any, y: Any, optimizer: Any, extra: list[Any]) -> dict[str, Any]:
    """Program: ex13's train_step(model, (x, y) as tensors, cross_entropy, optimizer, *extra), where `extra` is
    [scheduler, max_norm] or [] (train_step's defaults); the loss it returned (a tensor's as a number) with
    its type, the model's state dict as arrays and the scheduler's last learning rate (None without one)."""
    loss = ex.train_step(model, (mt.tensor(x), mt.tensor(y)), mt.nn.functional.cross_entropy, optimizer, *extra)
    scheduler = extra[0] if extra else None
    return {"loss": loss.item() if isinstance(loss, mt.Tensor) else loss, "is float": isinstance(loss, float),
            "loss type": type(loss).__name__,
            "state": {name: value.detach().to_numpy() for name, value in model.state_dict().items()},
            "lr": None if scheduler is None else scheduler.get_last_lr()[0]}


def compare_models(state: dict[str, np.ndarray], reference: torch.nn.Module, what: str) -> None:
    """minitorch-dg's state dict (arrays by name, from the worker) against the torch model's."""
    theirs = reference.state_dict()
    for name, value in state.items():
        assert name in theirs, f"{what}: the model's state has {name}, which torch's has not"
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


def stops_at(losses: list[float], patience: int, min_delta: float) -> Any:
    """Program: ex13's EarlyStopping(patience, min_delta) stepped through `losses`; the (1-based) epoch at which
    step first returned True, or None."""
    stopper = ex.EarlyStopping(patience=patience, min_delta=min_delta)
    for epoch, loss in enumerate(losses, 1):
        if stopper.step(loss):
            return epoch
    return None


# -- the student's model on held-out digits -----------------------------------------------------------------


def fit_on_split(split_seed: int, warm_up_samples: int, warm_up_budget: float, budget: float) -> dict[str, Any]:
    """Program: build_model() and fit() on the training part of the digits split `split_seed` (85 % to train,
    15 % to watch), timed with the worker's process_time (all its threads). A first build_model() and fit() on
    `warm_up_samples` training samples with `warm_up_budget`, untimed, compiles the Numba kernels the timed fit
    needs (on a fresh checkout tens of CPU seconds: the framework's cost, not the student's; counting it made
    the budget test fail on a cold cache). Returns what build_model gave when it is not a Module (else ""),
    the model fit returned (a reference), whether that is a Module, and fit's CPU seconds. The held-out
    samples never reach the worker before fit has returned."""
    clock = __import__("time").process_time
    mt.manual_seed(split_seed)
    train = mt.datasets.digits(train=True, seed=split_seed, flatten=False)
    train_set, val_set = mt.utils.data.random_split(train, [0.85, 0.15],
                                                    generator=mt.Generator().manual_seed(split_seed))
    model = ex.build_model()
    if not isinstance(model, mt.nn.Module):
        return {"not a module": type(model).__name__}
    few = mt.utils.data.Subset(train_set, range(min(warm_up_samples, len(train_set))))
    ex.fit(model, few, val_set, warm_up_budget)
    mt.manual_seed(split_seed)
    model = ex.build_model()
    if not isinstance(model, mt.nn.Module):
        return {"not a module": type(model).__name__}
    started = clock()
    trained = ex.fit(model, train_set, val_set, budget)
    seconds = clock() - started
    return {"not a module": "", "trained": trained, "trained is a module": isinstance(trained, mt.nn.Module),
            "seconds": seconds}


def held_out_logits(model: Any, x: Any) -> Any:
    """Program: the model's logits on the held-out images x (float32), in eval mode under no_grad, as an array."""
    model.eval()
    with mt.no_grad():
        return model(mt.tensor(x, dtype=mt.float32)).to_numpy()


def fit_and_score(worker: Any, split_seed: int) -> tuple[float, float]:
    """Train build_model() with fit() in `worker` on a training split drawn with split_seed (`fit_on_split`);
    return (held-out accuracy, CPU seconds fit took). The held-out images go to the worker only after fit,
    and its labels never leave this process: the accuracy is counted here from the logits."""
    got = worker.run_program(fit_on_split, split_seed, WARM_UP_SAMPLES, WARM_UP_BUDGET_S, FIT_BUDGET_S)
    assert not got["not a module"], f"build_model must return an nn.Module, got {got['not a module']}"
    assert got["trained is a module"], "fit must return the trained model"
    x, y = digits_arrays(train=False, seed=split_seed, flatten=False)
    logits = worker.run_program(held_out_logits, got["trained"], x)
    assert isinstance(logits, np.ndarray) and logits.shape == (len(y), 10), (
        f"the trained model's output on {len(y)} held-out digits has shape "
        f"{getattr(logits, 'shape', type(logits).__name__)}, not ({len(y)}, 10)"
    )
    accuracy = float((logits.argmax(1) == y).sum()) / len(y)
    return accuracy, float(got["seconds"])
