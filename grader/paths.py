"""Where things are: the project root (the folder that holds grader/ and tests/) and the state folder."""

from __future__ import annotations

import os
from pathlib import Path

from minitorch_dg.cache_root import cache_root


def project_root() -> Path:
    """The course repository this grader belongs to (an editable install keeps it next to the package)."""
    env = os.environ.get("MTDG_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """Per-checkout grader state (last results, for `mtdg progress` and `mtdg hint`); MTDG_STATE_DIR moves it."""
    env = os.environ.get("MTDG_STATE_DIR")
    path = Path(env) if env else project_root() / ".mtdg"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Scratch space for materialised mutants and other generated files."""
    path = cache_root()
    path.mkdir(parents=True, exist_ok=True)
    return path
