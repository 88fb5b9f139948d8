"""`mtdg release DIR`: the student repository, built from the instructors' one.

What a release holds: the framework (minitorch_dg/), the exercise stubs and handouts (exercises/), the
public tests with their support code and conftest (tests/exercises, tests/support, tests/conftest.py),
the grader without its mutants, a pyproject that installs all that, a README for students and
docs/students.md. What it never holds: solutions/, tests/hidden, grader/mutants, the tests of the grader
and of the framework (which run against the solutions), the instructors' docs.

`--with-solutions ex01-ex04` puts the reference code of those exercises *in place of their stubs* in
exercises/ (a release after their deadline). There is still no solutions package, so the course's
`solutions_available()` stays False and grading a later exercise runs the student's own prerequisites
(which, for released exercises, is the reference code) and says so.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from .catalog import Catalog, Exercise
from .paths import project_root

TEMPLATES = Path(__file__).with_name("templates")
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".mtdg", ".benchmarks"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".nbi", ".nbc", ".egg-info")
# Paths (relative to a release) that must never exist in one.
FORBIDDEN_IN_RELEASE = ("solutions", "tests/hidden", "tests/grader", "tests/framework", "grader/mutants",
                        "docs/instructors.md")


class ReleaseError(ValueError):
    """The release cannot be built; the message says why and what to do."""


@dataclass
class ReleaseSummary:
    """What `build_release` wrote."""

    root: Path
    files: int = 0
    released_solutions: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # catalog entries whose files are missing


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP_NAMES or n.endswith(SKIP_SUFFIXES)}


def _copy_tree(src: Path, dest: Path, *, skip: set[str] | None = None) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        extra = {n for n in names if skip and n in skip and Path(folder) == src}
        return _ignore(folder, names) | extra

    shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)


def student_pyproject(text: str) -> str:
    """The instructors' pyproject.toml turned into the release's: no solutions package, the student README.

    Raises ReleaseError when the text no longer has the shape this transformation expects."""
    include = re.search(r'^include\s*=\s*\[(.*?)\]\s*$', text, re.M)
    if include is None or '"solutions*"' not in include.group(1):
        raise ReleaseError("pyproject.toml: [tool.setuptools.packages.find] include must list \"solutions*\"; "
                           "update grader/release.py if the packaging changed")
    packages = [p.strip() for p in include.group(1).split(",") if p.strip() and p.strip() != '"solutions*"']
    text = text[: include.start(1)] + ", ".join(packages) + text[include.end(1):]
    text = text.replace('"mutants/*/*.py", ', "")
    if 'grader = [' in text and '"fingerprints.json"' not in text:
        text = text.replace('grader = ["catalog.toml",', 'grader = ["catalog.toml", "fingerprints.json",', 1)
    return text


def _exercise_table(catalog: Catalog, released: set[str]) -> str:
    """The README's table of exercises, in markdown."""
    rows = []
    for ex in catalog.exercises:
        points = float(ex.public.points or 0) if ex.public else 0.0
        extra = f" (+{ex.optional_points:g} optional)" if ex.optional is not None else ""
        note = " (reference code released)" if ex.id in released else ""
        rows.append((ex.id, f"{ex.title}{note}", f"`{ex.handout}`", f"{points:g} public of {ex.points:g}{extra}"))
    return tabulate(rows, headers=("id", "exercise", "handout", "points"), tablefmt="github", disable_numparse=True)


def student_readme(catalog: Catalog, released: list[Exercise]) -> str:
    """The release's README.md, from grader/templates/student_README.md."""
    template = (TEMPLATES / "student_README.md").read_text(encoding="utf-8")
    first = catalog.exercises[0]
    if released:
        names = ", ".join(e.id for e in released)
        released_text = (f"The reference code of {names} is already in `exercises/` (their deadline has passed): "
                         "later exercises build on it.")
    else:
        released_text = ""
    return (template.replace("{title}", catalog.title)
            .replace("{first}", first.id)
            .replace("{first_handout}", first.handout)
            .replace("{first_module}", f"exercises/{first.module}.py")
            .replace("{exercises}", _exercise_table(catalog, {e.id for e in released}))
            .replace("{released}", released_text))


def _released_module(exercise: Exercise, source: Path) -> str:
    text = source.read_text(encoding="utf-8")
    banner = (f"# Released reference solution of {exercise.id} (its deadline has passed). Later exercises\n"
              "# build on this module; you may read it, keep it, or replace it with your own.\n")
    return banner + text


def build_release(dest: Path, catalog: Catalog, with_solutions: list[Exercise]) -> ReleaseSummary:
    """Write the student repository into `dest` (which must not exist or be empty)."""
    root = project_root()
    if dest.exists() and any(dest.iterdir()):
        raise ReleaseError(f"{dest} exists and is not empty; choose a new folder (a release never overwrites)")
    if not (root / "solutions").is_dir():
        raise ReleaseError("this copy has no solutions/: releases are built from the instructors' repository")
    dest.mkdir(parents=True, exist_ok=True)
    _copy_tree(root / "minitorch_dg", dest / "minitorch_dg")
    _copy_tree(root / "exercises", dest / "exercises")
    tests = dest / "tests"
    tests.mkdir()
    for name in ("__init__.py", "conftest.py"):
        shutil.copy2(root / "tests" / name, tests / name)
    for sub in ("exercises", "support"):
        _copy_tree(root / "tests" / sub, tests / sub)
    _copy_tree(root / "grader", dest / "grader", skip={"mutants"})
    for ex in with_solutions:
        reference = root / "solutions" / f"{ex.module}.py"
        if not reference.is_file():
            raise ReleaseError(f"--with-solutions {ex.id}: solutions/{ex.module}.py does not exist")
        (dest / "exercises" / f"{ex.module}.py").write_text(_released_module(ex, reference), encoding="utf-8")
    (dest / "pyproject.toml").write_text(student_pyproject((root / "pyproject.toml").read_text("utf-8")), "utf-8")
    (dest / "README.md").write_text(student_readme(catalog, with_solutions), encoding="utf-8")
    docs = dest / "docs"
    docs.mkdir()
    if (root / "docs" / "students.md").is_file():
        shutil.copy2(root / "docs" / "students.md", docs / "students.md")
    (dest / ".gitignore").write_text((TEMPLATES / "student_gitignore").read_text("utf-8"), encoding="utf-8")
    problems = audit_release(dest, root, with_solutions)
    if problems:
        raise ReleaseError(f"the release in {dest} is not clean: " + "; ".join(problems))
    files = sum(1 for p in dest.rglob("*") if p.is_file())
    return ReleaseSummary(dest, files, [e.id for e in with_solutions], incomplete_exercises(catalog, dest))


def incomplete_exercises(catalog: Catalog, dest: Path) -> list[str]:
    """'ex05: no tests/exercises/test_ex05_x.py' for every file a catalog exercise names that `dest` lacks."""
    out = []
    for ex in catalog.exercises:
        parts = [ex.handout, f"exercises/{ex.module}.py"] + ([ex.public.file] if ex.public else [])
        missing = [p for p in parts if not (dest / p).is_file()]
        if missing:
            out.append(f"{ex.id}: no {', '.join(missing)}")
    return out


def audit_release(dest: Path, root: Path, released: list[Exercise]) -> list[str]:
    """Every way in which `dest` leaks what students must not have (empty when it is clean): forbidden
    folders, and any file whose text is that of a solution or a hidden test that was not released."""
    problems = [f"{p} is present" for p in FORBIDDEN_IN_RELEASE if (dest / p).exists()]
    secret: dict[str, str] = {}
    released_modules = {e.module for e in released}
    for path in (root / "solutions").glob("ex*.py"):
        if path.stem not in released_modules:
            secret[path.read_text("utf-8").strip()] = f"solutions/{path.name}"
    for path in (root / "tests" / "hidden").glob("*.py"):
        text = path.read_text("utf-8").strip()
        if text:
            secret[text] = f"tests/hidden/{path.name}"
    for path in dest.rglob("*.py"):
        text = path.read_text("utf-8", errors="replace").strip()
        if text in secret:
            problems.append(f"{path.relative_to(dest)} is a copy of {secret[text]}")
    return problems
