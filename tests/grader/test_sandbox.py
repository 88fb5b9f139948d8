"""grader/sandbox.py's pieces that need no second user: permissions, the stage, the worker ids.

The attacks against the whole (a worker run as its own user) are in test_redteam_root.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grader import sandbox


def _others(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode) & stat.S_IRWXO


def test_opening_the_way_to_two_targets_closes_only_the_other_entries(tmp_path: Path) -> None:
    # A private folder (as /root is, or a test's tmp_path) holding the interpreter and the course's readable
    # parts next to a secret: both targets become reachable, the folder is searchable but not listable, and
    # the secret, readable before only because its folder was closed, is closed itself first.
    top = tmp_path / "private"
    for name in ("python", "course/minitorch_dg", "course/exercises", "secret"):
        (top / name).mkdir(parents=True)
    (top / "secret" / "key").write_text("hidden")
    for folder in (top, top / "course"):
        folder.chmod(0o700)
    opened = sandbox.open_paths_to([top / "python", top / "course" / "minitorch_dg", top / "course" / "exercises"])
    assert top in opened and top / "course" in opened
    assert _others(top) == stat.S_IXOTH and _others(top / "course") == stat.S_IXOTH
    assert _others(top / "secret") == 0
    assert _others(top / "course" / "minitorch_dg") & stat.S_IXOTH and _others(top / "course" / "exercises") & stat.S_IXOTH
    assert _others(top / "python") & stat.S_IXOTH


def test_a_private_framework_folder_is_opened_to_others(tmp_path: Path) -> None:
    tree = tmp_path / "minitorch_dg"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "m.py").write_text("x = 1\n")
    for path in (tree, tree / "sub"):
        path.chmod(0o700)
    (tree / "sub" / "m.py").chmod(0o600)
    sandbox.open_tree(tree)
    assert _others(tree) == stat.S_IROTH | stat.S_IXOTH and _others(tree / "sub" / "m.py") == stat.S_IROTH


@pytest.mark.skipif(not sandbox.wanted(), reason="worker ids and their lock folder need root; CI runs as root")
def test_two_holders_never_share_a_worker_id_and_a_released_id_comes_back() -> None:
    first = sandbox.acquire_slot()
    second = sandbox.acquire_slot()
    try:
        assert first.uid != second.uid and {first.uid, second.uid} <= set(sandbox.UID_RANGE)
        first.release()
        again = sandbox.acquire_slot()
        assert again.uid <= second.uid or again.uid == first.uid
        again.release()
    finally:
        first.release()
        second.release()


@pytest.mark.skipif(not sandbox.wanted(), reason="switching users needs root; CI runs as root")
def test_kill_all_ends_a_process_that_left_its_session(tmp_path: Path) -> None:
    import subprocess
    import sys

    slot = sandbox.acquire_slot()
    try:
        survivor = subprocess.Popen([sys.executable, "-S", "-c", "import os, time\nos.setsid()\ntime.sleep(60)"],
                                    cwd="/", env={}, **sandbox.identity(slot.uid))
        assert sandbox.processes_of(slot.uid), "the process of the worker's user did not start"
        assert sandbox.kill_all(slot.uid)
        assert survivor.wait(timeout=10) == -9
        assert sandbox.processes_of(slot.uid) == []
    finally:
        slot.release()


def test_the_kernel_cache_folder_name_is_numba_s_own(tmp_path: Path) -> None:
    from numba.core.caching import _CacheLocator

    source = tmp_path / "solutions" / "ex06_fast_cpu.py"
    assert sandbox.numba_subfolder(source.parent) == _CacheLocator.get_suitable_cache_subpath(str(source))


def test_a_worker_gets_root_s_kernels_of_its_references_but_never_the_graded_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from minitorch_dg.fast.ops import FRAMEWORK_STAMP

    root, stage, kernels = tmp_path / "course", tmp_path / "stage" / "solutions", tmp_path / "kernels"
    (root / "minitorch_dg" / "fast" / "__pycache__").mkdir(parents=True)
    (root / "minitorch_dg" / "fast" / "__pycache__" / "vecmath.exp32-105.py311.nbi").write_text("framework")
    root_solutions = kernels / sandbox.numba_subfolder(root / "solutions")
    root_solutions.mkdir(parents=True)
    for name in ("ex06_fast_cpu._map-10.py311.nbi", "ex06_fast_cpu._map-10.py311.1.nbc",
                 "ex10_conv._conv-5.py311.nbi", "ex06_fast_cpu.txt"):
        (root_solutions / name).write_text(name)
    (kernels / "framework-stamp").write_text(str(FRAMEWORK_STAMP))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(kernels))
    target = tmp_path / "scratch" / "numba"

    sandbox.seed_kernels(root, stage, ["ex06_fast_cpu"], target)  # grading ex10: ex06's reference is served
    staged = target / sandbox.numba_subfolder(stage)
    assert sorted(p.name for p in staged.iterdir()) == ["ex06_fast_cpu._map-10.py311.1.nbc",
                                                        "ex06_fast_cpu._map-10.py311.nbi"]
    fast = target / sandbox.numba_subfolder(root / "minitorch_dg" / "fast")
    assert (fast / "vecmath.exp32-105.py311.nbi").read_text() == "framework"

    (kernels / "framework-stamp").write_text(str(FRAMEWORK_STAMP + 1))  # compiled against other framework code
    other = tmp_path / "scratch2" / "numba"
    sandbox.seed_kernels(root, stage, ["ex06_fast_cpu"], other)
    assert not (other / sandbox.numba_subfolder(stage)).exists(), "stale reference kernels must not be copied"


def test_a_private_temporary_folder_puts_stages_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    private = tmp_path / "private"
    (private / "tmp").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private / "tmp"))
    assert sandbox.stage_parent() == "/tmp", "a worker could not reach a stage under a folder closed to others"
    reachable = Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp and / are open to others
    try:
        reachable.chmod(0o755)
        monkeypatch.setattr(tempfile, "tempdir", str(reachable))
        assert sandbox.stage_parent() == str(reachable.resolve()), "a reachable TMPDIR is used as it is"
    finally:
        reachable.rmdir()
