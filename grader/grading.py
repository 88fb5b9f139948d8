"""Grade exercises: choose the source plan, run each exercise in its own child, score every test."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from minitorch_dg import course

from . import policy
from .catalog import Catalog, Exercise, TestSet
from .runner import RunResult, TestOutcome, limits_for, run_tests


@dataclass
class ScoredTest:
    exercise: str
    kind: str  # public | hidden
    test: TestOutcome
    points: float
    max_points: float


@dataclass
class ExerciseReport:
    exercise: Exercise
    source: str
    run: RunResult
    tests: list[ScoredTest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    max_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def points(self) -> float:
        """Points scored by the public and hidden tests (the optional part's are `optional_points`)."""
        return sum(t.points for t in self.tests if t.kind != "optional")

    @property
    def max_points(self) -> float:
        """The most `points` can be for the tests that ran (public only after `check`)."""
        return sum(v for k, v in self.max_by_kind.items() if k != "optional")

    @property
    def optional_points(self) -> float:
        return sum(t.points for t in self.tests if t.kind == "optional")

    @property
    def full_points(self) -> float:
        """The exercise's catalog points (public + hidden), whichever tests ran."""
        return max(self.exercise.points, self.max_points)

    def of_kind(self, kind: str) -> list[ScoredTest]:
        return [t for t in self.tests if t.kind == kind]

    def counts(self, kind: str) -> tuple[int, int]:
        tests = self.of_kind(kind)
        return sum(t.test.passed for t in tests), len(tests)

    @property
    def not_started(self) -> bool:
        """Every failure is a call into an unimplemented stub (and nothing passed)."""
        return bool(self.tests) and all(t.test.kind == "not_implemented" for t in self.tests)

    @property
    def status(self) -> str:
        """not started | failing | passing public | passing hidden (= complete)."""
        if self.not_started:
            return "not started"
        pub_ok, pub_n = self.counts("public")
        hid_ok, hid_n = self.counts("hidden")
        if self.run.reason or pub_n == 0 or pub_ok < pub_n:
            return "failing"
        if hid_n and hid_ok == hid_n:
            return "passing hidden"
        return "passing public"


def source_for(exercise: str, *, chain: bool = False, source: str | None = None) -> tuple[str, list[str]]:
    """The MTDG_SOURCE plan to grade `exercise` with, and notes that explain it to the student.

    Isolation by default: the student's module for this exercise, the reference for everything else,
    so that a bug in ex03 does not fail ex08. `chain` uses the student's modules throughout.
    """
    if source:
        return source, [f"graded with MTDG_SOURCE={source}"]
    if chain:
        return "exercises", ["every exercise this one uses comes from your own code (--chain)"]
    if not course.solutions_available():
        return "exercises", [
            "this copy has no reference solutions, so the exercises this one uses come from your own code"
        ]
    return f"solutions,{exercise}=exercises", []


def _package_dirs(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []


def student_files(exercise: Exercise, catalog: Catalog, plan: str, submission: str | None) -> list[tuple[Path, str, str]]:
    """(file, name shown, module) of every student module that grading `exercise` with `plan` runs:
    the exercise's own, and its prerequisites when the plan serves those from exercises/ too."""
    source_plan = course.parse_source(plan)
    needed: list[Exercise] = []
    pending = [exercise]
    while pending:
        ex = pending.pop()
        if ex in needed:
            continue
        needed.append(ex)
        pending += [catalog.get(r) for r in ex.requires]
    out = []
    for ex in sorted(needed, key=lambda e: e.order):
        if source_plan.source_of(ex.id) != "exercises":
            continue
        folders = ([Path(submission)] if submission else []) + _package_dirs("exercises")
        for folder in folders:
            candidate = folder / f"{ex.module}.py"
            if candidate.is_file():
                shown = f"exercises/{ex.module}.py" if folder in _package_dirs("exercises") else candidate.name
                out.append((candidate, shown, ex.module))
                break
    return out


def policy_violations(exercise: Exercise, catalog: Catalog, plan: str, submission: str | None) -> list[policy.Violation]:
    """The static policy on every student file this grading would run (see grader/policy.py)."""
    found: list[policy.Violation] = []
    references = _package_dirs("solutions")
    for path, shown, module in student_files(exercise, catalog, plan, submission):
        reference = next((d / f"{module}.py" for d in references if (d / f"{module}.py").is_file()), None)
        found += policy.check_file(path, shown, reference)
    return found


MICRO = 1_000_000  # points are shared out in millionths, so that a file's tests sum exactly to its points


def share_points(points: float, weights: list[float]) -> list[float]:
    """Split `points` over tests in proportion to `weights`, each share a whole number of millionths, and
    the shares summing exactly to `points` (largest remainders get the leftover millionths)."""
    if not weights:
        return []
    total_weight = sum(weights) or 1.0
    units = round(points * MICRO)
    exact = [units * w / total_weight for w in weights]
    shares = [int(e) for e in exact]
    leftover = units - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return [s / MICRO for s in shares]


def _score(exercise: str, test_set: TestSet, outcomes: list[TestOutcome]) -> tuple[list[ScoredTest], float]:
    if test_set.points is not None:
        shares = share_points(float(test_set.points), [t.weight for t in outcomes])
    else:
        shares = [(test_set.points_per_test or 0.0) * t.weight for t in outcomes]
    scored = [ScoredTest(exercise, test_set.kind, t, share if t.passed else 0.0, share)
              for t, share in zip(outcomes, shares)]
    if test_set.points is not None:
        maximum = float(test_set.points)
    else:
        maximum = sum(s.max_points for s in scored)
    return scored, maximum


def grade_exercise(
    exercise: Exercise,
    catalog: Catalog,
    *,
    hidden: bool = True,
    chain: bool = False,
    source: str | None = None,
    seed: int | None = None,
    mutant: str | None = None,
    submission: str | None = None,
    exitfirst: bool = False,
    check_policy: bool = True,
) -> ExerciseReport:
    """Check the student's files against the policy, then run the exercise's public (and hidden) tests
    in one child process and score them. A file that breaks the policy is never run: every test of the
    exercise scores 0 and the reason names the file, the line and the rule."""
    plan, notes = source_for(exercise.id, chain=chain, source=source)
    refused = policy_violations(exercise, catalog, plan, submission) if check_policy else []
    refuse = "refused before running: " + policy.summary(refused) if refused else ""
    sets = exercise.test_sets(include_hidden=hidden)
    limits = limits_for(exercise, catalog)
    run = run_tests(exercise.id, [s.file for s in sets], plan, limits, seed=seed, mutant=mutant,
                    submission=submission, exitfirst=exitfirst, refuse=refuse)
    if refuse:
        run.reason = refuse
    report = ExerciseReport(exercise, plan, run, notes=list(notes) + run.notes)
    for test_set in sets:
        mine = [t for t in run.tests if t.id.split("::", 1)[0] == test_set.file]
        scored, maximum = _score(exercise.id, test_set, mine)
        report.tests += scored
        report.max_by_kind[test_set.kind] = maximum
    if run.contract and not run.import_failure:  # a module that does not import: report.import_failure_lines
        report.notes.append(
            f"exercises/{exercise.module}.py does not match its contract: " + "; ".join(run.contract)
        )
    return report
