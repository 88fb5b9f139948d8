"""ex13's resume check: a fixed small training run that a test performs in pieces, the last one in a new process.

The run is the same every time (Linear - BatchNorm1d - ReLU - Dropout - Linear on a subset of the digits:
buffers, optimizer moments, the lr schedule, the dropout masks and the shuffling order all have state) and
goes through the student's ex13 functions (train_epoch, evaluate, save_checkpoint, load_checkpoint,
EarlyStopping). It runs in ex13's worker (grader/judge.py) as a program, `train_run`; the checkpoint it writes
comes back to the test as bytes (an array of uint8), since the worker's files live in its own temporary folder
(as root: a scratch folder that goes with the worker), and the test hands those bytes to a new worker process,
which resumes from them: stubs, mutants and submissions are served there as in the first one.

    build_training       the model, optimizer, scheduler, loader generator and early stopping of the run
    train_run            program: train to some epochs (from the start or from checkpoint bytes)
    load_into_fresh      program: load checkpoint bytes into freshly built objects; what they hold
"""

from __future__ import annotations

from typing import Any

mt: Any  # a program's global: the framework as the worker serves it (never bound here)
ex: Any  # a program's global: ex13's module as the worker serves it (never bound here)


def build_training(framework: Any, ex13: Any, generator_seed: int) -> tuple[Any, ...]:
    """(model, optimizer, scheduler, generator, early stopping) of the run, made with `framework` and ex13's
    EarlyStopping. It names only its arguments, so that it travels to the worker as an argument of a program."""
    nn = framework.nn
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10))
    optimizer = framework.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = framework.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.7)
    generator = framework.Generator().manual_seed(generator_seed)
    return model, optimizer, scheduler, generator, ex13.EarlyStopping(patience=50)


def train_run(build: Any, epochs: int, keep_checkpoint: bool, resume: Any) -> dict[str, Any]:
    """Program: after mt.manual_seed(123), `build(mt, ex, 7)` (pass `build_training`) trained to `epochs` epochs
    with batches of 32 from 192 training digits (shuffled by the generator), evaluating on 64 others and
    stepping the early stopping after each epoch; from the start, or from `resume` (checkpoint bytes, loaded
    with load_checkpoint). Returns the model's state dict as arrays, mt.get_rng_state() at the end and, with
    `keep_checkpoint`, the bytes that save_checkpoint wrote at the end (uint8)."""
    tempfile, np = __import__("tempfile"), __import__("numpy")
    mt.manual_seed(123)
    model, optimizer, scheduler, generator, stopper = build(mt, ex, 7)
    digits = mt.datasets.digits(train=True, seed=1)
    train_set, val_set = mt.utils.data.Subset(digits, range(192)), mt.utils.data.Subset(digits, range(192, 256))
    loader = mt.utils.data.DataLoader(train_set, batch_size=32, shuffle=True, generator=generator)
    val_loader = mt.utils.data.DataLoader(val_set, batch_size=64)
    loss_fn = mt.nn.functional.cross_entropy
    checkpoint = None
    with tempfile.TemporaryDirectory(prefix="mtdg-ex13-") as folder:
        path = folder + "/checkpoint.npz"
        done = 0
        if resume is not None:
            with open(path, "wb") as handle:
                handle.write(resume.tobytes())
            done = ex.load_checkpoint(path, model, optimizer, scheduler, generator, stopper)
        for _ in range(done, epochs):
            ex.train_epoch(model, loader, loss_fn, optimizer, scheduler, max_grad_norm=1.0)
            val_loss, _ = ex.evaluate(model, val_loader, loss_fn)
            stopper.step(val_loss)
            done += 1
        if keep_checkpoint:
            ex.save_checkpoint(path, model, optimizer, scheduler, done, generator, stopper)
            with open(path, "rb") as handle:
                checkpoint = np.frombuffer(handle.read(), dtype=np.uint8).copy()
    return {"state": {k: v.detach().to_numpy() for k, v in model.state_dict().items()},
            "rng": mt.get_rng_state(), "checkpoint": checkpoint}


def load_into_fresh(build: Any, checkpoint: Any) -> dict[str, Any]:
    """Program: read checkpoint bytes back with mt.load (what save_checkpoint wrote: its kind, 'epoch' and
    'model' as arrays), then, after mt.manual_seed(999), build fresh objects with `build(mt, ex, 1)` (pass
    `build_training`) and restore them with load_checkpoint. Returns what load_checkpoint returned, the model's
    state dict as arrays, mt.get_rng_state(), the scheduler's last_epoch (and the saved one), the number of
    parameters with optimizer state and of parameters, and the early stopping's best loss."""
    tempfile = __import__("tempfile")
    with tempfile.TemporaryDirectory(prefix="mtdg-ex13-") as folder:
        path = folder + "/checkpoint.npz"
        with open(path, "wb") as handle:
            handle.write(checkpoint.tobytes())
        saved = mt.load(path)
        is_dict = isinstance(saved, dict)
        model_state = saved.get("model") if is_dict else None
        scheduler_state = saved.get("scheduler") if is_dict else None
        got = {"kind": type(saved).__name__, "epoch": saved.get("epoch") if is_dict else None,
               "model": {k: v.detach().to_numpy() for k, v in model_state.items()} if model_state else {},
               "saved last_epoch": scheduler_state.get("last_epoch") if isinstance(scheduler_state, dict) else None}
        mt.manual_seed(999)
        model, optimizer, scheduler, generator, stopper = build(mt, ex, 1)
        got["returned"] = ex.load_checkpoint(path, model, optimizer, scheduler, generator, stopper)
    got.update({"state": {k: v.detach().to_numpy() for k, v in model.state_dict().items()},
                "rng": mt.get_rng_state(), "last_epoch": scheduler.last_epoch,
                "optimizer states": len(optimizer.state), "parameters": len(list(model.parameters())),
                "best": stopper.best})
    return got
