"""The course checks itself: every exercise test fails on the untouched stub, and every mutant is caught.

(That every test passes on the reference is the rest of this suite, run with MTDG_SOURCE=solutions.)
"""

from __future__ import annotations

import pytest

from grader.catalog import load
from tests.grader.conftest import ROOT, Mtdg

EXERCISES = [e.id for e in load().exercises]


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_stubs_fail_and_mutants_are_caught(exercise: str, mtdg: Mtdg) -> None:
    result = mtdg("verify", exercise, "--skip-solutions", timeout=3600)
    assert result.returncode == 0, f"mtdg verify {exercise}:\n{result.stdout}\n{result.stderr}"
    assert "mutants" in result.stdout and "NOT CAUGHT" not in result.stdout


def test_every_exercise_has_at_least_four_mutants() -> None:
    from grader.mutants import mutants_for

    for ex in load().exercises:
        count = len(mutants_for(ex.module))
        assert count >= 4, f"{ex.id} has {count} mutants; the course promises at least 4 per exercise"


def test_a_plan_runs_each_mutant_in_its_own_worker_within_one_child() -> None:
    """`mtdg verify` runs the suspects of every mutant of a judged exercise in one grading child: each run has
    its own worker with its own mutant, so one run's verdict never leaks into the next."""
    from grader.catalog import load as load_catalog
    from grader.runner import Limits, run_mutant_plan

    folder = ROOT / "grader" / "mutants" / "ex01_operators"
    public = "tests/exercises/test_ex01_operators.py"
    relu = f"{public}::test_relu_back_at_zero_is_zero_like_torch"
    plan = [(str(folder / "relu_back_at_zero.py"), [relu]),           # caught by its own test
            (str(folder / "sigmoid_overflows.py"), [relu]),           # that test passes on this mutant
            (str(folder / "relu_back_at_zero.py"), [relu])]           # and catches the first one again
    timeout = next(e.timeout for e in load_catalog().exercises if e.id == "ex01")
    runs = run_mutant_plan("ex01", plan, "solutions", Limits(wall_seconds=timeout), seed=1)
    assert [r is not None for r in runs] == [True, True, True], [r.reason if r else None for r in runs]
    outcomes = [[t.outcome for t in r.tests] for r in runs if r is not None]
    assert outcomes == [["failed"], ["passed"], ["failed"]], outcomes
    assert all(not r.reason for r in runs if r is not None), [r.reason for r in runs if r is not None]


def test_a_plan_that_runs_out_of_time_leaves_the_unfinished_mutants_to_run_alone() -> None:
    from grader.runner import Limits, run_mutant_plan

    folder = ROOT / "grader" / "mutants" / "ex01_operators"
    test = "tests/exercises/test_ex01_operators.py::test_relu_back_at_zero_is_zero_like_torch"
    plan = [(str(folder / "relu_back_at_zero.py"), [test])] * 3
    runs = run_mutant_plan("ex01", plan, "solutions", Limits(wall_seconds=0.5), seed=1)  # 1.5 s for all three
    assert len(runs) == 3 and runs[-1] is None, "a run the child never finished has no verdict"
