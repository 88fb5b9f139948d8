"""`mtdg autograder`: the bundle, and `run_autograder` in a re-created Gradescope layout
(ROOT/source = the unzipped bundle, ROOT/submission, ROOT/results)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.catalog import load
from tests.grader.conftest import ROOT, Mtdg, read_json
from tests.grader.test_cli import assert_gradescope_schema

CATALOG = load()
FIRST, SECOND = CATALOG.exercises[0], CATALOG.exercises[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle for the first two exercises, with hidden tests fully hidden."""
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    env = {k: v for k, v in os.environ.items() if k != "MTDG_SOURCE"}
    result = subprocess.run([sys.executable, "-m", "grader", "autograder", str(out), "--exercises", FIRST.id,
                             SECOND.id, "--hidden-visibility", "hidden"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def gradescope_layout(tmp_path: Path, bundle: Path) -> Path:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    for script in ("run_autograder", "setup.sh"):  # extractall drops the mode bits; Gradescope keeps them
        (root / "source" / script).chmod(0o755)
    return root


def run_autograder(root: Path, **env_overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MTDG_SOURCE", "MTDG_ROOT")}
    env.update({"MTDG_AUTOGRADER_ROOT": str(root), "MTDG_PYTHON": sys.executable, "NO_COLOR": "1"})
    env.update(env_overrides)
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    results = root / "results" / "results.json"
    assert results.is_file(), f"no results.json:\n{done.stdout}\n{done.stderr}"
    return read_json(results)


def test_the_bundle_has_scripts_tests_and_pins_but_no_mutants(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        requirements = archive.read("requirements.txt").decode().splitlines()
        config = archive.read("autograder.json").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder.json", "pyproject.toml"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    for ex in (FIRST, SECOND):
        assert ex.hidden is not None and ex.hidden.file in names and f"solutions/{ex.module}.py" in names
    assert not [n for n in names if "/mutants/" in n or n.startswith("tests/grader") or "__pycache__" in n]
    assert 'torch==2.13.0' in setup and "--index-url" in setup
    pins = [line for line in requirements if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins) and not [p for p in pins if p.startswith("torch==")]
    assert '"hidden"' in config and FIRST.id in config


def test_run_autograder_grades_only_the_exercise_files(bundle: Path, tmp_path: Path) -> None:
    root = gradescope_layout(tmp_path, bundle)
    sub = root / "submission"
    (sub / "exercises").mkdir()
    shutil.copy(ROOT / "solutions" / f"{FIRST.module}.py", sub / "exercises")
    cheat = (ROOT / "solutions" / f"{SECOND.module}.py").read_text() + "\nimport torch\n"
    (sub / "exercises" / f"{SECOND.module}.py").write_text(cheat)
    # everything else in the submission must be ignored: tests that always pass, a conftest, "solutions"
    (sub / "tests" / "exercises").mkdir(parents=True)
    (sub / "tests" / "exercises" / Path(FIRST.public.file).name).write_text("def test_ok():\n    pass\n")
    (sub / "conftest.py").write_text("def pytest_runtest_makereport(item, call):\n    call.excinfo = None\n")
    (sub / "solutions").mkdir()
    (sub / "solutions" / f"{SECOND.module}.py").write_text(cheat)
    doc = run_autograder(root)
    assert_gradescope_schema(doc)
    first_max = sum(t["max_score"] for t in doc["tests"] if t["name"].startswith(FIRST.id + " "))
    assert doc["score"] == pytest.approx(first_max, abs=1e-3) and first_max == pytest.approx(
        sum(s.points or 0 for s in FIRST.test_sets()))
    hidden = [t for t in doc["tests"] if " hidden " in t["name"]]
    assert hidden and {t["visibility"] for t in hidden} == {"hidden"}
    public_n = len([t for t in doc["tests"] if t["name"].startswith(f"{FIRST.id} public")])
    hidden_n = len([t for t in hidden if t["name"].startswith(FIRST.id)])
    assert f"{FIRST.id}: public {public_n}/{public_n} passed; {hidden_n} hidden tests run" in doc["output"]
    run_note = [t for t in doc["tests"] if t["name"].startswith(f"{SECOND.id} — how the run went")]
    assert run_note and "forbidden-import" in run_note[0]["output"] and run_note[0]["visibility"] == "visible"


def test_files_at_the_top_of_a_wrapping_folder_are_found(bundle: Path, tmp_path: Path) -> None:
    root = gradescope_layout(tmp_path, bundle)
    (root / "source" / "autograder.json").write_text(f'{{"exercises": ["{FIRST.id}"], "hidden_visibility": "visible"}}')
    wrapper = root / "submission" / "my-repo-main"
    wrapper.mkdir()
    shutil.copy(ROOT / "solutions" / f"{FIRST.module}.py", wrapper)
    doc = run_autograder(root)
    assert_gradescope_schema(doc)
    assert doc["score"] == pytest.approx(sum(s.points or 0 for s in FIRST.test_sets()), abs=1e-3)


def test_a_missing_file_is_named_and_scores_zero(bundle: Path, tmp_path: Path) -> None:
    root = gradescope_layout(tmp_path, bundle)
    (root / "source" / "autograder.json").write_text(f'{{"exercises": ["{FIRST.id}"]}}')
    (root / "submission" / "notes.txt").write_text("I forgot my code")
    doc = run_autograder(root)
    assert doc["score"] == 0 and f"your submission has no {FIRST.module}.py" in doc["output"]


def test_results_are_written_when_grading_crashes(bundle: Path, tmp_path: Path) -> None:
    root = gradescope_layout(tmp_path, bundle)
    (root / "source" / "grader" / "catalog.toml").write_text("this is [not toml")
    doc = run_autograder(root)
    assert doc["score"] == 0 and doc["tests"] == []
    assert "could not grade" in doc["output"] and "catalog" in doc["output"]


def test_results_are_written_when_python_is_missing(bundle: Path, tmp_path: Path) -> None:
    root = gradescope_layout(tmp_path, bundle)
    doc = run_autograder(root, MTDG_PYTHON=str(tmp_path / "no-such-python"))
    assert doc["score"] == 0 and "could not grade" in doc["output"]


def test_autograder_refuses_unknown_exercises_in_one_line(mtdg: Mtdg, tmp_path: Path) -> None:
    result = mtdg("autograder", str(tmp_path / "a.zip"), "--exercises", "ex99")
    assert result.returncode == 2 and "there is no exercise" in result.stderr and "Traceback" not in result.stderr


def test_prerequisites_come_from_the_submission_as_in_a_student_release(bundle: Path, tmp_path: Path) -> None:
    # Gradescope grades what `mtdg grade` grades in a student release: the student's own code for every
    # exercise the graded one uses. SECOND uses FIRST; a submission without FIRST gets FIRST's stub.
    assert FIRST.id in SECOND.requires
    root = gradescope_layout(tmp_path, bundle)
    (root / "source" / "autograder.json").write_text(f'{{"exercises": ["{SECOND.id}"]}}')
    shutil.copy(ROOT / "solutions" / f"{SECOND.module}.py", root / "submission")
    doc = run_autograder(root)
    assert doc["score"] < SECOND.points
    assert f"{SECOND.id}: it uses {FIRST.id}, which your submission lacks" in doc["output"]
    shutil.copy(ROOT / "solutions" / f"{FIRST.module}.py", root / "submission")
    doc = run_autograder(root)
    assert doc["score"] == pytest.approx(SECOND.points, abs=1e-6)
