"""examples/digits_mlp.py at a reduced size: the whole training loop runs, writes its plot, checkpoint and
history, the checkpoint restores the trained model, and the same seed gives the same numbers."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import pytest

import minitorch_dg as mt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_mlp.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("digits_mlp_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _small(example: ModuleType) -> object:
    return example.Config(epochs=2, subset=48, hidden=8, batch_size=16, lr=0.01)


def test_training_loop_outputs_and_checkpoint(example: ModuleType, tmp_path: Path) -> None:
    log = io.StringIO()
    model, history = example.train(_small(example), tmp_path, stream=log)
    text = log.getvalue()
    assert "epoch  1/2" in text and "loss=" in text and "epoch  2:" in text and "test loss" in text
    assert len(history.train_loss) == len(history.test_accuracy) == len(history.epoch_seconds) == 2
    assert all(0.0 <= a <= 1.0 for a in history.train_accuracy + history.test_accuracy)
    assert history.train_loss[1] < history.train_loss[0], f"training did not lower the loss: {history.train_loss}"

    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["test_accuracy"] == history.test_accuracy and saved["config"]["hidden"] == 8
    assert saved["source"] == mt.course.describe() and saved["source"].startswith("MTDG_SOURCE=")

    ckpt = mt.load(tmp_path / "checkpoint.npz")
    restored = example.build_model(_small(example))
    restored.load_state_dict(ckpt["model"])
    _, test_set = example.load_data(_small(example))
    loss, accuracy = example.evaluate(restored, mt.utils.data.DataLoader(test_set, batch_size=256))
    assert accuracy == history.test_accuracy[-1] and abs(loss - history.test_loss[-1]) < 1e-6
    optimizer = mt.optim.Adam(restored.parameters())
    optimizer.load_state_dict(ckpt["optimizer"])
    assert optimizer.param_groups[0]["weight_decay"] == _small(example).weight_decay
    assert ckpt["config"] == asdict(_small(example)) and ckpt["history"]["train_loss"] == history.train_loss


def test_the_same_seed_gives_the_same_numbers(example: ModuleType) -> None:
    runs = [example.train(_small(example), None, stream=io.StringIO())[1] for _ in range(2)]
    for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert getattr(runs[0], name) == getattr(runs[1], name), f"{name} differs between two runs with one seed"


def test_command_line(example: ModuleType, tmp_path: Path) -> None:
    config, out = example.parse_args(["--epochs", "3", "--subset", "10", "--backend", "simple", "--out", str(tmp_path)])
    assert (config.epochs, config.subset, config.backend, out) == (3, 10, "simple", tmp_path)
    assert example.parse_args([])[0] == example.Config()
