"""Train a character-level LSTM (or GRU) language model with minitorch-dg, and the same model in torch.

    .venv/bin/python examples/char_lm.py                        # LSTM, 300 steps, then the torch twin
    .venv/bin/python examples/char_lm.py --cell gru --steps 300
    .venv/bin/python examples/char_lm.py --steps 40 --no-torch --out /tmp/quick   # a quick look

The corpus ships with Python itself: the documentation topics of the standard library's `pydoc_data`
package (`pydoc_data.topics.topics`, the text behind `help('for')`, about 465 000 characters; nothing is
downloaded). The first 90 % train, the last 10 % validate.

Model: Embedding(V, 32) - LSTM(32, 128) (or GRU) - Linear(128, V), trained with cross-entropy, Adam and
gradient clipping (norm 1), by truncated backpropagation through time: the text is cut into `batch`
parallel streams and read in windows of `seq_len` characters; the state carried from one window into the
next is detached, so that the graph — and the gradient — stop at the window's start.

Every `eval_every` steps: the validation loss in bits per character (bpc = nats / ln 2). With torch
compared (the default), torch trains the same model from the same initial weights on the same windows,
and the run ends with both validation bpc and their ratio (the goal: minitorch-dg within 5 % of torch).
Measured (300 steps, LSTM): 2.9187 bpc for both, ratio 1.0000; 100 / 200 / 300 steps: 3.554 / 3.176 / 2.919.
Measured (300 steps, --cell gru): 2.6462 bpc for both, ratio 1.0000; 100 / 200 / 300 steps: 3.389 / 2.937 / 2.646.
In --out (default examples/runs/char_lm):

    curves.png        train and validation loss (bpc) per step, minitorch-dg and torch
    checkpoint.npz    model and optimizer state, config, vocabulary and history (mt.save; reload with mt.load)
    history.json      the numbers, and a sample of generated text at --temperature

Exercise code comes from MTDG_SOURCE (the instructors' copy defaults to the reference, as digits_mlp.py
does); the source in force is printed first and recorded in history.json ("source") and the plot's title.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from tqdm import tqdm

import minitorch_dg as mt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_mlp import source_in_force  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "runs" / "char_lm"

if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
    # The instructors' copy runs the reference solutions; a student release (no solutions/) runs your own code.
    os.environ["MTDG_SOURCE"] = "solutions"


@dataclass
class Config:
    cell: str = "lstm"  # 'lstm' | 'gru'
    steps: int = 300
    batch: int = 32
    seq_len: int = 32
    embed: int = 32
    hidden: int = 128
    lr: float = 3e-3
    clip: float = 1.0
    eval_every: int = 100
    val_chars: int = 20000  # validate on the first N characters of the validation split
    corpus_chars: int | None = None  # use only the first N characters of the corpus (quick runs, tests)
    seed: int = 0
    temperature: float = 0.8
    sample_chars: int = 300


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    train_bpc: list[float] = field(default_factory=list)  # mean over the steps since the last evaluation
    val_bpc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # training time so far (evaluations excluded)


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------


def load_corpus(limit: int | None = None) -> str:
    """The standard library's pydoc topics, concatenated in sorted order (deterministic)."""
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    return text[:limit] if limit else text


def encode(text: str) -> tuple[np.ndarray, list[str]]:
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    return np.array([index[ch] for ch in text], dtype=np.int64), vocab


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """Cut a long id sequence into `batch` parallel streams, shape (batch, length)."""
    length = len(ids) // batch
    return ids[: length * batch].reshape(batch, length)


def windows(data: np.ndarray, seq_len: int) -> list[int]:
    """Start columns of the (input, target) windows: target = input shifted by one character."""
    return list(range(0, data.shape[1] - 1 - seq_len + 1, seq_len))


# ---------------------------------------------------------------------------------------------------
# Model, written once for `lib` (minitorch_dg or torch: the two APIs agree here)
# ---------------------------------------------------------------------------------------------------


class CharModel:
    """Embedding - LSTM/GRU - Linear, as a plain holder of lib modules (works for both libraries)."""

    def __init__(self, lib: Any, vocab: int, config: Config) -> None:
        self.lib = lib
        self.embedding = lib.nn.Embedding(vocab, config.embed)
        rnn = lib.nn.LSTM if config.cell == "lstm" else lib.nn.GRU
        self.rnn = rnn(config.embed, config.hidden, batch_first=True)
        self.head = lib.nn.Linear(config.hidden, vocab)
        self.modules = {"embedding": self.embedding, "rnn": self.rnn, "head": self.head}

    def parameters(self) -> list[Any]:
        return [p for m in self.modules.values() for p in m.parameters()]

    def state_dict(self) -> dict[str, Any]:
        return {f"{name}.{k}": v for name, m in self.modules.items() for k, v in m.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, m in self.modules.items():
            m.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(name + ".")})

    def __call__(self, x: Any, state: Any) -> tuple[Any, Any]:
        out, state = self.rnn(self.embedding(x), state)
        return self.head(out), state


def detach(state: Any) -> Any:
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def window_loss(lib: Any, model: CharModel, data: np.ndarray, start: int, seq_len: int, state: Any) -> tuple[Any, Any]:
    x = lib.tensor(data[:, start:start + seq_len])
    y = lib.tensor(data[:, start + 1:start + seq_len + 1])
    logits, state = model(x, state)
    loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return loss, state


def evaluate(lib: Any, model: CharModel, data: np.ndarray, seq_len: int) -> float:
    """Validation loss in bits per character, reading every window in order with the state carried over."""
    state, total, count = None, 0.0, 0
    with lib.no_grad():
        for start in windows(data, seq_len):
            loss, state = window_loss(lib, model, data, start, seq_len, state)
            total += loss.item()
            count += 1
    return total / max(count, 1) / math.log(2)


def train(lib: Any, config: Config, model: CharModel, train_data: np.ndarray, val_data: np.ndarray,
          stream: TextIO) -> tuple[History, Any]:
    """`config.steps` steps of truncated BPTT with Adam and clipping; returns the history and the optimizer."""
    optimizer = lib.optim.Adam(model.parameters(), lr=config.lr)
    starts = windows(train_data, config.seq_len)
    history, state = History(), None
    label = "minitorch-dg" if lib is mt else "torch       "
    bar = tqdm(total=config.steps, desc=label, file=stream, unit="step", dynamic_ncols=True, mininterval=0.2)
    running, since, elapsed = 0.0, 0, 0.0
    for step in range(1, config.steps + 1):
        began = time.perf_counter()
        position = (step - 1) % len(starts)
        if position == 0:
            state = None  # back at the start of the streams: a fresh state
        optimizer.zero_grad()
        loss, state = window_loss(lib, model, train_data, starts[position], config.seq_len, state)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        state = detach(state)
        elapsed += time.perf_counter() - began
        running += loss.item() / math.log(2)
        since += 1
        bar.update(1)
        bar.set_postfix(train_bpc=f"{running / since:.3f}", refresh=False)
        if step % config.eval_every == 0 or step == config.steps:
            history.step.append(step)
            history.train_bpc.append(running / since)
            history.val_bpc.append(evaluate(lib, model, val_data, config.seq_len))
            history.seconds.append(elapsed)
            running, since = 0.0, 0
    bar.close()
    return history, optimizer


def sample(model: CharModel, vocab: list[str], prompt: str, length: int, temperature: float, seed: int) -> str:
    """Continue `prompt` by `length` characters drawn from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = [index[ch] for ch in prompt if ch in index] or [0]
    out = []
    with mt.no_grad():
        logits, state = model(mt.tensor([ids]), None)
        for _ in range(length):
            scores = logits.to_numpy()[0, -1].astype(np.float64) / max(temperature, 1e-6)
            probs = np.exp(scores - scores.max())
            probs /= probs.sum()
            nxt = int(rng.choice(len(vocab), p=probs))
            out.append(vocab[nxt])
            logits, state = model(mt.tensor([[nxt]]), state)
    return prompt + "".join(out)


def run(config: Config, out: Path | None = DEFAULT_OUT, compare_torch: bool = True,
        stream: TextIO = sys.stdout) -> dict[str, Any]:
    """Train minitorch-dg's model (and torch's twin from the same weights); write the outputs to `out`."""
    text = load_corpus(config.corpus_chars)
    ids, vocab = encode(text)
    split = int(len(ids) * 0.9)
    train_data = streams(ids[:split], config.batch)
    val_data = streams(ids[split:][: config.val_chars], config.batch)
    mt.manual_seed(config.seed)
    model = CharModel(mt, len(vocab), config)
    initial = {k: v.to_numpy().copy() for k, v in model.state_dict().items()}
    stream.write(f"char LM ({config.cell.upper()}): corpus pydoc_data.topics, {len(text)} characters, vocabulary "
                 f"{len(vocab)}; {sum(p.numel() for p in model.parameters())} parameters; {config.steps} steps of "
                 f"{config.batch} x {config.seq_len}; CPU backend '{mt.backends.cpu_backend_name()}', "
                 f"{mt.course.describe()}\n")
    history, optimizer = train(mt, config, model, train_data, val_data, stream)
    result: dict[str, Any] = {"config": asdict(config), "source": source_in_force(), "minitorch": asdict(history)}
    stream.write(f"minitorch-dg: validation {history.val_bpc[-1]:.4f} bpc after {config.steps} steps, "
                 f"{config.steps / history.seconds[-1]:.2f} steps/s\n")
    if compare_torch:
        import torch

        torch.manual_seed(config.seed)
        twin = CharModel(torch, len(vocab), config)
        twin.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
        torch_history, _ = train(torch, config, twin, train_data, val_data, stream)
        result["torch"] = asdict(torch_history)
        ratio = history.val_bpc[-1] / torch_history.val_bpc[-1]
        result["val_bpc_ratio"] = ratio
        stream.write(f"torch:        validation {torch_history.val_bpc[-1]:.4f} bpc after {config.steps} steps, "
                     f"{config.steps / torch_history.seconds[-1]:.2f} steps/s\n"
                     f"minitorch-dg / torch validation bpc: {ratio:.4f} (goal: within 5 %, {abs(ratio - 1):.2%} now); "
                     f"training speed ratio torch time / ours: {history.seconds[-1] and torch_history.seconds[-1] / history.seconds[-1]:.2f}\n")
    result["sample"] = sample(model, vocab, "The ", config.sample_chars, config.temperature, config.seed)
    stream.write(f"sample at temperature {config.temperature}:\n{result['sample']}\n")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        mt.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "config": asdict(config),
                 "vocab": "".join(vocab), "history": asdict(history)}, out / "checkpoint.npz")
        (out / "history.json").write_text(json.dumps(result, indent=2) + "\n")
        plot(result, out / "curves.png")
        stream.write(f"wrote {out / 'curves.png'}, {out / 'checkpoint.npz'} and {out / 'history.json'}\n")
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4))
    for name, style in (("minitorch", "-"), ("torch", "--")):
        if name in result:
            h = result[name]
            axis.plot(h["step"], h["train_bpc"], style, label=f"{name} train")
            axis.plot(h["step"], h["val_bpc"], style, marker="o", label=f"{name} validation")
    axis.set(title=f"char LM ({result['config']['cell'].upper()}) on pydoc_data.topics ({result['source']})",
             xlabel="step", ylabel="bits per character")
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path, bool]:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=["lstm", "gru"], default=defaults.cell)
    for name in ("steps", "batch", "seq_len", "embed", "hidden", "eval_every", "val_chars", "seed", "sample_chars"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--corpus-chars", type=int, default=None, help="use only the first N characters")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--clip", type=float, default=defaults.clip)
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--no-torch", action="store_true", help="do not train the torch twin")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = vars(parser.parse_args(argv))
    out, no_torch = args.pop("out"), args.pop("no_torch")
    return Config(**args), out, not no_torch


def main(argv: list[str] | None = None) -> int:
    config, out, compare = parse_args(argv)
    mt.install_excepthook()
    run(config, out, compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
