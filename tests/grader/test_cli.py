"""The `mtdg` commands as a user runs them: list, check on stubs, grade the reference, progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.catalog import load
from tests.grader.conftest import Mtdg, make_submission, read_json

GRADESCOPE_TEST_KEYS = {"name": str, "score": (int, float), "max_score": (int, float), "status": str,
                        "output": str, "visibility": str}


def assert_gradescope_schema(doc: dict[str, Any]) -> None:
    """results.json as Gradescope's autograder specification describes it."""
    assert isinstance(doc["score"], (int, float))
    assert isinstance(doc["execution_time"], (int, float))
    assert doc["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert doc["stdout_visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert isinstance(doc["tests"], list) and doc["tests"]
    for test in doc["tests"]:
        for key, kind in GRADESCOPE_TEST_KEYS.items():
            assert isinstance(test.get(key), kind), f"test {test.get('name')}: {key} is {test.get(key)!r}"
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= test["score"] <= test["max_score"] + 1e-9


def test_list_shows_every_catalog_exercise(mtdg: Mtdg) -> None:
    result = mtdg("list")
    assert result.returncode == 0, result.stderr
    for ex in load().exercises:
        assert ex.id in result.stdout and ex.title in result.stdout


def test_check_on_the_stub_says_how_to_start(mtdg: Mtdg) -> None:
    result = mtdg("check", "ex01")
    assert result.returncode == 1
    assert "not started yet" in result.stdout
    assert "exercises/ex01_operators.md" in result.stdout and "mtdg check ex01" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_grading_the_reference_gives_full_marks_in_gradescope_format(mtdg: Mtdg, tmp_path: Path) -> None:
    # The first two exercises: the format is the point here. That every exercise's reference passes is
    # the project's own test run (MTDG_SOURCE=solutions), which would otherwise be repeated here.
    catalog = load()
    chosen = catalog.exercises[:2]
    out = tmp_path / "r.json"
    result = mtdg("grade", *(e.id for e in chosen), "--source", "solutions", "--gradescope", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = read_json(out)
    assert_gradescope_schema(doc)
    maximum = sum(t["max_score"] for t in doc["tests"])
    assert doc["score"] == pytest.approx(maximum, abs=1e-3)
    assert maximum == pytest.approx(sum((s.points or 0) for e in chosen for s in e.test_sets()), abs=1e-3)
    hidden = [t for t in doc["tests"] if " hidden " in t["name"]]
    assert hidden and all(t["visibility"] == catalog.hidden_visibility for t in hidden)
    assert "hidden tests run" in doc["output"]


def test_hidden_visibility_is_configurable(mtdg: Mtdg, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    mtdg("grade", "ex01", "--source", "solutions", "--gradescope", str(out), "--hidden-visibility", "hidden")
    doc = read_json(out)
    assert {t["visibility"] for t in doc["tests"] if " hidden " in t["name"]} == {"hidden"}


def test_a_partial_submission_shows_failures_with_hints_and_progress(mtdg: Mtdg, tmp_path: Path) -> None:
    partial = "solution+\ndef relu_back(x, d):\n    return d if x >= 0.0 else 0.0\n"
    sub = make_submission(tmp_path / "sub", ex01_operators=partial)
    result = mtdg("check", "ex01", "--submission", str(sub))
    assert result.returncode == 1
    assert "test_relu_back_at_zero_is_zero_like_torch" in result.stdout
    assert "hint: At x = 0 torch's relu has gradient 0" in result.stdout
    assert "expected 0, got 1" in result.stdout


def test_grade_writes_junit_and_json(mtdg: Mtdg, tmp_path: Path) -> None:
    result = mtdg("grade", "ex01", "--source", "solutions", "--junit", str(tmp_path / "j.xml"), "--json",
                  str(tmp_path / "r.json"), "--seed", "7")
    assert result.returncode == 0, result.stdout
    doc = read_json(tmp_path / "r.json")
    assert doc["seed"] == 7 and doc["exercises"][0]["status"] == "passing hidden"
    import xml.etree.ElementTree as ET

    suites = ET.parse(tmp_path / "j.xml").getroot()
    assert suites.find("testsuite").get("failures") == "0"


def test_unknown_exercise_is_one_clear_line(mtdg: Mtdg) -> None:
    result = mtdg("check", "ex99")
    assert result.returncode == 2
    assert "there is no exercise" in result.stderr and "Traceback" not in result.stderr


def test_the_honour_system_note_is_said_once_when_not_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from grader import cli

    monkeypatch.setenv("MTDG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "_running_as_root", lambda: False)
    cli.honour_system_note()
    first = capsys.readouterr().out
    assert "not running as root" in first and "honour system" in first, first
    cli.honour_system_note()
    assert capsys.readouterr().out == "", "the note is said once per machine (a stamp in the cache folder)"
    assert (tmp_path / "cache" / "notices" / "honour-system").is_file()


@pytest.mark.parametrize("sandbox_status", ["", "workers cannot run as an unprivileged user here (EPERM)"])
def test_as_root_only_a_sandbox_that_cannot_work_is_mentioned_and_every_time(
        sandbox_status: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # As root the workers are sandboxed (grader/sandbox.py): nothing to say, and no honour-system stamp. Where
    # the sandbox cannot work, the reason is said on every run: a grading machine must not miss it.
    from grader import cli

    monkeypatch.setenv("MTDG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "_running_as_root", lambda: True)
    monkeypatch.setattr(cli.sandbox, "status", lambda root: sandbox_status)
    cli.honour_system_note()
    cli.honour_system_note()
    out = capsys.readouterr().out
    assert not (tmp_path / "cache" / "notices").exists()
    if not sandbox_status:
        assert out == ""
        return
    assert out.count(f"mtdg runs as root, but {sandbox_status}") == 2, out
    assert "file access is not enforced" in out


def test_the_honour_system_note_survives_a_cache_it_cannot_write(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from grader import cli

    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MTDG_CACHE", str(blocker))
    monkeypatch.setattr(cli, "_running_as_root", lambda: False)
    cli.honour_system_note()
    cli.honour_system_note()
    assert capsys.readouterr().out.count("not running as root") == 2, "without a stamp the note comes again"
