"""The course mechanism: parsing MTDG_SOURCE, serving modules, stub errors (the contract check is the
grader's: tests/grader/test_contract.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from minitorch_dg import course
from minitorch_dg.errors import NotImplementedYet, SourceError


def test_unset_or_empty_means_exercises() -> None:
    assert course.parse_source(None).describe() == "exercises"
    assert course.parse_source("  ").describe() == "exercises"


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("solutions", {"ex01": "solutions", "ex02": "solutions"}),
        ("solutions,ex02=exercises", {"ex01": "solutions", "ex02": "exercises"}),
        ("exercises,ex01-ex02=solutions", {"ex01": "solutions", "ex02": "solutions"}),
        ("ex01=solutions", {"ex01": "solutions", "ex02": "exercises"}),
        ("solutions, ex2 = exercises", {"ex01": "solutions", "ex02": "exercises"}),
    ],
)
def test_parse_source(spec: str, expected: dict[str, str]) -> None:
    plan = course.parse_source(spec)
    assert {ex: plan.source_of(ex) for ex in expected} == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("solution", "'solution' is not a source"),
        ("solutions,exercises", "must be an override"),
        ("solutions,ex99=exercises", "there is no exercise ex99"),
        ("solutions,ex02-ex01=exercises", "not a range"),
        ("solutions,foo=exercises", "not an exercise id"),
    ],
)
def test_bad_source_specs_say_what_is_wrong(spec: str, fragment: str) -> None:
    with pytest.raises(SourceError, match=fragment):
        course.parse_source(spec)


def test_load_follows_the_environment_and_using() -> None:
    with course.environment_source("solutions,ex02=exercises"):
        assert course.load("ex01").__name__ == "solutions.ex01_operators"
        assert course.load("ex02").__name__ == "exercises.ex02_autodiff"
        with course.using("exercises"):
            assert course.load("ex01").__name__ == "exercises.ex01_operators"
        assert course.source_of("ex01") == "solutions"


def test_the_course_binds_once_and_refuses_a_changed_environment() -> None:
    """MTDG_SOURCE is read at the first question; setting it later in the process is refused, in one line that
    says what to do, at the next tensor operation (and wherever the plan is asked for)."""
    import minitorch_dg as mt

    with course.environment_source("solutions"):
        assert course.source_of("ex01") == "solutions"
        os.environ["MTDG_SOURCE"] = "solutions"  # the same plan, set again: accepted
        assert (mt.tensor([1.0]) + mt.tensor([2.0])).item() == 3.0
        os.environ["MTDG_SOURCE"] = "exercises"
        with pytest.raises(SourceError, match=r"changed from 'solutions' to 'exercises'.*course.using\('exercises'\)"):
            mt.tensor([1.0]) + mt.tensor([2.0])
        with pytest.raises(SourceError, match="once per process"):
            course.source_of("ex01")


def test_an_invalid_environment_is_an_error_where_it_is_read() -> None:
    import minitorch_dg as mt

    with course.environment_source("bogus"):
        with pytest.raises(SourceError, match="'bogus' is not a source"):
            course.load("ex01")
        with pytest.raises(SourceError, match="'bogus' is not a source"):
            mt.tensor([1.0]) + mt.tensor([2.0])


def test_proxies_keep_what_they_served_until_the_course_changes() -> None:
    proxy = course.ExerciseProxy("ex01")
    with course.using("solutions"):
        first = proxy.mul
        assert "mul" in vars(proxy) and proxy.mul is first
        with course.using("exercises"):
            assert "mul" not in vars(proxy)
            assert proxy.mul.__module__ == "exercises.ex01_operators"
        assert proxy.mul is first


def test_installed_module_wins_and_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("fake_ex01")
    course.install("ex01", fake, "mutant demo")
    try:
        assert course.load("ex01") is fake
        assert "ex01=mutant demo" in course.describe()
    finally:
        course.uninstall("ex01")
    assert course.load("ex01") is not fake


def test_solutions_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(course, "solutions_available", lambda: False)
    with course.using("solutions"), pytest.raises(SourceError, match="no solutions package"):
        course.load("ex01")


def test_proxy_does_not_import_the_exercise_for_introspection() -> None:
    proxy = course.ExerciseProxy("ex01")
    for name in ("_mock_name", "__wrapped__", "pytestmark"):
        with pytest.raises(AttributeError):
            getattr(proxy, name)
    with pytest.raises(AttributeError):
        proxy.mul = None  # type: ignore[attr-defined]


def test_stub_error_names_exercise_function_and_command() -> None:
    error = NotImplementedYet("ex01", "sigmoid")
    text = str(error)
    assert "ex01" in text and "`sigmoid`" in text and "mtdg check ex01" in text
    assert "exercises/ex01_operators.py" in text and "exercises/ex01_operators.md" in text
    assert isinstance(error, NotImplementedError)


def test_an_uncaught_stub_error_prints_one_line_not_a_traceback() -> None:
    code = "import minitorch_dg as mt\nmt.operators.mul(2.0, 3.0)\n"
    env = {**os.environ, "MTDG_SOURCE": "exercises"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("NotImplementedYet: ex01: `mul`"), result.stderr


def test_a_module_that_fails_to_import_runs_once_per_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Python forgets a module whose import raised; the course remembers the error until the file changes,
    so a broken submission does not run again for every test (and every hypothesis example)."""
    import exercises

    runs = tmp_path / "runs"
    broken = tmp_path / "ex01_operators.py"
    broken.write_text(f"open({str(runs)!r}, 'a').write('x')\nraise RuntimeError('broken on purpose')\n")
    monkeypatch.setattr(exercises, "__path__", [str(tmp_path), *exercises.__path__])
    monkeypatch.delitem(sys.modules, "exercises.ex01_operators", raising=False)
    with course.environment_source("solutions,ex01=exercises"):
        for _ in range(3):
            with pytest.raises(RuntimeError, match="broken on purpose"):
                course.load("ex01")
        assert runs.read_text() == "x", "the broken file ran more than once"
        broken.write_text("raise RuntimeError('broken in another way')\n")
        with pytest.raises(RuntimeError, match="broken in another way"):
            course.load("ex01")


def test_environ_reads_what_os_environ_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """course.environ is the fast read of os.environ that every tensor op makes: same answers, at once."""
    monkeypatch.setenv("MTDG_PROBE", "été,ex02=exercises")
    assert course.environ("MTDG_PROBE") == os.environ.get("MTDG_PROBE") == "été,ex02=exercises"
    monkeypatch.delenv("MTDG_PROBE")
    assert course.environ("MTDG_PROBE") is None
    with course.environment_source("exercises,ex01=solutions"):
        assert course.source_of("ex01") == "solutions" and course.source_of("ex02") == "exercises"
