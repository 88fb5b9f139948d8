"""A broken submission for ex01 scores 0 there, with a reason, while ex02 is still graded normally.

These cases are about the runner's limits, not the policy, so they run with `--no-policy`;
tests/grader/test_redteam*.py cover what the policy, the worker and its sandbox refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grader.conftest import Mtdg, make_submission, read_json

BREAKAGES = {
    "infinite loop at import": ("solution+while True:\n    pass\n", "timed out"),
    # C-level recursion (sorted calls the key back in Python) overflows the C stack once the limit is lifted
    "segfault at import": ("solution+import sys\nsys.setrecursionlimit(10**7)\ndef _deep(n):\n"
                           "    return sorted([n], key=_deep)\n_deep(0)\n", "segmentation fault"),
    "os._exit(0) at import": ("solution+import os\nos._exit(0)\n", "os._exit"),
    "infinite loop inside one function": (
        "solution+\ndef relu(x):\n    while True:\n        pass\n", "longer than"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BREAKAGES))
def test_broken_ex01_scores_zero_and_ex02_is_graded(case: str, mtdg: Mtdg, tmp_path: Path) -> None:
    source, reason = BREAKAGES[case]
    sub = make_submission(tmp_path / "sub", ex01_operators=source, ex02_autodiff="solution")
    out = tmp_path / "r.json"
    result = mtdg("grade", "ex01", "ex02", "--submission", str(sub), "--json", str(out), "--gradescope",
                  str(tmp_path / "gs.json"), "--timeout", "25", "--test-timeout", "3", "--load-timeout", "8",
                  "--no-policy")
    assert out.exists(), f"no report written; stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    report = {e["id"]: e for e in read_json(out)["exercises"]}
    ex01, ex02 = report["ex01"], report["ex02"]
    if case == "infinite loop inside one function":
        assert 0 < ex01["points"] < ex01["max_points"], f"only relu's tests should fail: {ex01['points']}"
        relu_tests = [t for t in ex01["tests"] if "relu" in t["id"] and t["outcome"] != "passed"]
        assert relu_tests and all(reason in t["message"] for t in relu_tests), relu_tests[:2]
    else:
        assert ex01["points"] == 0, f"{case}: ex01 should score 0, got {ex01['points']}"
        assert reason in ex01["reason"], f"{case}: reason {ex01['reason']!r} should mention {reason!r}"
        assert all(t["outcome"] in ("missing", "failed") for t in ex01["tests"])
    assert ex02["points"] == pytest.approx(ex02["max_points"]), f"ex02 must be unaffected: {ex02}"
    if ex01["reason"]:
        assert ex01["reason"] in result.stdout, f"the terminal report should state the reason:\n{result.stdout}"
    gradescope = read_json(tmp_path / "gs.json")
    assert gradescope["score"] == pytest.approx(ex01["points"] + ex02["points"], abs=1e-3)
