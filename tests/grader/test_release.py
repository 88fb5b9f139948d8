"""`mtdg release`: the student repository has what students need and nothing they must not have."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalog import load
from grader.policy import check_file
from tests.grader.conftest import ROOT, Mtdg


def _release(mtdg: Mtdg, dest: Path, *extra: str) -> None:
    result = mtdg("release", str(dest), *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no solutions/, no hidden tests and no mutants" in result.stdout


def _secrets_in(dest: Path, released: set[str]) -> list[str]:
    """Files of the release that are solutions, hidden tests or mutants (released modules excepted)."""
    found = [str(p.relative_to(dest)) for p in dest.rglob("*")
             if any(part in ("solutions", "hidden", "mutants") for part in p.relative_to(dest).parts)]
    for path in dest.rglob("*.py"):
        text = path.read_text()
        for reference in (ROOT / "solutions").glob("ex*.py"):
            if reference.stem not in released and reference.read_text().strip() in text:
                found.append(f"{path.relative_to(dest)} contains solutions/{reference.name}")
        for hidden in (ROOT / "tests" / "hidden").glob("test_*.py"):
            if hidden.read_text().strip() in text:
                found.append(f"{path.relative_to(dest)} contains tests/hidden/{hidden.name}")
    return found


def test_release_has_the_student_parts_and_no_secrets(mtdg: Mtdg, tmp_path: Path) -> None:
    dest = tmp_path / "student"
    _release(mtdg, dest)
    catalog = load()
    for ex in catalog.exercises:  # (exercises still being written may lack some files in the source too)
        parts = [ex.handout, f"exercises/{ex.module}.py"] + ([ex.public.file] if ex.public else [])
        for part in parts:
            if (ROOT / part).is_file():
                assert (dest / part).read_text() == (ROOT / part).read_text(), part
    for part in ("tests/conftest.py", "tests/support/compare.py", "grader/catalog.toml", "minitorch_dg/course.py",
                 "docs/students.md", ".gitignore"):
        assert (dest / part).is_file(), part
    assert _secrets_in(dest, set()) == []
    assert not (dest / "tests" / "grader").exists() and not (dest / "docs" / "instructors.md").exists()
    pyproject = (dest / "pyproject.toml").read_text()
    assert '"solutions*"' not in pyproject and '"grader*"' in pyproject and "torch==2.13.0" in pyproject
    readme = (dest / "README.md").read_text()
    assert 'pip install -e ".[test]"' in readme and f"mtdg check {catalog.exercises[0].id}" in readme
    assert "reference solutions" in readme  # it says that prerequisites are the student's own


def test_with_solutions_puts_the_reference_in_place_of_the_stub(mtdg: Mtdg, tmp_path: Path) -> None:
    catalog = load()
    first = catalog.exercises[0]
    dest = tmp_path / "student"
    _release(mtdg, dest, "--with-solutions", first.id, "--classroom")
    released = (dest / "exercises" / f"{first.module}.py").read_text()
    assert (ROOT / "solutions" / f"{first.module}.py").read_text() in released
    assert not (dest / "solutions").exists(), "a partial solutions package would make solutions_available() True"
    assert _secrets_in(dest, {first.module}) == []
    assert check_file(dest / "exercises" / f"{first.module}.py", "released") == [], "the policy must accept it"
    assert (dest / ".github" / "workflows" / "classroom.yml").is_file()
    for later in catalog.exercises[1:]:
        stub = ROOT / "exercises" / f"{later.module}.py"
        if stub.is_file():
            assert (dest / "exercises" / stub.name).read_text() == stub.read_text()


def test_release_refuses_a_folder_that_is_not_empty(mtdg: Mtdg, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    result = mtdg("release", str(tmp_path / "busy"))
    assert result.returncode == 2 and "not empty" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_release_installs_in_a_fresh_venv_and_says_how_to_start(mtdg: Mtdg, tmp_path: Path) -> None:
    """End to end: release, `pip install -e ".[test]"` into a new venv, `mtdg check` from there."""
    catalog = load()
    first, second = catalog.exercises[0], catalog.exercises[1]
    dest = tmp_path / "student"
    _release(mtdg, dest, "--with-solutions", first.id)
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("MTDG_SOURCE", "VIRTUAL_ENV", "PYTHONPATH", "MTDG_ROOT")}
    env["NO_COLOR"] = "1"
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-e", f"{dest}[test]"], env=env,
                             capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "mtdg"), *args], cwd=dest, env=env, capture_output=True,
                              text=True, timeout=900)

    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "from minitorch_dg import course; import grader; print(course.solutions_available(), grader.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert probe.stdout.split()[0] == "False", probe.stdout + probe.stderr
    assert probe.stdout.split()[1].startswith(str(dest)), "the grader must come from the release"

    stub = run("check", second.id)
    assert stub.returncode == 1, stub.stdout + stub.stderr
    assert "not started yet" in stub.stdout and f"mtdg check {second.id}" in stub.stdout
    assert "no reference solutions" in stub.stdout, "it must say that prerequisites are the student's own"
    assert "Traceback" not in stub.stdout + stub.stderr

    released = run("check", first.id)
    assert released.returncode == 0, released.stdout + released.stderr
    progress = run("progress")
    assert f"next: {second.id}" in progress.stdout, progress.stdout
    (dest / "exercises" / f"{first.module}.py").write_text((ROOT / "exercises" / f"{first.module}.py").read_text())
    fresh = run("check", first.id)
    assert fresh.returncode == 1 and "not started yet" in fresh.stdout, fresh.stdout + fresh.stderr
    assert f"read {first.handout}" in fresh.stdout, "the how-to-start message names the handout"
    assert not list(dest.rglob("*hidden*")) and not (dest / "solutions").exists()
