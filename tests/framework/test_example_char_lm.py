"""examples/char_lm.py at a reduced size: minitorch-dg and torch train the same LSTM / GRU from the same
weights on the same windows (truncated BPTT, clipping, Adam) and reach the same validation bits per
character; the run writes its plot, checkpoint and history, and samples text."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

import minitorch_dg as mt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "char_lm.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("char_lm_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reduced_run_matches_torch_and_writes_its_outputs(example: ModuleType, cell: str, tmp_path: Path) -> None:
    config = example.Config(cell=cell, steps=12, batch=4, seq_len=8, embed=8, hidden=16, eval_every=6,
                            val_chars=400, corpus_chars=4000, lr=1e-2, sample_chars=20)
    log = io.StringIO()
    result = example.run(config, tmp_path, compare_torch=True, stream=log)
    ours, theirs = result["minitorch"], result["torch"]
    assert ours["step"] == theirs["step"] == [6, 12]
    assert ours["val_bpc"][-1] < ours["val_bpc"][0] or ours["train_bpc"][-1] < ours["train_bpc"][0], \
        f"training did not lower the loss: {ours}"
    assert abs(result["val_bpc_ratio"] - 1.0) < 0.05, \
        f"validation bpc {ours['val_bpc'][-1]:.4f} (minitorch-dg) vs {theirs['val_bpc'][-1]:.4f} (torch)"
    text = log.getvalue()
    assert "minitorch-dg / torch validation bpc" in text and "sample at temperature" in text
    assert len(result["sample"]) == len("The ") + 20
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["config"]["cell"] == cell and saved["source"] == mt.course.describe()
    checkpoint = mt.load(tmp_path / "checkpoint.npz")
    restored = example.CharModel(mt, len(checkpoint["vocab"]), config)
    restored.load_state_dict(checkpoint["model"])
    for name, value in checkpoint["model"].items():
        assert mt.equal(restored.state_dict()[name], value), f"checkpoint entry {name} did not restore"
