"""What a student meets (issue 11): points that agree everywhere, exact Gradescope sums, hints that match the
failure, one-line refusals of a bad source, a check without an exercise, the optional part of ex06."""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import pytest

from grader import formats, hints, report
from grader.catalog import CatalogError, load
from grader.cli import progress
from grader.grading import MICRO, ExerciseReport, _score, share_points
from grader import runner
from grader.runner import Limits, RunResult, _assemble, hint_applies
from tests.grader.conftest import ROOT, Mtdg, make_submission

CATALOG = load()


@pytest.mark.parametrize("points, weights", [(10, [1.0] * 35), (25, [1.0] * 29), (5, [1, 2, 3, 4, 5, 6, 7]),
                                             (15, [0.5] * 3), (30, [1.0] * 7), (0.1, [1.0] * 3)])
def test_shares_are_whole_millionths_that_sum_exactly_to_the_points(points: float, weights: list[float]) -> None:
    shares = share_points(points, weights)
    units = [round(s * MICRO) for s in shares]
    assert all(abs(s * MICRO - u) < 1e-6 for s, u in zip(shares, units)), shares
    assert sum(units) == round(points * MICRO)
    assert round(math.fsum(shares), 6) == points
    exact = [points * w / sum(weights) for w in weights]
    assert all(abs(s - e) <= 1.0 / MICRO for s, e in zip(shares, exact))  # in proportion to the weights


def _outcome(name: str, passed: bool = True, weight: float = 1.0) -> runner.TestOutcome:
    return runner.TestOutcome(f"f.py::{name}", outcome="passed" if passed else "failed", kind="" if passed else "assertion",
                       message="" if passed else "expected 1, got 2", weight=weight)


def _report(ex_id: str, public: int, hidden: int | None, optional: int = 0) -> ExerciseReport:
    ex = CATALOG.get(ex_id)
    rep = ExerciseReport(ex, "solutions", RunResult())
    for test_set, count in ((ex.public, public), (ex.optional, optional), (ex.hidden, hidden)):
        if test_set is None or count is None or (test_set.kind == "optional" and not count):
            continue
        scored, maximum = _score(ex.id, test_set, [_outcome(f"test_{test_set.kind}_{i}") for i in range(count)])
        rep.tests += scored
        rep.max_by_kind[test_set.kind] = maximum
    return rep


def test_gradescope_numbers_restart_per_exercise_and_scores_sum_exactly() -> None:
    reports = [_report("ex01", 35, 15), _report("ex02", 29, 15), _report("ex03", 38, 32)]
    doc = formats.gradescope(reports, hidden_visibility="hidden", seconds=1.0)
    numbers = [t["number"] for t in doc["tests"]]
    assert numbers[:2] == ["1.1", "1.2"] and "2.1" in numbers and "3.1" in numbers
    assert numbers[35 + 15] == "2.1"
    per_exercise = {}
    for test in doc["tests"]:
        per_exercise.setdefault(test["name"].split()[0], []).append(test)
    for ex_id, tests in per_exercise.items():
        assert round(math.fsum(t["max_score"] for t in tests), 6) == CATALOG.get(ex_id).points
    assert doc["score"] == round(math.fsum(t["score"] for t in doc["tests"]), 6) == 65


def test_check_labels_its_points_public_with_the_full_maximum() -> None:
    text = report.table([_report("ex01", 35, None)])
    assert "10/10 public (of 15)" in text
    full = report.table([_report("ex01", 35, 15)])
    assert "15/15" in full and "public (of" not in full


def test_an_optional_part_scores_on_top_and_has_its_own_column() -> None:
    ex06 = CATALOG.get("ex06")
    assert ex06.optional is not None and ex06.optional.exists() and ex06.optional_points > 0
    assert ex06.points == ex06.public.points + ex06.hidden.points  # optional points are not in the maximum
    rep = _report("ex06", 10, 5, optional=3)
    assert rep.points == ex06.points and rep.max_points == ex06.points
    assert rep.optional_points == pytest.approx(ex06.optional_points)
    assert rep.status == "passing hidden"
    text = report.table([rep, _report("ex01", 35, 15)])
    assert "optional" in text.splitlines()[0]
    assert f"{report.fmt_points(ex06.optional_points)}/{report.fmt_points(ex06.optional_points)}" in text
    doc = formats.gradescope([rep], hidden_visibility="visible", seconds=1.0)
    assert doc["score"] == ex06.points + ex06.optional_points


def test_the_catalog_states_the_points_rule() -> None:
    header = (ROOT / "grader" / "catalog.toml").read_text().split("[course]")[0]
    assert "Points follow effort" in header and "optional" in header


def test_core_ex06_tests_never_call_the_optional_functions() -> None:
    for path in ("tests/exercises/test_ex06_fast_cpu.py", "tests/hidden/test_ex06_fast_cpu.py"):
        text = (ROOT / path).read_text()
        assert not re.search(r"\b(pack_a|pack_b|micro_kernel)\b", text), f"{path} calls an optional function"
    optional = (ROOT / "tests/exercises/test_ex06_fast_cpu_optional.py").read_text()
    assert all(name in optional for name in ("pack_a", "pack_b", "micro_kernel"))


def test_a_path_suggests_the_exercise_id() -> None:
    with pytest.raises(CatalogError, match="did you mean ex01"):
        CATALOG.get("exercises/ex01_operators.py")


def test_a_hint_with_when_is_kept_only_for_that_failure() -> None:
    assert hint_applies("", "anything") and hint_applies("RecursionError", "RecursionError: maximum recursion")
    assert not hint_applies("RecursionError", "d(chain)/dx: expected 2.7, got 1.0")
    events: list[dict[str, object]] = [
        {"event": "collected", "tests": [{"id": "t.py::a", "hint": "use a stack", "hint_when": "RecursionError"},
                                         {"id": "t.py::b", "hint": "use a stack", "hint_when": "RecursionError"},
                                         {"id": "t.py::c", "hint": "always", "hint_when": ""}]},
        {"event": "result", "id": "t.py::a", "outcome": "failed", "kind": "assertion", "message": "expected 2, got 1"},
        {"event": "result", "id": "t.py::b", "outcome": "failed", "kind": "error",
         "message": "RecursionError: maximum recursion depth exceeded"},
        {"event": "result", "id": "t.py::c", "outcome": "failed", "kind": "assertion", "message": "expected 2, got 1"},
        {"event": "done"},
    ]
    result = _assemble(events, 0, False, Limits(10, 10, 1000, 10))
    assert [t.hint for t in result.tests] == ["", "use a stack", "always"]


@pytest.mark.parametrize("module, handout", [("ex01_operators", "ex01_operators.md"), ("ex02_autodiff", "ex02_autodiff.md"),
                                             ("ex09_optim", "ex09_optim.md")])
def test_every_function_has_its_own_hint(module: str, handout: str) -> None:
    import importlib

    available = {h.lower() for h in hints.handout_hints(ROOT / "exercises" / handout)}
    stub = importlib.import_module(f"exercises.{module}")
    names = [n for n, v in vars(stub).items() if not n.startswith("_") and callable(v)
             and getattr(v, "__module__", "") == stub.__name__]
    grouped = {"EQ": "LT"}  # ex02: the two comparisons share one hint
    missing = [n for n in names if n.lower() not in available and grouped.get(n, "").lower() not in available]
    assert not missing, f"exercises/{handout} has no `### name` hint for {missing}"


def test_ex09_stubs_leave_the_update_rules_to_the_student() -> None:
    stub = (ROOT / "exercises" / "ex09_optim.py").read_text()
    assert not re.search(r"[√·]|β1 ·|\(1 − β", stub), "ex09's stubs still spell out the update formulas"
    handout = (ROOT / "exercises" / "ex09_optim.md").read_text()
    for rule in ("θ_t ← θ_{t−1} − γ g_t", "m_t ← β1 m_{t−1} + (1 − β1) g_t", "v_t ← α v_{t−1} + (1 − α) g_t²"):
        assert rule in handout


def test_progress_bars_only_over_several_exercises() -> None:
    one, many = progress(CATALOG.exercises[:1], "grade"), progress(CATALOG.exercises[:3], "grade")
    assert one.disable and many.total == 3
    assert list(many) == list(CATALOG.exercises[:3])


def test_check_without_an_exercise_lists_them(mtdg: Mtdg) -> None:
    result = mtdg("check")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert all(ex.id in result.stdout for ex in CATALOG.exercises) and "mtdg check ex01" in result.stdout


@pytest.mark.parametrize("how", ["environment", "option"])
def test_a_bad_source_fails_first_in_one_line(mtdg: Mtdg, how: str) -> None:
    if how == "environment":
        result = mtdg("check", "ex01", env={"MTDG_SOURCE": "bogus"})
    else:
        result = mtdg("check", "ex01", "--source", "bogus")
    assert result.returncode == 2
    assert "running" not in result.stdout and result.stdout.strip() == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "'bogus' is not a source" in result.stderr


def test_hint_names_unwritten_stubs_instead_of_their_hints(mtdg: Mtdg, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    message = "NotImplementedYet: ex02: `Inv.forward` is not implemented yet. Read exercises/ex02_autodiff.md"
    (state / "progress.json").write_text(json.dumps({"ex02": {
        "command": "grade", "when": "2026-11-27 10:00", "status": "failing", "reason": "",
        "failed": [{"test": "test_inv_backward", "kind": "public", "failure": "not_implemented", "message": message,
                    "hint": "fixed hint of the Inv test"},
                   {"test": "test_mul_backward", "kind": "public", "failure": "assertion",
                    "message": "expected 6, got 5", "hint": ""}]}}))
    result = mtdg("hint", "ex02", env={"MTDG_STATE_DIR": str(state)})
    assert result.returncode == 0, result.stderr
    assert "not written yet" in result.stdout and "Inv.forward" in result.stdout
    assert "fixed hint of the Inv test" not in result.stdout and "### Inv" not in result.stdout
    assert "### Mul" in result.stdout


def test_a_failing_optional_part_never_fails_the_check(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # GitHub Classroom scores `mtdg check exNN` all or nothing: skipping ex06's optional part must not cost
    # the exercise's public points.
    import argparse

    from grader import cli

    rep = _report("ex06", 10, None)
    ex06 = CATALOG.get("ex06")
    scored, maximum = _score("ex06", ex06.optional, [_outcome("test_pack_a", passed=False)])
    rep.tests += scored
    rep.max_by_kind["optional"] = maximum
    monkeypatch.setattr(cli, "_run_reports", lambda *a, **k: [rep])
    assert cli.cmd_check(argparse.Namespace(exercise="ex06"), CATALOG) == 0
    out = capsys.readouterr().out
    assert "all 10 public tests pass" in out and "optional part: 0/1" in out


def test_an_import_failure_drops_the_hints_that_speak_of_the_maths() -> None:
    events: list[dict[str, object]] = [
        {"event": "collected", "tests": [{"id": "t.py::a", "hint": "divide by 2ε", "hint_when": ""},
                                         {"id": "t.py::b", "hint": "use a stack", "hint_when": "RecursionError"}]},
        {"event": "contract", "problems": ["importing the module failed: NameError: name 'x' is not defined (at e.py:3 in <module>)"]},
        {"event": "result", "id": "t.py::a", "outcome": "failed", "kind": "error", "message": "NameError: name 'x'"},
        {"event": "result", "id": "t.py::b", "outcome": "failed", "kind": "error", "message": "RecursionError: depth"},
        {"event": "done"},
    ]
    result = _assemble(events, 0, False, Limits(10, 10, 1000, 10))
    assert result.import_failure == "NameError: name 'x' is not defined (at e.py:3 in <module>)"
    assert [t.hint for t in result.tests] == ["", "use a stack"]
    rep = ExerciseReport(CATALOG.get("ex02"), "solutions", result)
    assert hints.failing_public_tests(rep) == [] and hints.diagnose_report(rep) == []


def test_a_hang_is_not_matched_against_the_known_bugs() -> None:
    """A deadlocking ring fails the same ex14 tests as the mutant that sends the wrong chunk, but by a hang:
    "looks like" compares only failures of wrong values (the mutants' fingerprints are all of that kind)."""
    events: list[dict[str, object]] = [
        {"event": "collected", "tests": [{"id": f"t.py::{n}", "hint": "", "hint_when": ""} for n in "abc"]},
        {"event": "result", "id": "t.py::a", "outcome": "failed", "kind": "failed",
         "message": "JobFailed: the job of 2 processes did not finish within 40 s; rank(s) [1] were still running"},
        {"event": "result", "id": "t.py::b", "outcome": "failed", "kind": "timeout",
         "message": "the test took longer than 60 s (an infinite loop?)"},
        {"event": "result", "id": "t.py::c", "outcome": "failed", "kind": "failed", "message": "expected 3, got 4"},
        {"event": "done"},
    ]
    ex14 = CATALOG.get("ex14")
    result = _assemble(events, 0, False, Limits(10, 10, 1000, 10))
    rep = ExerciseReport(ex14, "solutions", result)
    rep.tests += _score("ex14", ex14.public, result.tests)[0]
    assert hints.failing_public_tests(rep) == ["c"]


def test_a_module_that_does_not_import_is_one_message_without_hints(mtdg: Mtdg, tmp_path: Path) -> None:
    # The audit's case: ex02's reference with a stray name at module level. No "looks like", no test's hint,
    # no NameError under every test: what happened and what to do, once; `mtdg hint` says the same.
    sub = make_submission(tmp_path / "sub", ex02_autodiff="solution+undefined_name_here\n")
    env = {"MTDG_STATE_DIR": str(tmp_path / "state")}
    result = mtdg("check", "ex02", "--submission", str(sub), env=env)
    assert result.returncode == 1
    out = result.stdout
    assert "ex02_autodiff.py does not import: NameError: name 'undefined_name_here' is not defined" in out, out
    assert f"(at {sub / 'ex02_autodiff.py'}:" in out and "then run `mtdg check ex02` again" in out
    assert "looks like" not in out and "hint" not in out and "✗" not in out, out
    hint = mtdg("hint", "ex02", env=env).stdout
    assert "does not import" in hint and "###" not in hint and "Divide by" not in hint, hint


def test_hint_after_a_refusal_says_only_the_refusal(mtdg: Mtdg, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    reason = "refused before running: ex02_autodiff.py:9: syntax-error: Python cannot parse this file"
    (state / "progress.json").write_text(json.dumps({"ex02": {
        "command": "grade", "when": "2026-11-27 10:00", "status": "failing", "reason": reason,
        "failed": [{"test": "test_central_difference_matches_the_exact_derivative", "kind": "public",
                    "failure": "policy", "message": reason, "hint": "Divide by 2ε and change only `arg`."},
                   {"test": "test_unary_function_forward_and_backward[Inv]", "kind": "public", "failure": "policy",
                    "message": reason, "hint": ""}]}}))
    out = mtdg("hint", "ex02", env={"MTDG_STATE_DIR": str(state)}).stdout
    assert reason in out and "then run `mtdg grade ex02` again" in out
    assert "###" not in out and "Divide by" not in out, out


def test_the_not_started_advice_names_the_command_that_ran() -> None:
    rep = ExerciseReport(CATALOG.get("ex02"), "solutions", RunResult())
    message = ("NotImplementedYet: ex02: `Inv.forward` is not implemented yet. Read exercises/ex02_autodiff.md, "
               "write it in exercises/ex02_autodiff.py, then run `mtdg check ex02`.")
    outcome = runner.TestOutcome("f.py::test_inv", outcome="failed", kind="not_implemented", message=message)
    rep.tests, _ = _score("ex02", CATALOG.get("ex02").public, [outcome])
    text = report.details(rep, "grade")
    assert "then run `mtdg grade ex02` again" in text and "`Inv.forward`" in text
    assert "mtdg check" not in text, text


def test_a_failure_names_the_file_where_it_really_is() -> None:
    # The deepest frame in exercise code wins; without one, the test file, with its real path (tests/exercises/...).
    from grader.child import describe_failure

    namespace: dict[str, object] = {}
    exec(compile("def student():\n    raise ValueError('bad')\n", str(ROOT / "exercises" / "ex02_autodiff.py"), "exec"),
         namespace)
    exec(compile("def test_a(f):\n    f()\n", str(ROOT / "tests" / "exercises" / "test_ex02_autodiff.py"), "exec"),
         namespace)
    with pytest.raises(ValueError) as through_student:
        namespace["test_a"](namespace["student"])  # type: ignore[operator]
    with pytest.raises(ValueError) as test_only:
        namespace["test_a"](functools.partial(int, "x"))  # type: ignore[operator]  (no Python frame of its own)
    assert describe_failure(through_student)[1] == "ValueError: bad (at exercises/ex02_autodiff.py:2 in student)"
    assert describe_failure(test_only)[1].endswith("(at tests/exercises/test_ex02_autodiff.py:2 in test_a)")


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `mtdg list | head -1`: the reader is gone before mtdg writes; no "Broken pipe" message, no traceback.
    import os
    import subprocess
    import sys

    env = {**os.environ, "MTDG_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "list"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the child has imported the grader
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert stderr == "", stderr
