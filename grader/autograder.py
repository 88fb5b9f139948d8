"""The Gradescope autograder: `mtdg autograder OUT.zip` builds the bundle, `run` grades one submission.

The bundle (unzipped by Gradescope into /autograder/source) is the instructors' course — framework,
stubs, solutions, public and hidden tests, the grader without mutants — plus:

    setup.sh          installs Python, torch (CPU build, pinned) and the pinned dependencies, once
    run_autograder    grades one submission; always leaves /autograder/results/results.json
    requirements.txt  the versions of the project's dependencies the instructor verified with
    autograder.json   which exercises to grade and the visibility of hidden tests

`run` (`python -m grader.autograder run --root /autograder`) takes only the submission's exercise files
(`exNN_topic.py` of the chosen exercises, in `exercises/`, at the top level, or under one wrapping
folder) into a fresh folder, ignores everything else, grades each chosen exercise with its public and
hidden tests and the student's own code for every exercise it uses, exactly as `mtdg grade` runs it in a
student release (the other exercise files of the submission are taken too; one not submitted is its stub),
and writes results.json. Whatever fails, a
results.json is written: a grading error gives a 0-score document that says so.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import stat
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .catalog import Catalog, Exercise
from .paths import project_root

CONFIG_FILE = "autograder.json"
TEMPLATES = Path(__file__).with_name("templates")
MAX_SUBMITTED_BYTES = 2_000_000
DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".mtdg", ".benchmarks", "mutants"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".nbi", ".nbc")
# What of the course goes into the bundle (relative to the project root).
BUNDLED = ("minitorch_dg", "exercises", "solutions", "grader", "tests/__init__.py", "tests/conftest.py",
           "tests/exercises", "tests/hidden", "tests/support", "pyproject.toml", "README.md")


class AutograderError(ValueError):
    """The bundle cannot be built; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------------
# Building the bundle
# ---------------------------------------------------------------------------------------------------


@dataclass
class BundleSummary:
    path: Path
    exercises: list[str]
    files: int


def _requirement_closure(project: str = "minitorch-dg", extras: tuple[str, ...] = ("test", "data")) -> dict[str, str]:
    """name -> installed version for every distribution the project needs (with `extras`), transitively."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned: dict[str, str] = {}
    pending: list[tuple[str, tuple[str, ...]]] = [(project, extras)]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while pending:
        name, wanted = pending.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if canonicalize_name(name) != canonicalize_name(project):
            pinned[dist.metadata["Name"]] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            environments = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                pending.append((req.name, tuple(sorted(req.extras))))
    return pinned


def pinned_requirements() -> str:
    """requirements.txt: every dependency at the version installed here (torch is installed by setup.sh)."""
    lines = [f"# The versions `mtdg autograder` found installed (Python {sys.version.split()[0]})."]
    for name, version in sorted(_requirement_closure().items(), key=lambda item: item[0].lower()):
        if name.lower() in ("torch", "minitorch-dg"):
            continue
        lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def torch_version() -> str:
    """The torch version to pin: the one installed here, without a local label (2.13.0+cpu -> 2.13.0)."""
    try:
        return metadata.version("torch").split("+")[0]
    except metadata.PackageNotFoundError:
        raise AutograderError("torch is not installed here; install the course with `pip install -e \".[test]\"` "
                              "first, so that the bundle pins the torch you verified with") from None


def _script(name: str, catalog: Catalog) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    return (text.replace("{torch_version}", torch_version())
            .replace("{torch_index}", str(catalog.extra.get("torch_index_url", DEFAULT_TORCH_INDEX)))
            .replace("{pinned_python}", f"pinned with Python {sys.version_info.major}.{sys.version_info.minor}"))


def _add_file(bundle: zipfile.ZipFile, arcname: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    bundle.writestr(info, data)


def _course_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for part in BUNDLED:
        path = root / part
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for item in sorted(path.rglob("*")):
                rel = item.relative_to(root).parts
                if item.is_file() and not any(p in SKIP_NAMES or p.endswith(".egg-info") for p in rel) \
                        and not item.name.endswith(SKIP_SUFFIXES):
                    files.append(item)
    return files


def build_bundle(out: Path, catalog: Catalog, exercises: list[Exercise], *, hidden_visibility: str | None = None,
                 static_policy: bool = True) -> BundleSummary:
    """Write the Gradescope autograder zip for `exercises` to `out` (`static_policy`: refuse, before running,
    submissions that use what exercise code may not; without it, only the runtime defences apply)."""
    root = project_root()
    if not (root / "solutions").is_dir():
        raise AutograderError("this copy has no solutions/: the autograder is built from the instructors' repository")
    missing = [f"{ex.id}: {ts.file}" for ex in exercises for ts in ex.test_sets(include_hidden=False)
               if not ts.exists()] + [f"{ex.id}: solutions/{ex.module}.py" for ex in exercises
                                      if not (root / "solutions" / f"{ex.module}.py").is_file()]
    if missing:
        raise AutograderError("cannot bundle exercises whose files are missing: " + "; ".join(missing))
    config = {
        "exercises": [ex.id for ex in exercises],
        "hidden_visibility": hidden_visibility or catalog.hidden_visibility,
        "static_policy": static_policy,
        "built": time.strftime("%Y-%m-%d %H:%M"),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    files = _course_files(root)
    with zipfile.ZipFile(out, "w") as bundle:
        for path in files:
            _add_file(bundle, str(path.relative_to(root)), path.read_bytes())
        _add_file(bundle, "setup.sh", _script("setup.sh", catalog).encode(), executable=True)
        _add_file(bundle, "run_autograder", _script("run_autograder", catalog).encode(), executable=True)
        _add_file(bundle, "requirements.txt", pinned_requirements().encode())
        _add_file(bundle, CONFIG_FILE, (json.dumps(config, indent=2) + "\n").encode())
    return BundleSummary(out, config["exercises"], len(files) + 4)


# ---------------------------------------------------------------------------------------------------
# Grading one submission
# ---------------------------------------------------------------------------------------------------


def _candidate_dirs(submission: Path) -> list[Path]:
    """Where exercise files may be: exercises/, the top level, and the same under one wrapping folder."""
    dirs = [submission / "exercises", submission]
    if submission.is_dir():
        wrappers = [d for d in sorted(submission.iterdir()) if d.is_dir() and not d.name.startswith((".", "__"))]
        if len(wrappers) == 1:
            dirs += [wrappers[0] / "exercises", wrappers[0]]
    return dirs


def collect_submission(submission: Path, exercises: list[Exercise], into: Path) -> tuple[list[str], list[str]]:
    """Copy the submitted exercise files of `exercises` (and nothing else) into `into`.

    Returns (notes for the student, ids of exercises whose file was not found)."""
    notes: list[str] = []
    absent: list[str] = []
    for ex in exercises:
        name = f"{ex.module}.py"
        found = next((d / name for d in _candidate_dirs(submission) if (d / name).is_file()), None)
        if found is None:
            absent.append(ex.id)
            notes.append(f"{ex.id}: your submission has no {name} (expected exercises/{name}); it scores 0")
            continue
        if found.is_symlink() or found.stat().st_size > MAX_SUBMITTED_BYTES:
            absent.append(ex.id)
            notes.append(f"{ex.id}: {name} is a link or larger than {MAX_SUBMITTED_BYTES // 1000} kB; it was not graded")
            continue
        (into / name).write_bytes(found.read_bytes())
    return notes, absent


def failure_document(reason: str, seconds: float) -> dict[str, Any]:
    """A results.json for a run that could not grade: score 0, and the reason where the student sees it."""
    return {
        "score": 0.0,
        "execution_time": round(seconds, 2),
        "output": f"The autograder could not grade this submission: {reason}",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def read_config(source: Path, catalog: Catalog) -> tuple[list[Exercise], str]:
    """The exercises to grade and the visibility of hidden tests, from autograder.json (all, when absent)."""
    path = source / CONFIG_FILE
    if not path.is_file():
        return list(catalog.exercises), catalog.hidden_visibility
    config = json.loads(path.read_text(encoding="utf-8"))
    return catalog.select(config.get("exercises") or []), config.get("hidden_visibility", catalog.hidden_visibility)


def static_policy_on(source: Path) -> bool:
    """Whether autograder.json keeps the static policy on (the default; `mtdg autograder --no-policy` turns
    it off, so that only the runtime defences and, for judged exercises, the worker's sandbox apply)."""
    path = source / CONFIG_FILE
    if not path.is_file():
        return True
    return json.loads(path.read_text(encoding="utf-8")).get("static_policy", True) is not False


def prerequisites(exercise: Exercise, catalog: Catalog) -> list[str]:
    """Every exercise that `exercise` uses, directly or not, in graded order."""
    found: set[str] = set()
    pending = list(exercise.requires)
    while pending:
        ex_id = pending.pop()
        if ex_id not in found:
            found.add(ex_id)
            pending += list(catalog.get(ex_id).requires)
    return [e.id for e in catalog.exercises if e.id in found]


def grade_submission(root: Path, started: float) -> dict[str, Any]:
    """Grade /autograder/submission (under `root`) and return the results.json document."""
    from . import formats, hints, report
    from .catalog import load
    from .grading import ExerciseReport, grade_exercise

    catalog = load()
    exercises, visibility = read_config(project_root(), catalog)
    check_policy = static_policy_on(project_root())
    os.environ["MTDG_PROTECT"] = os.pathsep.join(str(p) for p in (root / "results", root / "submission"))
    seed = secrets.randbelow(10**9)
    print(f"grading {', '.join(e.id for e in exercises)}; hidden tests drawn with seed {seed}", flush=True)
    reports: list[ExerciseReport] = []
    with tempfile.TemporaryDirectory(prefix="mtdg-submission-") as clean:
        notes, absent = collect_submission(root / "submission", exercises, Path(clean))
        others = [e for e in catalog.exercises if e not in exercises]
        _, not_submitted = collect_submission(root / "submission", others, Path(clean))
        for ex in exercises:
            # The student's own code for every exercise, as `mtdg grade` in a student release runs it
            # (docs/instructors.md, "Local and Gradescope grading grade the same thing").
            rep = grade_exercise(ex, catalog, hidden=True, seed=seed, submission=clean, chain=True,
                                 check_policy=check_policy)
            missing = [r for r in prerequisites(ex, catalog) if r in not_submitted or r in absent]
            if missing:
                rep.notes.append(f"it uses {', '.join(missing)}, which your submission lacks: their stubs served "
                                 "them, as in your own copy; submit your whole exercises/ folder")
                notes.append(f"{ex.id}: {rep.notes[-1]}")
            if ex.id in absent:
                rep.notes.append("not in your submission")
                for scored in rep.tests:
                    scored.points = 0.0
            reports.append(rep)
            notes += [f"{ex.id}: {d}" for d in hints.diagnose_report(rep)]
            print(report.details(rep), flush=True)
    print(report.table(reports), flush=True)
    return formats.gradescope(reports, hidden_visibility=visibility, seconds=time.time() - started,
                              extra_output="\n".join(notes))


def run(root: Path) -> int:
    """Grade the submission under `root` and always write root/results/results.json."""
    from . import formats

    started = time.time()
    results = root / "results" / "results.json"
    try:
        document = grade_submission(root, started)
    except BaseException as error:  # noqa: BLE001  (whatever happens, Gradescope gets a results file)
        document = failure_document(f"{type(error).__name__}: {error}", time.time() - started)
    formats.write_json(results, document)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("run", help="grade /autograder/submission into /autograder/results/results.json")
    grade.add_argument("--root", default=os.environ.get("MTDG_AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    return run(Path(args.root))


if __name__ == "__main__":
    raise SystemExit(main())
