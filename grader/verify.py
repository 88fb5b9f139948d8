"""`mtdg verify`: check the course itself, exercise by exercise.

1. contract   exercises/exNN and solutions/exNN export the same names with the same signatures
2. solutions  every public and hidden test passes on the reference
3. stubs      every test fails on the untouched stub (a test that passes there checks nothing)
4. mutants    every mutant in grader/mutants/<module>/ is caught by at least one test (public first)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minitorch_dg import course

from .catalog import Catalog, Exercise
from .contract import check_contract
from .hints import fingerprints_for, hung, public_tests_digest
from .mutants import Mutant, MutantError, mutants_for
from .runner import RunResult, limits_for, run_mutant_plan, run_tests


@dataclass
class MutantVerdict:
    mutant: Mutant
    caught_by: str = ""  # "public test_x" / "hidden test_y" / "" when not caught
    problem: str = ""  # the mutant itself is broken
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.caught_by) and not self.problem


@dataclass
class ExerciseVerdict:
    exercise: Exercise
    contract: list[str] = field(default_factory=list)
    solutions: RunResult | None = None
    stubs: RunResult | None = None
    mutants: list[MutantVerdict] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"contract: {p}" for p in self.contract]
        if self.solutions is not None:
            if self.solutions.reason:
                out.append(f"solutions: {self.solutions.reason}")
            for t in self.solutions.tests:
                if not t.passed and t.outcome != "skipped":
                    out.append(f"solutions: {t.name} fails on the reference: {t.message.splitlines()[0] if t.message else t.outcome}")
        if self.stubs is not None:
            if not self.stubs.tests:
                out.append(f"stubs: no tests ran ({self.stubs.reason})")
            for t in self.stubs.tests:
                if t.passed:
                    out.append(f"stubs: {t.name} passes on the untouched stub, so it cannot fail")
        for m in self.mutants:
            if m.problem:
                out.append(f"mutant {m.mutant.name}: broken ({m.problem})")
            elif not m.caught_by:
                out.append(f"mutant {m.mutant.name} ({m.mutant.description}) is not caught by any test")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems()


def _first_failure(run: RunResult, kind: str) -> str:
    for t in run.tests:
        if t.outcome == "failed":
            return f"{kind} {t.name}"
    if run.reason and any(t.outcome == "passed" for t in run.tests):
        return f"{kind} run ({run.reason})"
    return ""


SUSPECTS = 3  # how many of a mutant's known failing tests run first


def _suspect_tests(exercise: Exercise, mutant: Mutant) -> list[str]:
    """The node ids of `_known_failures` in the exercise's public test file (none without one)."""
    if exercise.public is None:
        return []
    return [f"{exercise.public.file}::{name}" for name in _known_failures(exercise, mutant)]


def _known_failures(exercise: Exercise, mutant: Mutant) -> list[str]:
    """Public tests that failed on `mutant` when its fingerprint was taken (only while the fingerprints
    match the public tests as they are now), at most SUSPECTS of them."""
    for fp in fingerprints_for(exercise):
        if fp.mutant == mutant.name:
            return sorted(fp.fails)[:SUSPECTS]
    return []


def check_mutants(exercise: Exercise, catalog: Catalog, mutants: list[Mutant], seed: int | None) -> list[MutantVerdict]:
    """`check_mutant` for each of `mutants`. The known failing tests of every mutant run first in one grading
    child (grader/runner.py `run_mutant_plan`: pytest and torch load once, each mutant gets a worker of its
    own); a mutant they do not catch, or whose run did not finish, then goes through `check_mutant` by itself."""
    verdicts = [MutantVerdict(m) for m in mutants]
    planned: list[tuple[int, list[str]]] = []
    for index, verdict in enumerate(verdicts):
        try:
            verdict.mutant.source()
        except MutantError as error:
            verdict.problem = str(error)
            continue
        suspects = _suspect_tests(exercise, verdict.mutant)
        if suspects:
            planned.append((index, suspects))
    tried: set[int] = set()  # mutants whose suspects ran in the plan
    if len(planned) > 1:
        runs = run_mutant_plan(exercise.id, [(str(verdicts[i].mutant.path), tests) for i, tests in planned],
                               "solutions", limits_for(exercise, catalog), seed=seed)
        for (index, _), run in zip(planned, runs):
            if run is not None:
                tried.add(index)
                verdicts[index].seconds += run.seconds
                verdicts[index].caught_by = _first_failure(run, "public")
    for index, verdict in enumerate(verdicts):
        if not verdict.problem and not verdict.caught_by:
            verdicts[index] = check_mutant(exercise, catalog, verdict.mutant, seed, suspects=index not in tried,
                                           seconds=verdict.seconds)
    return verdicts


def check_mutant(exercise: Exercise, catalog: Catalog, mutant: Mutant, seed: int | None, *, suspects: bool = True,
                 seconds: float = 0.0) -> MutantVerdict:
    """Run public tests, then hidden ones, against the mutant until one test fails.

    The tests that caught the mutant when its fingerprint was taken run first, by themselves: most mutants
    are caught there in one short run (not with `suspects=False`: they ran already, for `seconds`). Should
    they all pass (a test changed since), the whole public file and then the hidden one run, as without
    fingerprints."""
    verdict = MutantVerdict(mutant, seconds=seconds)
    try:
        mutant.source()
    except MutantError as error:
        verdict.problem = str(error)
        return verdict

    def attempt(tests: list[str], kind: str) -> RunResult:
        """Run `tests` against the mutant until one fails; record the time and what caught it."""
        run = run_tests(exercise.id, tests, "solutions", limits_for(exercise, catalog), seed=seed,
                        mutant=str(mutant.path), exitfirst=True, contract=False)
        verdict.seconds += run.seconds
        verdict.caught_by = _first_failure(run, kind)
        return run

    known = _suspect_tests(exercise, mutant) if suspects else []
    if known:
        attempt(known, "public")
        if verdict.caught_by:
            return verdict
    for test_set in exercise.test_sets():
        run = attempt([test_set.file], test_set.kind)
        if not run.tests:
            verdict.problem = f"no test ran: {run.reason}; log: {run.log_tail[-300:]}"
            return verdict
        if verdict.caught_by:
            return verdict
    return verdict


def fingerprint(exercise: Exercise, catalog: Catalog, mutant: Mutant, seed: int | None) -> list[str]:
    """The public tests `mutant` fails when every one of them runs (its fingerprint), sorted by name.

    Hypothesis runs derandomized here, so that the fingerprint does not depend on the draw. A hang is left
    out, as `hints.failing_public_tests` leaves it out of a student's failures: it says nothing of the bug."""
    if exercise.public is None:
        return []
    run = run_tests(exercise.id, [exercise.public.file], "solutions", limits_for(exercise, catalog), seed=seed,
                    mutant=str(mutant.path), contract=False, env={"HYPOTHESIS_PROFILE": "ci"})
    return sorted(t.name for t in run.tests if t.outcome in ("failed", "missing") and not hung(t.kind, t.message))


def fingerprint_exercise(exercise: Exercise, catalog: Catalog, seed: int | None) -> dict[str, object]:
    """The fingerprints entry of one exercise: the digest of its public tests and each mutant's failing set."""
    mutants = {}
    for mutant in mutants_for(exercise.module):
        mutants[mutant.name] = {"description": mutant.description, "hint": mutant.hint,
                                "fails": fingerprint(exercise, catalog, mutant, seed)}
    return {"public_digest": public_tests_digest(exercise), "mutants": mutants}


def verify_exercise(
    exercise: Exercise,
    catalog: Catalog,
    *,
    solutions: bool = True,
    stubs: bool = True,
    mutants: bool = True,
    only_mutant: str | None = None,
    seed: int | None = None,
) -> ExerciseVerdict:
    verdict = ExerciseVerdict(exercise)
    if not course.solutions_available():
        verdict.contract = ["this copy has no solutions/: verify is for the instructors' repository"]
        return verdict
    verdict.contract = check_contract(exercise.id)
    files = [s.file for s in exercise.test_sets()]
    limits = limits_for(exercise, catalog)
    if solutions:
        verdict.solutions = run_tests(exercise.id, files, "solutions", limits, seed=seed, contract=False)
    if stubs:
        verdict.stubs = run_tests(exercise.id, files, f"solutions,{exercise.id}=exercises", limits, seed=seed,
                                  contract=False)
    if mutants:
        chosen = [m for m in mutants_for(exercise.module) if not only_mutant or m.name == only_mutant]
        verdict.mutants = check_mutants(exercise, catalog, chosen, seed)
    return verdict
