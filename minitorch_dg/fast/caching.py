"""Where Numba keeps the compiled ex06 kernels that the fast backend builds: <mtdg cache>/numba.

By default Numba writes a function's cache next to its source file (a __pycache__ folder). For the
reference solutions that is solutions/__pycache__, which a grading worker run as root can neither read
nor write (grader/sandbox.py: it reads copies of the references it is served). So the backend loads and
compiles ex06 modules and kernels with `numba.config.CACHE_DIR` pointing to a folder of its own, under the
course's cache folder (MTDG_CACHE, else $XDG_CACHE_HOME/mtdg, else ~/.cache/mtdg); a worker's is in its
scratch folder, seeded with root's kernels. Numba keys that folder by the source file's full path, so
copies of the course and mutants never share entries. A NUMBA_CACHE_DIR chosen by the user is left alone.

Numba only notices changes to the file of the function it caches. The op ids of map / zip / reduce
carry a stamp of the framework code compiled into kernels (see ops.py), but other kernels are module-level
functions without one: ex06's matmul, and ex10's and ex11's kernels, which inline the framework's
vectorised math (fast/vecmath.py). So when that stamp changes, `forget_stale_kernels` deletes every
exercise's entries of this folder once, and they are compiled afresh against the new framework code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..cache_root import cache_root

STAMP_FILE = "framework-stamp"


def cache_folder() -> Path:
    return cache_root() / "numba"


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


def forget_stale_kernels(stamp: int) -> int:
    """Delete the cached exercise kernels of cache_folder() if they were compiled against other framework code
    (a different `stamp`); returns how many files went. Never raises: a cache is only ever an optimisation."""
    folder = cache_folder()
    marker = folder / STAMP_FILE
    try:
        if not marker.exists():  # a new folder: nothing in it can be stale yet
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(stamp))
            return 0
        if marker.read_text().strip() == str(stamp):
            return 0
        removed = 0  # the marker exists, so the folder does
        for entry in folder.glob("*/ex[0-9][0-9]_*.nb[ic]"):
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
        marker.write_text(str(stamp))
        return removed
    except OSError:
        return 0
