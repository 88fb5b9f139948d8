"""Helpers for tests of the grader: run `mtdg` as a user would, build submissions in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minitorch_dg.fast.caching import cache_folder

ROOT = Path(__file__).resolve().parents[2]


class Mtdg:
    """Run `python -m grader ...` in the project, capturing output.

    Each test gets a cache folder of its own (MTDG_CACHE: notices, materialised mutants), whose compiled
    kernels (`numba/`) are the suite's shared ones: a kernel cache of its own would make every such test
    compile the fast backend and the references' kernels again, which cost 20 s of CPU per `mtdg verify`
    of a fast-backend exercise (ex08: 65 s against 43 s, measured)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        cache = tmp_path / "cache"
        cache.mkdir(exist_ok=True)
        shared = cache_folder()
        shared.mkdir(parents=True, exist_ok=True)
        if not (cache / "numba").exists():
            (cache / "numba").symlink_to(shared, target_is_directory=True)

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k != "MTDG_SOURCE"}
        full_env["NO_COLOR"] = "1"
        full_env["MTDG_CACHE"] = str(self.tmp_path / "cache")
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, env=full_env, text=True,
                              capture_output=True, timeout=timeout)


@pytest.fixture
def mtdg(tmp_path: Path) -> Mtdg:
    return Mtdg(tmp_path)


def make_submission(folder: Path, **modules: str) -> Path:
    """A submission folder: each keyword is a module name (ex01_operators=...) and its source text.
    A value 'solution' copies the reference; 'solution+CODE' appends CODE to it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in modules.items():
        if text.startswith("solution"):
            text = (ROOT / "solutions" / f"{name}.py").read_text() + "\n" + text[len("solution"):].lstrip("+")
        (folder / f"{name}.py").write_text(text)
    return folder


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
