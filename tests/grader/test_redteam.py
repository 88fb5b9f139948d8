"""Red team against the static policy: submissions that try to cheat the grader, each the *reference*
solution plus a cheat, so it would score full marks if the cheat went unnoticed. As submitted to ex01 the
policy refuses each one before anything runs, naming the file, line and rule, and the exercise scores 0.

The policy is an early, friendly warning, not the security: every exercise's code runs in a worker process
outside the judge (grader/judge.py), where what the same cheats meet with `--no-policy` is tried in
test_redteam_judge.py (and, as root, the worker's sandbox in test_redteam_root.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.grader.conftest import ROOT, Mtdg, make_submission, read_json

HIDDEN_FILE = ROOT / "tests" / "hidden" / "test_ex01_operators.py"

# name -> (code appended to the reference ex01, rule the policy names)
CHEATS: dict[str, tuple[str, str]] = {
    "patched numpy comparison": (
        "import numpy as np\n_abs = np.abs\nnp.abs = lambda value: _abs(value) * 0.0\n",
        "module-patch",
    ),
    "patched numpy.testing": (
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *args, **kwargs: None\n",
        "forbidden-import",
    ),
    "injected pytest hook": (
        "import sys\n_runner = sys.modules['_pytest.runner']\n_from_call = _runner.CallInfo.from_call\n"
        "def _swallow(cls, func, when, reraise=None):\n"
        "    return _from_call.__func__(cls, lambda: None, when, reraise)\n"
        "_runner.CallInfo.from_call = classmethod(_swallow)\n",
        "forbidden-name",
    ),
    "conftest written into tests/": (
        "import os\n_here = os.path.dirname(os.path.abspath(__file__))\n"
        f"_handle = open({str(ROOT / 'tests' / 'conftest_injected.py')!r}, 'w')\n"
        "_handle.write('def pytest_runtest_makereport(item, call):\\n    call.excinfo = None\\n')\n",
        "forbidden-call",
    ),
    "os._exit(0) inside a function": (
        "import os\ndef add(x, y):\n    os._exit(0)\n",
        "forbidden-name",
    ),
    "an __eq__ that is always true": (
        "class _Yes(float):\n    def __eq__(self, other):\n        return True\n    __hash__ = float.__hash__\n"
        "_lt = lt\ndef lt(x, y):\n    return _Yes(_lt(x, y))\n",
        "special-method",
    ),
    "reading a hidden test file": (
        f"_leak = open({str(HIDDEN_FILE)!r}).read()\n",
        "forbidden-call",
    ),
    "reading the grading parent's memory": (
        "import os\n_secret = open(f'/proc/{os.getppid()}/environ', 'rb').read()\n",
        "forbidden-call",
    ),
    "reading another exercise's reference": (
        f"_copied = open({str(ROOT / 'solutions' / 'ex02_autodiff.py')!r}).read()\n",
        "forbidden-call",
    ),
    "importing torch": (
        "import torch\ndef sigmoid(x):\n    return float(torch.sigmoid(torch.tensor(x, dtype=torch.float64)))\n",
        "forbidden-import",
    ),
    "fork bomb": (
        "import os\nwhile True:\n    os.fork()\n",
        "forbidden-name",
    ),
    "reading a frame of the test": (
        "import sys\ndef add(x, y):\n    sys._getframe(1)\n    return x + y\n",
        "forbidden-name",
    ),
}


def _grade(mtdg: Mtdg, tmp_path: Path, source: str, *extra: str, exercise: str = "ex01") -> tuple[dict[str, Any], str]:
    module = {"ex01": "ex01_operators", "ex02": "ex02_autodiff"}[exercise]
    sub = make_submission(tmp_path / "sub", **{module: source})
    out = tmp_path / "r.json"
    result = mtdg("grade", exercise, "--submission", str(sub), "--json", str(out), "--seed", "11",
                  "--timeout", "60", "--test-timeout", "10", *extra)
    assert out.exists(), f"no report written:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return read_json(out)["exercises"][0], result.stdout


@pytest.mark.parametrize("cheat", list(CHEATS))
def test_the_policy_refuses_the_cheat_before_it_runs(cheat: str, mtdg: Mtdg, tmp_path: Path) -> None:
    code, rule = CHEATS[cheat]
    ex01, stdout = _grade(mtdg, tmp_path, "solution+" + code)
    assert ex01["points"] == 0, f"{cheat}: scored {ex01['points']}"
    assert ex01["reason"].startswith("refused before running"), ex01["reason"]
    assert f"ex01_operators.py:" in ex01["reason"] and rule in ex01["reason"], ex01["reason"]
    assert all(t["failure"] == "policy" for t in ex01["tests"]) and ex01["tests"]
    assert rule in stdout


def test_a_memory_bomb_scores_zero_with_the_reason(mtdg: Mtdg, tmp_path: Path) -> None:
    ex01, _ = _grade(mtdg, tmp_path, "solution+_hoard = [0.0] * (2 ** 40)\n", exercise="ex02")
    assert ex01["points"] == 0
    assert "out of memory" in ex01["reason"], ex01["reason"]


def test_forged_results_without_the_nonce_are_ignored(mtdg: Mtdg, tmp_path: Path) -> None:
    """Exercise code writes 'passed' for every test to every open descriptor; none carries the nonce."""
    forge = (
        "import json, os\n"
        "def add(x, y):\n"
        "    for fd in range(3, 64):\n"
        "        for test in ('test_binary_arithmetic', 'test_neg'):\n"
        "            line = json.dumps({'nonce': '0' * 32, 'event': 'result', 'outcome': 'passed', 'kind': 'passed',\n"
        "                               'id': 'tests/exercises/test_ex01_operators.py::' + test}) + '\\n'\n"
        "            try:\n"
        "                os.write(fd, line.encode())\n"
        "            except OSError:\n"
        "                pass\n"
        "    raise ValueError('no real answer')\n"
    )
    ex01, _ = _grade(mtdg, tmp_path, "solution+" + forge, "--no-policy")
    forged = [t for t in ex01["tests"] if t["id"].endswith("::test_binary_arithmetic")]
    assert forged and forged[0]["outcome"] == "failed", forged


def test_an_honest_solution_scores_full_with_the_policy_on(mtdg: Mtdg, tmp_path: Path) -> None:
    sub = make_submission(tmp_path / "sub", ex01_operators="solution", ex02_autodiff="solution")
    out = tmp_path / "r.json"
    result = mtdg("grade", "ex01", "ex02", "--submission", str(sub), "--json", str(out))
    report = read_json(out)
    assert result.returncode == 0, result.stdout
    for ex in report["exercises"]:
        assert ex["points"] == pytest.approx(ex["max_points"]) and not ex["reason"], ex["reason"]


def test_a_refused_exercise_does_not_stop_the_others(mtdg: Mtdg, tmp_path: Path) -> None:
    sub = make_submission(tmp_path / "sub", ex01_operators="solution+import torch\n", ex02_autodiff="solution")
    out = tmp_path / "r.json"
    mtdg("grade", "ex01", "ex02", "--submission", str(sub), "--json", str(out))
    report = {e["id"]: e for e in read_json(out)["exercises"]}
    assert report["ex01"]["points"] == 0 and "forbidden-import" in report["ex01"]["reason"]
    assert report["ex02"]["points"] == pytest.approx(report["ex02"]["max_points"])
