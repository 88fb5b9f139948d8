"""Where the course keeps files it generates and can always generate again (compiled kernels, mutants).

MTDG_CACHE when set, else $XDG_CACHE_HOME/mtdg, else ~/.cache/mtdg. The framework keeps its Numba kernels
in <root>/numba (and <root>/numba-debug for MTDG_DEBUG builds); the grader materialises mutants here.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The course's cache folder (not created here)."""
    base = os.environ.get("MTDG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "mtdg")
    return Path(base)
