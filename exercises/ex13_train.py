"""ex13 — the training loop: one step, evaluation, checkpoints and resuming, early stopping, and a model
of your own trained on the digits.

Read exercises/ex13_train.md first. Replace each `raise NotImplementedYet(...)` with your code, then run
`mtdg check ex13`. Do not rename functions or change their parameters: the tests call them.

The grader checks a step against torch's on copied weights, checks that training 4 epochs equals training
2, saving, loading in a new process and training 2 more, parameter for parameter, and trains your
`build_model()` with your `fit` on the digits under a time budget, then measures its accuracy on a
held-out split that it draws at grading time (thresholds in the handout).

Use the framework as you would use torch: `model.train()` / `model.eval()`, `mt.no_grad()`,
`optimizer.zero_grad()` / `.step()`, `mt.nn.utils.clip_grad_norm_`, `scheduler.step()`, `mt.save` /
`mt.load`, `mt.get_rng_state()` / `mt.set_rng_state()`, `generator.get_state()` / `.set_state()`.
"""

from __future__ import annotations

import time  # noqa: F401  (fit's time budget: time.process_time())
from collections.abc import Callable
from typing import Any

import minitorch_dg as mt
from minitorch_dg import Tensor, nn
from minitorch_dg.errors import NotImplementedYet
from minitorch_dg.utils.data import DataLoader, Dataset

LossFn = Callable[[Tensor, Tensor], Tensor]

# ---------------------------------------------------------------------------------------------
# Part 1: one training step, one epoch, and evaluation
# ---------------------------------------------------------------------------------------------


def train_step(model: nn.Module, batch: tuple[Tensor, Tensor], loss_fn: LossFn, optimizer: mt.optim.Optimizer,
               scheduler: Any = None, max_grad_norm: float | None = None) -> float:
    """One step of gradient descent on one batch (x, y); return the loss as a float.

        optimizer.zero_grad()                    the gradients of the last step must not add up
        loss = loss_fn(model(x), y)
        loss.backward()
        clip the gradients' total norm to max_norm (mt.nn.utils.clip_grad_norm_), when it is not None
        optimizer.step()
        scheduler.step(), when a scheduler is given (a per-step schedule)

    The model's mode is the caller's business (train_epoch sets it).
    """
    raise NotImplementedYet("ex13", "train_step")


def train_epoch(model: nn.Module, loader: DataLoader, loss_fn: LossFn, optimizer: mt.optim.Optimizer,
                scheduler: Any = None, max_grad_norm: float | None = None) -> float:
    """model.train(), then train_step on every batch of the loader; return the mean loss per sample
    (each batch's loss weighted by its number of samples)."""
    raise NotImplementedYet("ex13", "train_epoch")


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: LossFn) -> tuple[float, float]:
    """(mean loss per sample, accuracy) of a classifier over a loader, in eval mode and under mt.no_grad().

    Accuracy: the share of samples whose largest logit is at the target class. The model goes back to the
    mode it was in (training or not) before returning, so that a training loop can call this between epochs.
    """
    raise NotImplementedYet("ex13", "evaluate")


# ---------------------------------------------------------------------------------------------
# Part 2: checkpoints and resuming
# ---------------------------------------------------------------------------------------------


def save_checkpoint(path: str, model: nn.Module, optimizer: mt.optim.Optimizer, scheduler: Any, epoch: int,
                    generator: mt.Generator | None = None, early_stopping: EarlyStopping | None = None) -> None:
    """Write one mt.save file with everything training needs to continue exactly where it stopped:

        'model'           model.state_dict()             (parameters and buffers: BatchNorm's running statistics)
        'optimizer'       optimizer.state_dict()         (momentum buffers, Adam's moments and step counts)
        'scheduler'       scheduler.state_dict() or None (where the learning-rate schedule is)
        'epoch'           epoch: the number of epochs completed
        'rng'             mt.get_rng_state()             (dropout masks, initialisation, shuffles without a generator)
        'generator'       generator.get_state() or None  (the DataLoader's shuffling order)
        'early_stopping'  early_stopping.state_dict() or None
    """
    raise NotImplementedYet("ex13", "save_checkpoint")


def load_checkpoint(path: str, model: nn.Module, optimizer: mt.optim.Optimizer, scheduler: Any = None,
                    generator: mt.Generator | None = None, early_stopping: EarlyStopping | None = None) -> int:
    """Restore what save_checkpoint wrote into the given (freshly built) objects, the global random state
    included; return the number of epochs completed, so that training continues with the next one."""
    raise NotImplementedYet("ex13", "load_checkpoint")


# ---------------------------------------------------------------------------------------------
# Part 3: early stopping
# ---------------------------------------------------------------------------------------------


class EarlyStopping:
    """Stop when the validation loss has not improved for `patience` epochs in a row.

    An epoch improves when val_loss < best − min_delta; then best = val_loss and the count of bad epochs
    goes back to 0. Otherwise the count grows by one. step(val_loss) returns True when the count reaches
    patience (time to stop). best starts at +inf, so the first epoch always improves.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0) -> None:
        raise NotImplementedYet("ex13", "EarlyStopping.__init__")

    def step(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when training should stop."""
        raise NotImplementedYet("ex13", "EarlyStopping.step")

    def state_dict(self) -> dict[str, Any]:
        """{'patience', 'min_delta', 'best', 'bad_epochs'}: plain numbers that mt.save stores."""
        raise NotImplementedYet("ex13", "EarlyStopping.state_dict")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedYet("ex13", "EarlyStopping.load_state_dict")


# ---------------------------------------------------------------------------------------------
# Part 4: your model and your training recipe, graded on digits it never saw
# ---------------------------------------------------------------------------------------------


def build_model() -> nn.Module:
    """A classifier of 8x8 digit images: input (N, 1, 8, 8) float32 in [0, 1], output (N, 10) logits.

    Any architecture of mt.nn modules (nn.Flatten first for an MLP); the handout suggests where to start.
    """
    raise NotImplementedYet("ex13", "build_model")


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset, time_budget: float) -> nn.Module:
    """Train `model` on train_set, watching the loss on val_set, within time_budget seconds of CPU time
    (time.process_time(), all threads of the process together: a busy machine does not eat your budget;
    stop starting new epochs when the next one would not fit); return the model to be graded, in any mode.

    Everything is yours to choose: batch size, optimizer, schedule, epochs, early stopping. The grader
    calls build_model() and fit(model, train_set, val_set, time_budget), then evaluates the result.
    """
    raise NotImplementedYet("ex13", "fit")
