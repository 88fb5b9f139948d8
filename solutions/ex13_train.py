"""ex13 — the training loop: one step, evaluation, checkpoints and resuming, early stopping, and a model
of your own trained on the digits (reference solution).

The grader checks a step against torch's on copied weights, checks that training 4 epochs equals training
2, saving, loading in a new process and training 2 more, parameter for parameter, and trains `build_model()`
with `fit` on the digits under a time budget, then measures its accuracy on a held-out split that it draws
at grading time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import minitorch_dg as mt
from minitorch_dg import Tensor, nn
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
    x, y = batch
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return float(loss.item())


def train_epoch(model: nn.Module, loader: DataLoader, loss_fn: LossFn, optimizer: mt.optim.Optimizer,
                scheduler: Any = None, max_grad_norm: float | None = None) -> float:
    """model.train(), then train_step on every batch of the loader; return the mean loss per sample
    (each batch's loss weighted by its number of samples)."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = train_step(model, (x, y), loss_fn, optimizer, scheduler, max_grad_norm)
        total += loss * len(y)
        count += len(y)
    return total / max(count, 1)


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: LossFn) -> tuple[float, float]:
    """(mean loss per sample, accuracy) of a classifier over a loader, in eval mode and under mt.no_grad().

    Accuracy: the share of samples whose largest logit is at the target class. The model goes back to the
    mode it was in (training or not) before returning, so that a training loop can call this between epochs.
    """
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    try:
        with mt.no_grad():
            for x, y in loader:
                logits = model(x)
                total += float(loss_fn(logits, y).item()) * len(y)
                correct += int((logits.argmax(1) == y).to(mt.int64).sum().item())
                count += len(y)
    finally:
        model.train(was_training)
    return total / max(count, 1), correct / max(count, 1)


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
    mt.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": int(epoch),
        "rng": mt.get_rng_state(),
        "generator": generator.get_state() if generator is not None else None,
        "early_stopping": early_stopping.state_dict() if early_stopping is not None else None,
    }, path)


def load_checkpoint(path: str, model: nn.Module, optimizer: mt.optim.Optimizer, scheduler: Any = None,
                    generator: mt.Generator | None = None, early_stopping: EarlyStopping | None = None) -> int:
    """Restore what save_checkpoint wrote into the given (freshly built) objects, the global random state
    included; return the number of epochs completed, so that training continues with the next one."""
    checkpoint = mt.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint["scheduler"] is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    mt.set_rng_state(checkpoint["rng"])
    if generator is not None and checkpoint["generator"] is not None:
        generator.set_state(checkpoint["generator"])
    if early_stopping is not None and checkpoint["early_stopping"] is not None:
        early_stopping.load_state_dict(checkpoint["early_stopping"])
    return int(checkpoint["epoch"])


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
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.bad_epochs = 0

    def step(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best = float(val_loss)
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """{'patience', 'min_delta', 'best', 'bad_epochs'}: plain numbers that mt.save stores."""
        return {"patience": self.patience, "min_delta": self.min_delta, "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.patience = int(state["patience"])
        self.min_delta = float(state["min_delta"])
        self.best = float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])


# ---------------------------------------------------------------------------------------------
# Part 4: your model and your training recipe, graded on digits it never saw
# ---------------------------------------------------------------------------------------------


def build_model() -> nn.Module:
    """A classifier of 8x8 digit images: input (N, 1, 8, 8) float32 in [0, 1], output (N, 10) logits.

    Reference: a small CNN with BatchNorm2d, two conv - BN - ReLU - max-pool stages (16 and 32 channels)
    and one Linear layer. Within the 4 CPU-second budget it trains 7 to 9 epochs and reached 97.2 % to
    98.9 % on five held-out splits (an MLP with BatchNorm1d, the previous reference, 95.5 % to 97.8 %).
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset, time_budget: float) -> nn.Module:
    """Train `model` on train_set, watching the loss on val_set, within time_budget seconds of CPU time
    (time.process_time(), all threads of the process together: a busy machine does not eat your budget;
    stop starting new epochs when the next one would not fit); return the model to be graded, in any mode.

    Everything is yours to choose: batch size, optimizer, schedule, epochs, early stopping. The grader
    calls build_model() and fit(model, train_set, val_set, time_budget), then evaluates the result.
    """
    start = time.process_time()
    epochs = 10
    loss_fn = nn.functional.cross_entropy
    generator = mt.Generator().manual_seed(0)
    train_loader = DataLoader(train_set, batch_size=128, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)
    optimizer = mt.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = mt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))
    stopper = EarlyStopping(patience=3, min_delta=1e-4)
    best_state: dict[str, Tensor] | None = None
    slowest_epoch = 0.0
    for _ in range(epochs):
        if time.process_time() - start + slowest_epoch > time_budget:
            break
        began = time.process_time()
        train_epoch(model, train_loader, loss_fn, optimizer, scheduler, max_grad_norm=5.0)
        val_loss, _ = evaluate(model, val_loader, loss_fn)
        slowest_epoch = max(slowest_epoch, time.process_time() - began)
        if val_loss < stopper.best - stopper.min_delta:
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if stopper.step(val_loss):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model
