"""examples/digits_cnn.py at a reduced size: the whole training loop runs, writes its plot, checkpoint and
history, the checkpoint restores the trained model, the same seed gives the same numbers, and a missing
MNIST folder is reported without downloading anything. (The full run's >= 98 % is measured by hand: see
the example's docstring.)"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

import minitorch_dg as mt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("digits_cnn_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _small(example: ModuleType) -> object:
    return example.Config(epochs=2, subset=64, channels1=4, channels2=8, batch_size=16, lr=0.01)


def test_training_loop_outputs_and_checkpoint(example: ModuleType, tmp_path: Path) -> None:
    log = io.StringIO()
    model, history = example.train(_small(example), tmp_path, stream=log)
    text = log.getvalue()
    assert "digits CNN: 64 training and 64 test images of 8x8" in text and "epoch  2:" in text
    assert len(history.train_loss) == len(history.test_accuracy) == 2
    assert history.train_loss[1] < history.train_loss[0], f"training did not lower the loss: {history.train_loss}"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["test_accuracy"] == history.test_accuracy and saved["config"]["channels1"] == 4
    assert saved["source"] == mt.course.describe() and saved["source"].startswith("MTDG_SOURCE=")

    restored = example.build_model(_small(example))
    restored.load_state_dict(mt.load(tmp_path / "checkpoint.npz")["model"])
    _, test_set = example.load_data(_small(example))
    loss, accuracy = example.evaluate(restored, mt.utils.data.DataLoader(test_set, batch_size=256))
    assert accuracy == history.test_accuracy[-1] and abs(loss - history.test_loss[-1]) < 1e-6


def test_the_same_seed_gives_the_same_numbers(example: ModuleType) -> None:
    config = example.Config(epochs=1, subset=32, channels1=2, channels2=4, batch_size=16)
    _, first = example.train(config, None, stream=io.StringIO())
    _, second = example.train(config, None, stream=io.StringIO())
    assert first.train_loss == second.train_loss and first.test_accuracy == second.test_accuracy


def test_missing_mnist_folder_is_reported(example: ModuleType, tmp_path: Path) -> None:
    config = example.Config(epochs=1, data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not download"):
        example.train(config, None, stream=io.StringIO())
