"""A numba-cuda that cannot be imported (seen: numpy 2.5 without np.row_stack) is reported in one line with
the installed versions and the ones that work, by the CUDA backend and once per exercise by the grader,
instead of one long traceback per test. The failure is simulated: an importer that raises, or a
sitecustomize that makes `import numba.cuda` fail in the grading child."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numba
import pytest

from grader.runner import Limits, run_tests
from minitorch_dg.backends import cuda as cuda_env
from minitorch_dg.backends import cuda_versions

ROW_STACK = AttributeError("module 'numpy' has no attribute 'row_stack'")
BROKEN = {"numpy": "2.5.0", "numba": "0.68.1", "numba-cuda": "0.30.4"}


def test_the_numpy_mismatch_is_one_line_with_versions_and_the_fix() -> None:
    line = cuda_versions.describe_import_failure(ROW_STACK, BROKEN)
    assert "\n" not in line
    assert "row_stack" in line and "numpy 2.5.0" in line and "numba-cuda 0.30.4" in line
    assert "that numpy 2.5.0 removed" in line
    assert cuda_versions.KNOWN_GOOD in line and cuda_versions.FIX in line


def test_import_problem_is_empty_when_the_import_works_and_one_line_when_it_fails() -> None:
    assert cuda_versions.import_problem(lambda: None) == ""

    def broken() -> None:
        raise ROW_STACK

    line = cuda_versions.import_problem(broken)
    assert line.startswith("numba.cuda cannot be imported (AttributeError: module 'numpy' has no attribute 'row_stack')")
    assert "Installed: numpy " in line


def test_installed_versions_names_the_three_packages() -> None:
    versions = cuda_versions.installed_versions()
    assert set(versions) == {"numpy", "numba", "numba-cuda"}
    assert versions["numpy"][0].isdigit()


def test_the_cuda_backend_raises_the_one_line_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cuda_env.SIMULATOR_ENV, raising=False)
    monkeypatch.delattr(numba, "cuda", raising=False)
    monkeypatch.setitem(sys.modules, "numba.cuda", None)  # `from numba import cuda` now fails
    with pytest.raises(cuda_env.CudaUnavailable, match=r"numba\.cuda cannot be imported \(ModuleNotFoundError") as raised:
        cuda_env._import_cuda()
    assert "Known to work" in str(raised.value) and "\n" not in str(raised.value)


BREAK_NUMBA_CUDA = '''
import sys


class _BrokenNumbaCuda:
    """Makes `import numba.cuda` fail as numba-cuda 0.30 does under numpy 2.5."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "numba_cuda" or name == "numba.cuda" or name.startswith("numba.cuda."):
            raise AttributeError("module 'numpy' has no attribute 'row_stack'")
        return None


sys.meta_path.insert(0, _BrokenNumbaCuda())
'''

CUDA_TESTS = '''
def test_one():
    assert False, "must not run: numba.cuda does not import"


def test_two():
    assert False, "must not run"
'''


def test_the_grader_reports_a_broken_numba_cuda_once_for_the_exercise(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BREAK_NUMBA_CUDA)
    test_file = tmp_path / "test_fake_cuda.py"
    test_file.write_text(CUDA_TESTS)
    path = os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])
    run = run_tests("ex07", [str(test_file)], "solutions", Limits(wall_seconds=120), contract=False,
                    env={"PYTHONPATH": path})
    assert run.reason.startswith("numba.cuda cannot be imported (AttributeError: module 'numpy' has no attribute "
                                 "'row_stack')"), f"{run.reason!r} {run.log_tail[-600:]}"
    assert "Known to work" in run.reason
    assert [(t.outcome, t.kind) for t in run.tests] == [("failed", "environment")] * 2
    assert all(t.message == run.reason for t in run.tests)


def test_the_cuda_warm_up_of_the_grading_child_does_nothing_without_a_gpu() -> None:
    from grader.child import cuda_import_problem

    assert cuda_import_problem(["tests/exercises/test_ex01_operators.py"]) == ""  # not a cuda file: no import
    assert cuda_import_problem(["tests/exercises/test_ex07_cuda.py"]) == ""  # the simulator here: no warm-up
