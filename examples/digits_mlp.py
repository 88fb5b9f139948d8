"""Train a multi-layer perceptron on handwritten digits with minitorch-dg, exactly as one would with torch.

    .venv/bin/python examples/digits_mlp.py                       # 20 epochs, >= 95 % test accuracy
    .venv/bin/python examples/digits_mlp.py --epochs 3 --subset 300 --out /tmp/quick   # a quick look
    .venv/bin/python examples/digits_mlp.py --batchnorm            # with BatchNorm1d (ex12: your own layer)

The data are scikit-learn's 1797 handwritten 8x8 digits (no download), split 80/20 into train and test.
The model is Linear(64, 128) - ReLU - Dropout(0.1) - Linear(128, 10), trained with cross-entropy, Adam
and a cosine learning-rate schedule. Every epoch prints a progress bar, then the train and test loss and
accuracy and the time it took (the progress bar is tqdm's). At the end, in --out (default examples/runs/digits_mlp):

    curves.png        loss and accuracy per epoch, train and test
    checkpoint.npz    model, optimizer and scheduler state, config and history (mt.save; reload with mt.load)
    history.json      the per-epoch numbers

The same --seed gives the same numbers, run after run. The CPU backend is the framework's default (the
fast Numba backend when it is available); --backend simple|fast chooses one. The exercises' code comes
from MTDG_SOURCE; when it is unset, the instructors' copy (which has solutions/) uses the reference and a
student release uses the student's own exercises. `MTDG_SOURCE=exercises` runs your own code here too.
The source in force is printed first and recorded in history.json ("source") and in the plot's title.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

import minitorch_dg as mt
import minitorch_dg.nn.functional as F
from minitorch_dg import nn
from minitorch_dg.utils.data import DataLoader, Subset, TensorDataset

DEFAULT_OUT = Path(__file__).resolve().parent / "runs" / "digits_mlp"

if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
    # The instructors' copy runs the reference solutions; a student release (no solutions/) runs your own code.
    os.environ["MTDG_SOURCE"] = "solutions"


@dataclass
class Config:
    epochs: int = 20
    batch_size: int = 32
    hidden: int = 128
    dropout: float = 0.1
    lr: float = 1e-2
    weight_decay: float = 1e-4
    seed: int = 0
    subset: int | None = None  # use only the first N training and N test samples (quick runs, tests)
    backend: str | None = None  # 'simple' | 'fast' | None (the framework's default)
    batchnorm: bool = False  # a BatchNorm1d after the first Linear: ex12's class, yours once you wrote it


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    source: str = ""  # which code served the exercises: "MTDG_SOURCE=solutions" is the reference


def source_in_force() -> str:
    """MTDG_SOURCE as the course reads it, e.g. 'MTDG_SOURCE=exercises' (your code) or '=solutions'."""
    return mt.course.describe()


def build_model(config: Config) -> nn.Module:
    normalization: list[nn.Module] = [nn.BatchNorm1d(config.hidden)] if config.batchnorm else []
    return nn.Sequential(
        nn.Linear(64, config.hidden),
        *normalization,
        nn.ReLU(),
        nn.Dropout(config.dropout),
        nn.Linear(config.hidden, 10),
    )


def load_data(config: Config) -> tuple[TensorDataset | Subset, TensorDataset | Subset]:
    train, test = mt.datasets.digits(train=True), mt.datasets.digits(train=False)
    if config.subset is not None:
        train = Subset(train, range(min(config.subset, len(train))))
        test = Subset(test, range(min(config.subset, len(test))))
    return train, test


def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a loader, in evaluation mode and without a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with mt.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).to(mt.int64).sum().item())
            count += len(y)
    return total_loss / count, correct / count


def train(config: Config, out: Path | None = DEFAULT_OUT, stream: TextIO = sys.stdout,
          on_epoch: Callable[[int, History], None] | None = None) -> tuple[nn.Module, History]:
    """Train as configured; write the plot, checkpoint and history to `out` (None: write nothing)."""
    if config.backend is not None:
        mt.set_backend(config.backend)
    mt.manual_seed(config.seed)
    train_set, test_set = load_data(config)
    train_loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                              generator=mt.Generator().manual_seed(config.seed))
    train_eval_loader = DataLoader(train_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)
    model = build_model(config)
    optimizer = mt.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = mt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history = History(source=source_in_force())
    backend = mt.backends.cpu_backend_name()
    stream.write(f"digits MLP: {len(train_set)} training and {len(test_set)} test samples, "
                 f"{sum(p.numel() for p in model.parameters())} parameters, CPU backend '{backend}', "
                 f"{mt.course.describe()}\n")
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        running = 0.0
        with tqdm(train_loader, desc=f"epoch {epoch:>2}/{config.epochs}", file=stream, unit="batch",
                  dynamic_ncols=True, mininterval=0.2) as bar:
            for step, (x, y) in enumerate(bar, 1):
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                running += loss.item()
                bar.set_postfix(loss=f"{running / step:.4f}", refresh=False)
        scheduler.step()
        train_loss, train_accuracy = evaluate(model, train_eval_loader)
        test_loss, test_accuracy = evaluate(model, test_loader)
        seconds = time.perf_counter() - start
        for name, value in (("train_loss", train_loss), ("train_accuracy", train_accuracy), ("test_loss", test_loss),
                            ("test_accuracy", test_accuracy), ("epoch_seconds", seconds)):
            getattr(history, name).append(value)
        stream.write(f"epoch {epoch:>2}: train loss {train_loss:.4f} acc {train_accuracy:6.2%} | "
                     f"test loss {test_loss:.4f} acc {test_accuracy:6.2%} | {seconds:.1f} s\n")
        stream.flush()
        if on_epoch is not None:
            on_epoch(epoch, history)
    if out is not None:
        save_outputs(out, config, model, optimizer, scheduler, history, stream)
    return model, history


def save_outputs(out: Path, config: Config, model: nn.Module, optimizer: mt.optim.Optimizer, scheduler: Any,
                 history: History, stream: TextIO) -> None:
    out.mkdir(parents=True, exist_ok=True)
    mt.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "config": asdict(config), "history": asdict(history)}, out / "checkpoint.npz")
    (out / "history.json").write_text(json.dumps({"config": asdict(config), **asdict(history)}, indent=2) + "\n")
    plot(history, out / "curves.png")
    stream.write(f"wrote {out / 'curves.png'}, {out / 'checkpoint.npz'} and {out / 'history.json'}\n")


def plot(history: History, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history.train_loss) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history.train_loss, label="train")
    left.plot(epochs, history.test_loss, label="test")
    left.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss")
    right.plot(epochs, [100 * a for a in history.train_accuracy], label="train")
    right.plot(epochs, [100 * a for a in history.test_accuracy], label="test")
    right.set(title="accuracy", xlabel="epoch", ylabel="%")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"minitorch-dg: MLP on handwritten digits ({history.source or source_in_force()})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path]:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--hidden", type=int, default=defaults.hidden)
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--subset", type=int, default=None, help="use only the first N training and N test samples")
    parser.add_argument("--backend", choices=["simple", "fast"], default=None, help="CPU backend (default: the framework's)")
    parser.add_argument("--batchnorm", action="store_true", help="add BatchNorm1d after the first Linear (ex12)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    config = Config(epochs=args.epochs, batch_size=args.batch_size, hidden=args.hidden, dropout=args.dropout,
                    lr=args.lr, weight_decay=args.weight_decay, seed=args.seed, subset=args.subset,
                    backend=args.backend, batchnorm=args.batchnorm)
    return config, args.out


def main(argv: list[str] | None = None) -> int:
    config, out = parse_args(argv)
    _, history = train(config, out)
    epochs = history.epoch_seconds
    print(f"final test accuracy {history.test_accuracy[-1]:.2%}; mean epoch time "
          f"{sum(epochs) / len(epochs):.2f} s over {len(epochs)} epochs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
