"""Train a LeNet-style convolutional network on handwritten digits with minitorch-dg, as one would with torch.

    .venv/bin/python examples/digits_cnn.py                        # scikit-learn's 8x8 digits, 30 epochs
    .venv/bin/python examples/digits_cnn.py --data-dir ~/data/mnist --epochs 3   # MNIST from its IDX files
    .venv/bin/python examples/digits_cnn.py --epochs 2 --subset 200 --out /tmp/quick   # a quick look

The model is Conv2d(1, c1, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(c1, c2, 3, padding=1) - ReLU -
MaxPool2d(2) - Flatten - Linear(c2 * (size/4)^2, 10), trained with cross-entropy with label smoothing 0.1,
Adam and a cosine learning-rate schedule. Without --data-dir the data are scikit-learn's 1797 8x8 digits
(split 80/20, no download); with it, MNIST's four IDX files (plain or .gz) in that folder — nothing is
downloaded.

Measured on the 359 test digits with the defaults (30 epochs, label smoothing 0.1): 98.89 % with --seed 0,
and 98.61 % to 99.44 % over seeds 0 to 9 (98.89 % for seven of them; train accuracy 100 %), about 30 s of
CPU per run. Without label smoothing, 20 epochs gave 97.21 % (seed 0) and 98.33 % (seed 1); in torch the
same model went from 97.2-98.3 % to 98.1-99.4 % over five seeds with label smoothing, while moving the
training images by a random pixel, dropout 0.3 or 40 epochs instead of 20 helped less.

Every epoch prints a progress bar, then the train and test loss and accuracy and the time it took. At the
end, in --out (default examples/runs/digits_cnn): curves.png, checkpoint.npz (mt.save: model, optimizer,
scheduler, config, history) and history.json. The same --seed gives the same numbers. Exercise code comes
from MTDG_SOURCE (the instructors' copy defaults to the reference solutions, as digits_mlp.py does); the
source in force is printed first and recorded in history.json ("source") and in the plot's title.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

import minitorch_dg as mt  # noqa: E402
import minitorch_dg.nn.functional as F  # noqa: E402
from digits_mlp import History, evaluate, source_in_force  # noqa: E402
from tqdm import tqdm  # noqa: E402
from minitorch_dg import nn  # noqa: E402
from minitorch_dg.utils.data import DataLoader, Subset, TensorDataset  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "runs" / "digits_cnn"

if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"


@dataclass
class Config:
    epochs: int = 30
    batch_size: int = 16
    channels1: int = 32
    channels2: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1  # ε: the training loss aims at 1 − ε + ε/10 for the true class, ε/10 elsewhere
    seed: int = 0
    subset: int | None = None  # only the first N training and N test samples (quick runs, tests)
    data_dir: str | None = None  # MNIST IDX files; None: scikit-learn's digits
    backend: str | None = None  # 'simple' | 'fast' | None (the framework's default)


def build_model(config: Config, image_size: int = 8) -> nn.Module:
    """LeNet-style: two conv-relu-pool stages, then one linear layer over the flattened features."""
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(1, config.channels1, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(config.channels1, config.channels2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(config.channels2 * side * side, 10),
    )


def smoothed_cross_entropy(logits: mt.Tensor, target: mt.Tensor, smoothing: float) -> mt.Tensor:
    """(1 − ε) · cross-entropy + ε · mean over classes of −log p: torch's cross_entropy(label_smoothing=ε)."""
    log_p = F.log_softmax(logits, 1)
    loss = F.nll_loss(log_p, target)
    if smoothing == 0.0:
        return loss
    return loss * (1.0 - smoothing) - log_p.mean(1).mean() * smoothing


def load_data(config: Config) -> tuple[TensorDataset | Subset, TensorDataset | Subset]:
    if config.data_dir is not None:
        train, test = mt.datasets.MNIST(config.data_dir, train=True), mt.datasets.MNIST(config.data_dir, train=False)
    else:
        train, test = mt.datasets.digits(train=True, flatten=False), mt.datasets.digits(train=False, flatten=False)
    if config.subset is not None:
        train = Subset(train, range(min(config.subset, len(train))))
        test = Subset(test, range(min(config.subset, len(test))))
    return train, test


def image_size(dataset: TensorDataset | Subset) -> int:
    return int(dataset[0][0].shape[-1])


def train(config: Config, out: Path | None = DEFAULT_OUT, stream: TextIO = sys.stdout) -> tuple[nn.Module, History]:
    """Train as configured; write the plot, checkpoint and history to `out` (None: write nothing)."""
    if config.backend is not None:
        mt.set_backend(config.backend)
    mt.manual_seed(config.seed)
    train_set, test_set = load_data(config)
    train_loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                              generator=mt.Generator().manual_seed(config.seed))
    train_eval_loader = DataLoader(train_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)
    model = build_model(config, image_size(train_set))
    optimizer = mt.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = mt.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history = History(source=source_in_force())
    stream.write(f"digits CNN: {len(train_set)} training and {len(test_set)} test images of "
                 f"{image_size(train_set)}x{image_size(train_set)}, {sum(p.numel() for p in model.parameters())} "
                 f"parameters, CPU backend '{mt.backends.cpu_backend_name()}', {mt.course.describe()}\n")
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        running = 0.0
        with tqdm(train_loader, desc=f"epoch {epoch:>2}/{config.epochs}", file=stream, unit="batch",
                  dynamic_ncols=True, mininterval=0.2) as bar:
            for step, (x, y) in enumerate(bar, 1):
                optimizer.zero_grad()
                loss = smoothed_cross_entropy(model(x), y, config.label_smoothing)
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

    epochs = range(1, len(history.train_loss) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, title, scale in ((left, "loss", "cross-entropy loss", 1), (right, "accuracy", "accuracy (%)", 100)):
        for split in ("train", "test"):
            axis.plot(epochs, [scale * v for v in getattr(history, f"{split}_{key}")], label=split)
        axis.set(title=title, xlabel="epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(f"minitorch-dg: LeNet-style CNN on handwritten digits ({history.source or source_in_force()})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path]:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--channels1", type=int, default=defaults.channels1)
    parser.add_argument("--channels2", type=int, default=defaults.channels2)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--subset", type=int, default=None, help="use only the first N training and N test samples")
    parser.add_argument("--data-dir", default=None, help="a folder with MNIST's IDX files (default: scikit-learn's digits)")
    parser.add_argument("--backend", choices=["simple", "fast"], default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    config = Config(epochs=args.epochs, batch_size=args.batch_size, channels1=args.channels1,
                    channels2=args.channels2, lr=args.lr, weight_decay=args.weight_decay,
                    label_smoothing=args.label_smoothing, seed=args.seed,
                    subset=args.subset, data_dir=args.data_dir, backend=args.backend)
    return config, args.out


def main(argv: list[str] | None = None) -> int:
    config, out = parse_args(argv)
    _, history = train(config, out)
    seconds = history.epoch_seconds
    print(f"final test accuracy {history.test_accuracy[-1]:.2%}; mean epoch time "
          f"{sum(seconds) / len(seconds):.2f} s over {len(seconds)} epochs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
