"""The course checks itself: every exercise test fails on the untouched stub, and every mutant is caught.

(That every test passes on the reference is the rest of this suite, run with MTDG_SOURCE=solutions.)
"""

from __future__ import annotations

import pytest

from grader.catalog import load
from tests.grader.conftest import Mtdg

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
