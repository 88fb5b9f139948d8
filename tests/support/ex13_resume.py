"""ex13's resume check: a fixed small training run that a test performs in pieces, some in a new process.

    python -m tests.support.ex13_resume --module FILE --resume CKPT --epochs 4 --out PARAMS.npz

`train_run` builds the same model, data, optimizer, scheduler, loader generator and early stopping every
time (Linear - BatchNorm1d - ReLU - Dropout - Linear on a subset of the digits: buffers, optimizer moments,
the lr schedule, the dropout masks and the shuffling order all have state). Training runs through the
student's ex13 functions (train_epoch, evaluate, save_checkpoint, load_checkpoint, EarlyStopping). Run as
a program, it first serves ex13 from the file that served it in the parent process (a mutant, a
submission, the stub or the reference), then resumes from the checkpoint, trains to --epochs and writes
the final parameters and buffers to --out as a plain .npz.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

import minitorch_dg as mt
from minitorch_dg import course, nn
from minitorch_dg.utils.data import DataLoader, Subset

SUBSET = 192
BATCH = 32


def _data() -> tuple[Subset, Subset]:
    train = mt.datasets.digits(train=True, seed=1)
    return Subset(train, range(SUBSET)), Subset(train, range(SUBSET, SUBSET + 64))


def train_run(epochs: int, checkpoint: str | None, resume: str | None = None) -> dict[str, np.ndarray]:
    """Train to `epochs` epochs (from the start, or from `resume`); save a checkpoint at the end when
    `checkpoint` is given; return the model's state dict as numpy arrays."""
    ex13 = course.ExerciseProxy("ex13")
    mt.manual_seed(123)
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10))
    optimizer = mt.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = mt.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.7)
    generator = mt.Generator().manual_seed(7)
    stopper = ex13.EarlyStopping(patience=50)
    train_set, val_set = _data()
    loader = DataLoader(train_set, batch_size=BATCH, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=64)
    loss_fn = nn.functional.cross_entropy
    done = 0
    if resume is not None:
        done = ex13.load_checkpoint(resume, model, optimizer, scheduler, generator, stopper)
    for _ in range(done, epochs):
        ex13.train_epoch(model, loader, loss_fn, optimizer, scheduler, max_grad_norm=1.0)
        val_loss, _ = ex13.evaluate(model, val_loader, loss_fn)
        stopper.step(val_loss)
        done += 1
    if checkpoint is not None:
        ex13.save_checkpoint(checkpoint, model, optimizer, scheduler, done, generator, stopper)
    return {k: v.detach().to_numpy() for k, v in model.state_dict().items()}


def serve_ex13_from(path: str) -> None:
    """Serve ex13 from this file, whatever the source plan says (as the parent process had it)."""
    spec = importlib.util.spec_from_file_location(f"ex13_under_test_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    course.install("ex13", module, f"the file {Path(path).name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.support.ex13_resume")
    parser.add_argument("--module", required=True, help="the file of the ex13 module to run")
    parser.add_argument("--resume", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    serve_ex13_from(args.module)
    state = train_run(args.epochs, None, resume=args.resume)
    np.savez(args.out, **state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
