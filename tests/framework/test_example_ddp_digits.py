"""examples/ddp_digits.py under torchrun on 2 processes, at a reduced size: it trains, rank 0 reports the
epoch, and the replicas hold the same weights at the end; started without torchrun it says how to start it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ddp_digits.py"


@pytest.mark.slow
def test_ddp_digits_trains_on_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "history.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(EXAMPLE),
         "--epochs", "2", "--subset", "256", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "replicas identical after training: yes" in done.stdout
    history = json.loads(out.read_text())
    assert len(history["train_loss"]) == 2 and history["train_loss"][1] < history["train_loss"][0]
    assert history["source"].startswith("MTDG_SOURCE="), history.get("source")


def test_ddp_digits_without_torchrun_says_how_to_start_it() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    done = subprocess.run([sys.executable, str(EXAMPLE)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "torchrun --nproc-per-node 2" in done.stderr
