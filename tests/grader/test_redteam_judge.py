"""Red team against the judge/worker split (grader/judge.py, grader/worker.py; issue #14), on ex01 (and the
attacks that read the judge or lie, on ex02, whose tests run programs in the worker).

The student controls only exercises/ex01_operators.py. Each attack is the untouched stub plus a cheat that
replaces every public function, so it can only score by cheating: it must score 0 through the real
`mtdg grade ex01 --submission DIR` path. The static policy would refuse most of these before they run, so
they are graded with `--no-policy`: what stops them here is that the tests, torch and the expected values
live in another process. Where a cheat can see something, it says what in its exception message, and the
test checks that the message (which comes back to the judge as untrusted text) shows nothing of the judge.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.grader.conftest import ROOT, Mtdg, read_json

STUB = (ROOT / "exercises" / "ex01_operators.py").read_text(encoding="utf-8")
STUB_EX02 = (ROOT / "exercises" / "ex02_autodiff.py").read_text(encoding="utf-8")
MODULES = {"ex01": "ex01_operators", "ex02": "ex02_autodiff", "ex14": "ex14_distributed"}

# Appended to a cheat: every public function of the module becomes `_cheat`.
EVERY_FUNCTION_CHEATS = """
for _name, _value in list(globals().items()):
    if not _name.startswith("_") and callable(_value) and getattr(_value, "__module__", "") == __name__:
        globals()[_name] = _cheat
"""

ATTACKS: dict[str, str] = {
    # family 3: the expected value from the calling test's frame (in the worker, only the worker's frames)
    "frames": """
import sys
def _cheat(*args, **kwargs):
    frame, seen = sys._getframe(1), []
    while frame is not None:
        seen.append(frame.f_code.co_name)
        for value in frame.f_locals.values():
            if type(value).__name__ == "Tensor" or (isinstance(value, float) and value not in args):
                return float(value)
        frame = frame.f_back
    raise ValueError("frames: " + ",".join(seen))
""",
    # family 2: pytest's Config through gc, to register a plugin that passes everything
    "gc": """
import gc, sys
_configs = [o for o in gc.get_objects() if type(o).__name__ == "Config"]
for _config in _configs:
    class _Pass:
        def pytest_runtest_makereport(self, item, call):
            call.excinfo = None
    _config.pluginmanager.register(_Pass())
def _cheat(*args, **kwargs):
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "pytest", "_pytest", "tests", "hypothesis"))
    raise ValueError(f"configs: {len(_configs)}; judge modules: {loaded}")
""",
    # family 7 and 6: which test runs, the hidden seed, the judge's modules (none of them are in the worker)
    "environment": """
import os, sys
def _cheat(*args, **kwargs):
    raise ValueError("test=" + os.environ.get("PYTEST_CURRENT_TEST", "-") + " seed=" + os.environ.get("MTDG_SEED", "-"))
""",
    # forging: result lines with guessed nonces and well-formed reply frames on every descriptor
    "forged results": """
import json, os, struct
def _cheat(*args, **kwargs):
    for fd in range(3, 64):
        line = json.dumps({"nonce": "0" * 32, "event": "result", "outcome": "passed", "kind": "passed",
                           "id": "tests/exercises/test_ex01_operators.py::test_neg"}) + "\\n"
        frame = json.dumps({"seq": 1, "ok": True, "value": {"f": (1.0).hex()}}).encode()
        for data in (line.encode(), struct.pack(">I", len(frame)) + frame):
            try:
                os.write(fd, data)
            except OSError:
                pass
    raise ValueError("forged")
""",
    # family 8: objects that lie (equal to everything, true, a float subclass)
    "lying objects": """
class _Always:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __float__(self): return 0.0
    __hash__ = object.__hash__
class _LyingFloat(float):
    def __eq__(self, other): return True
    __hash__ = float.__hash__
_count = [0]
def _cheat(*args, **kwargs):
    _count[0] += 1
    return _Always() if _count[0] % 2 else _LyingFloat(12345.0)
""",
    # a print flood and an answer over the size limit
    "flood and huge answer": """
import sys
def _cheat(*args, **kwargs):
    sys.stdout.write("x" * 2_000_000)
    return [0.0] * 400_000
""",
    # a process that dies in every call
    "exit in every call": """
import os
def _cheat(*args, **kwargs):
    os._exit(0)
""",
}
# Attacks that stop the module from loading at all: every test fails with the same reason.
LOAD_ATTACKS: dict[str, tuple[str, str]] = {
    "sleeps forever at import": ("import time\ntime.sleep(10 ** 6)\n", "did not answer within"),
    "crashes at import": ("import ctypes\nctypes.string_at(0)\n", "segmentation fault (SIGSEGV)"),
}


def _grade(mtdg: Mtdg, tmp_path: Path, source: str, *extra: str, exercise: str = "ex01") -> dict[str, Any]:
    folder = tmp_path / "sub"
    folder.mkdir(exist_ok=True)
    (folder / f"{MODULES[exercise]}.py").write_text(source, encoding="utf-8")
    out = tmp_path / "r.json"
    result = mtdg("grade", exercise, "--submission", str(folder), "--json", str(out), "--seed", "11", "--no-policy",
                  "--timeout", "150", "--test-timeout", "5", *extra)
    assert out.exists(), f"no report written:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout, result.stdout
    return read_json(out)["exercises"][0]


def _messages(ex01: dict[str, Any]) -> list[str]:
    return [str(t.get("message", "")) for t in ex01["tests"]]


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_cheating_stub_scores_zero(attack: str, mtdg: Mtdg, tmp_path: Path) -> None:
    ex01 = _grade(mtdg, tmp_path, STUB + ATTACKS[attack] + EVERY_FUNCTION_CHEATS)
    assert ex01["tests"], ex01["reason"]
    passed = [t["id"] for t in ex01["tests"] if t["outcome"] == "passed"]
    assert ex01["points"] == 0 and not passed, f"{attack}: scored {ex01['points']}: {passed}"
    text = "\n".join(_messages(ex01))
    if attack == "frames":  # the cheat found nothing and listed the frames it walked: none is a test's
        walked = set(re.findall(r"frames: ([^ ]+)", text))
        assert walked and not any("test" in name for names in walked for name in names.split(",")), walked
    if attack == "gc":
        assert "configs: 0; judge modules: []" in text, text[:2000]
    if attack == "environment":
        assert "test=- seed=-" in text, text[:2000]
    if attack == "lying objects":
        assert "passed" not in {t["outcome"] for t in ex01["tests"]}
    if attack == "flood and huge answer":
        assert "over the limit" in text, text[:2000]
    if attack == "exit in every call":
        assert "exited (code 0)" in text, text[:2000]


# ex02's tests build Scalars in the worker through programs (tests/support/scalar_oracle.py): the same attacks
# there meet programs instead of single calls, and Scalars whose methods are the cheat.
EX02_ATTACKS = ["frames", "gc", "environment", "lying objects"]


@pytest.mark.parametrize("attack", EX02_ATTACKS)
def test_a_cheating_ex02_stub_scores_zero(attack: str, mtdg: Mtdg, tmp_path: Path) -> None:
    ex02 = _grade(mtdg, tmp_path, STUB_EX02 + ATTACKS[attack] + EVERY_FUNCTION_CHEATS, exercise="ex02")
    assert ex02["tests"], ex02["reason"]
    passed = [t["id"] for t in ex02["tests"] if t["outcome"] == "passed"]
    assert ex02["points"] == 0 and not passed, f"{attack}: scored {ex02['points']}: {passed}"
    text = "\n".join(_messages(ex02))
    if attack == "frames":  # the frames it walked are the worker's and the program's: none is a test's
        walked = set(re.findall(r"frames: ([^ ]+)", text))
        assert walked and not any(name.startswith("test_") for names in walked for name in names.split(",")), walked
    if attack == "gc":
        assert "configs: 0; judge modules: []" in text, text[:2000]
    if attack == "environment":
        assert "test=- seed=-" in text, text[:2000]


@pytest.mark.parametrize("attack", list(LOAD_ATTACKS))
def test_a_module_that_never_loads_scores_zero_quickly(attack: str, mtdg: Mtdg, tmp_path: Path) -> None:
    code, said = LOAD_ATTACKS[attack]
    started = time.monotonic()
    ex01 = _grade(mtdg, tmp_path, STUB + code, "--test-timeout", "3", "--load-timeout", "8")
    assert ex01["points"] == 0 and ex01["tests"], ex01
    assert all(said in m for m in _messages(ex01)), _messages(ex01)[:3]
    assert said in ex01["reason"], f"the run's one-line reason should say it too: {ex01['reason']!r}"
    if attack == "sleeps forever at import":
        assert "within 8 s" in ex01["reason"], f"--load-timeout 8 should bound the import: {ex01['reason']!r}"
    assert time.monotonic() - started < 60, "every test waited for the module again"


def test_the_honest_reference_scores_full_through_the_worker(mtdg: Mtdg, tmp_path: Path) -> None:
    reference = (ROOT / "solutions" / "ex01_operators.py").read_text(encoding="utf-8")
    ex01 = _grade(mtdg, tmp_path, reference + "\nprint('a student debugging print')\n")
    assert ex01["points"] == pytest.approx(ex01["max_points"]) and not ex01["reason"], ex01["reason"]


def test_a_slow_import_and_a_worker_restart_do_not_eat_the_next_tests_time(mtdg: Mtdg, tmp_path: Path) -> None:
    """Loading the module has its own limit, not the per-test one: an honest module that takes longer to import
    than a test may run (here 4 s against 3 s, as a cold Numba cache on a busy CI machine can), and a worker
    replaced after one function killed it, must not fail the tests that run while it loads again."""
    reference = (ROOT / "solutions" / "ex01_operators.py").read_text(encoding="utf-8")
    source = reference + "\nimport os as _os\nimport time as _time\n\n_time.sleep(4)\n\n\ndef relu(x):\n    _os._exit(0)\n"
    ex01 = _grade(mtdg, tmp_path, source, "--test-timeout", "3")
    failed = [t["id"] for t in ex01["tests"] if t["outcome"] != "passed"]
    assert failed and all("relu" in test_id for test_id in failed), failed
    assert not ex01["reason"], ex01["reason"]
