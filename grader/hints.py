"""Hints: the handout's `## Hints` for what failed, and "looks like" diagnoses from mutant fingerprints.

Handouts end with a `## Hints` section that has one `### <function name>` subsection per function.
`hints_for_failures` picks the subsections that match the tests that failed last time (by the words of
the test's name, its parameters, and the names its failure message mentions).

A mutant's *fingerprint* is the set of public tests it fails when all of them run (not stopping at the
first failure). `mtdg verify --fingerprints` stores them in grader/fingerprints.json, with the mutant's
description and HINT and a digest of the public test file they were measured with. `diagnose` compares a
student's failing public tests with every fingerprint of the exercise and names the bug they look like.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from .catalog import Exercise
from .paths import project_root

if TYPE_CHECKING:
    from .grading import ExerciseReport

FINGERPRINTS_FILE = Path(__file__).with_name("fingerprints.json")


def fingerprints_file() -> Path:
    """grader/fingerprints.json, or the file MTDG_FINGERPRINTS names (tests, experiments)."""
    env = os.environ.get("MTDG_FINGERPRINTS")
    return Path(env) if env else FINGERPRINTS_FILE
MIN_PRECISION = 0.5  # at least this share of the student's failures must be the mutant's to say "looks like"


# ---------------------------------------------------------------------------------------------------
# Handout hints
# ---------------------------------------------------------------------------------------------------


def handout_hints(handout: Path) -> dict[str, str]:
    """heading -> text of every `### heading` under `## Hints` (in order); empty when there is none."""
    try:
        text = handout.read_text(encoding="utf-8")
    except OSError:
        return {}
    match = re.search(r"^## Hints[ \t]*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        return {}
    hints: dict[str, str] = {}
    for block in re.split(r"^### ", match.group(1), flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        hints[heading.strip().strip("`")] = body.strip()
    return hints


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _mentions(test_name: str, message: str, heading: str) -> bool:
    """Does a failing test (its name and message) concern the function `heading`?"""
    wanted = _tokens(heading)
    if not wanted:
        return False
    words = _tokens(test_name)
    for start in range(len(words) - len(wanted) + 1):
        window = words[start:start + len(wanted)]
        if window[:-1] == wanted[:-1] and window[-1].startswith(wanted[-1]) \
                and len(window[-1]) - len(wanted[-1]) <= 1:  # backpropagate(s), sort(ed) but not exp -> expression
            return True
    names = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", message))
    names |= set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", message))
    return heading.lower() in {n.lower().split(".")[-1] for n in names}


def hints_for_failures(hints: dict[str, str], failures: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """heading -> the failing tests it concerns, for the headings that some failure matches.

    `failures` are (test name, failure message). When several headings match a test, the longer ones win
    (relu_back over relu)."""
    chosen: dict[str, list[str]] = {}
    for test, message in failures:
        matching = [h for h in hints if _mentions(test, message, h)]
        matching = [h for h in matching if not any(h != o and h.lower() in o.lower() for o in matching)]
        for heading in matching:
            chosen.setdefault(heading, []).append(test)
    return {h: chosen[h] for h in hints if h in chosen}


# ---------------------------------------------------------------------------------------------------
# Mutant fingerprints
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    exercise: str
    mutant: str
    description: str
    hint: str
    fails: frozenset[str]


@dataclass(frozen=True)
class Diagnosis:
    fingerprint: Fingerprint
    precision: float  # the share of the student's failures that the mutant also has

    def __str__(self) -> str:
        text = f"looks like: {self.fingerprint.description}"
        if self.fingerprint.hint:
            text += f" — {self.fingerprint.hint}"
        return text


def public_tests_digest(exercise: Exercise) -> str:
    """A digest of the exercise's public test file: fingerprints measured with another version are stale."""
    if exercise.public is None:
        return ""
    try:
        data = (project_root() / exercise.public.file).read_bytes()
    except OSError:
        return ""
    return hashlib.sha256(data).hexdigest()[:16]


def load_fingerprints(path: Path | None = None) -> dict[str, dict]:
    path = path or fingerprints_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fingerprints_for(exercise: Exercise, path: Path | None = None) -> list[Fingerprint]:
    """The exercise's fingerprints, if they were measured with the public tests as they are now."""
    entry = load_fingerprints(path).get(exercise.id)
    if not isinstance(entry, dict) or entry.get("public_digest") != public_tests_digest(exercise):
        return []
    return [Fingerprint(exercise.id, name, m.get("description", name), m.get("hint", ""), frozenset(m.get("fails", [])))
            for name, m in sorted(entry.get("mutants", {}).items())]


def diagnose(exercise: Exercise, failing: Iterable[str], path: Path | None = None) -> list[Diagnosis]:
    """The known bugs that explain `failing` (public test names) best, at most 2.

    A mutant explains the failures when the student fails every test the mutant fails (its whole
    fingerprint: property tests may find a few more failures in a student's random run, never fewer for
    the same bug), and those are at least MIN_PRECISION of the student's failures."""
    failed = frozenset(failing)
    if not failed:
        return []
    found = []
    for fp in fingerprints_for(exercise, path):
        if fp.fails and fp.fails <= failed:
            precision = len(fp.fails) / len(failed)
            if precision >= MIN_PRECISION:
                found.append(Diagnosis(fp, precision))
    found.sort(key=lambda d: -d.precision)
    best = found[0].precision if found else 0.0
    return [d for d in found if d.precision >= best - 1e-9][:2]


NOT_A_BUG = ("not_implemented", "missing", "policy", "violation", "environment")
# How minitorch_dg.distributed.spawn says that a job of processes hung (JobFailed's message): a test that
# failed so says nothing about which values are wrong
HUNG_JOB = "did not finish within"


def hung(kind: str, message: str) -> bool:
    """A failure because the code never finished: the test's time limit, or a job of processes that hung."""
    return kind == "timeout" or HUNG_JOB in message


def failing_public_tests(report: "ExerciseReport") -> list[str]:
    """Names of the public tests that failed because of what the code computes (not a stub, a crash of
    the whole run, a refusal, a module that does not import or breaks its contract, or a hang): the pattern
    a fingerprint is compared with. The mutants' fingerprints are wrong values; a ring that deadlocks fails
    the same tests as one that sends the wrong chunk, and must not be told it looks like that one."""
    if report.run.reason or report.run.contract or report.not_started:
        return []
    return [s.test.name for s in report.of_kind("public")
            if s.test.outcome == "failed" and s.test.kind not in NOT_A_BUG
            and not hung(s.test.kind, s.test.message)]


def diagnose_report(report: "ExerciseReport") -> list[Diagnosis]:
    """`diagnose` on the public failures of a graded exercise."""
    return diagnose(report.exercise, failing_public_tests(report))


def write_fingerprints(measured: dict[str, dict], path: Path | None = None) -> Path:
    """Merge `measured` (exercise id -> entry) into the fingerprints file, keeping other exercises."""
    path = path or fingerprints_file()
    data = load_fingerprints(path)
    data.update(measured)
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path
