"""Can numba.cuda be imported here, and if not, which versions to install: one line instead of a traceback.

numba-cuda is released separately from numpy and uses numpy functions that numpy later removes (numpy 2.5
dropped `np.row_stack`, and numba-cuda 0.30's import fails on it). Then every cuda test fails with the same
long AttributeError. `import_problem()` turns that into one line naming the installed versions and the
ones known to work; the CUDA backend raises it and the grader reports it once for the exercise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata

# What this project has run the cuda tests with (the simulator here, a real GPU in issue #19).
KNOWN_GOOD = "numpy 2.0 to 2.4 with numba 0.68 and numba-cuda 0.30 (tested: numpy 2.4.6, numba 0.68.1, numba-cuda 0.30.4)"
FIX = 'pip install "numpy>=2.0,<2.5"'
PACKAGES = ("numpy", "numba", "numba-cuda")


def installed_versions() -> dict[str, str]:
    """The installed version of numpy, numba and numba-cuda ('not installed' for a missing one)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _import_numba_cuda() -> None:
    importlib.import_module("numba.cuda")


def describe_import_failure(error: BaseException, versions: dict[str, str] | None = None) -> str:
    """One line: what failed, the installed versions, the versions that work and the command that installs them."""
    versions = installed_versions() if versions is None else versions
    have = ", ".join(f"{name} {versions.get(name, '?')}" for name in PACKAGES)
    text = str(error).splitlines()[0] if str(error) else ""
    what = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if isinstance(error, AttributeError) and "numpy" in text:
        cause = f"numba-cuda {versions.get('numba-cuda', '?')} uses a numpy function that numpy {versions.get('numpy', '?')} removed"
    else:
        cause = "numba-cuda or its CUDA bindings are missing or do not match numpy/numba"
    return (f"numba.cuda cannot be imported ({what}): {cause}. Installed: {have}. Known to work: {KNOWN_GOOD}; "
            f"run `{FIX}` (see docs/students.md, 'CUDA versions').")


def import_problem(importer: Callable[[], None] = _import_numba_cuda) -> str:
    """'' when numba.cuda imports (GPU or simulator, as the environment says), else the one-line reason."""
    try:
        importer()
    except Exception as error:  # noqa: BLE001 - any import failure is reported the same way
        return describe_import_failure(error)
    return ""
