"""Where Numba keeps the compiled ex06 kernels that the fast backend builds: <mtdg cache>/numba.

By default Numba writes a function's cache next to its source file (a __pycache__ folder). For the
reference solutions that is solutions/__pycache__, and the grader's runtime guard refuses any access to
solutions/ while a student's code is on the call stack, which is exactly when the fast backend runs
(say, in ex08, a student's Linear.forward multiplies two tensors). So the backend loads and compiles
ex06 modules and kernels with `numba.config.CACHE_DIR` pointing to a folder of its own, under the
course's cache folder (MTDG_CACHE, else $XDG_CACHE_HOME/mtdg, else ~/.cache/mtdg), which the guard
does not protect. Numba keys that folder by the source file's full path, so copies of the course and
mutants never share entries. A NUMBA_CACHE_DIR chosen by the user is left alone.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def cache_folder() -> Path:
    base = os.environ.get("MTDG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "mtdg")
    return Path(base) / "numba"


@contextlib.contextmanager
def kernel_cache() -> Iterator[None]:
    """Inside the block, Numba functions decorated with cache=True keep their cache in cache_folder()."""
    from numba.core import config

    if config.CACHE_DIR:  # the user's NUMBA_CACHE_DIR, or debug mode's folder: keep it
        yield
        return
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    config.CACHE_DIR = str(folder)
    try:
        yield
    finally:
        config.CACHE_DIR = ""
