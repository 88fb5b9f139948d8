"""Result files: Gradescope's results.json, a plain JSON report, and JUnit XML for CI dashboards.

Gradescope's schema (https://gradescope-autograders.readthedocs.io/en/latest/specs/): top level `score`,
`execution_time`, `output`, `visibility`, `stdout_visibility`, `tests`; each test has `name`, `number`,
`score`, `max_score`, `status` ("passed"/"failed"), `output`, `visibility`.

Every exercise's test scores sum exactly to its catalog points (grading.share_points deals them out in
millionths), tests are numbered per exercise (order.n), and the top-level score is the sum of the
tests' scores. An optional part's tests (kind "optional") count in the score on top of the exercise's
points: set the Gradescope assignment's total to the required points (`mtdg list` prints both).
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .grading import ExerciseReport
from .report import import_failure_text, summary_line

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _atomic_write(path: str | os.PathLike[str], text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def _test_output(report: ExerciseReport, scored: Any) -> str:
    t = scored.test
    parts = [t.message] if t.message else []
    if t.hint and not t.passed and t.kind not in ("not_implemented", "missing"):
        parts.append(f"hint: {t.hint}")
    return "\n".join(parts)


def gradescope(reports: Sequence[ExerciseReport], *, hidden_visibility: str, seconds: float,
               extra_output: str = "") -> dict[str, Any]:
    """A results.json document for Gradescope."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden visibility must be one of {VISIBILITIES}")
    tests = []
    for report in reports:
        ex = report.exercise
        number = 0  # test numbers restart at each exercise: ex02's are 2.1, 2.2, ...
        if report.run.reason or report.run.contract:
            tests.append({
                "name": f"{ex.id} — how the run went",
                "score": 0.0, "max_score": 0.0, "status": "failed",
                "output": "\n".join([text for text in (report.run.reason, import_failure_text(report)) if text]
                                    + report.notes),
                "visibility": "visible",
            })
        for scored in report.tests:
            number += 1
            tests.append({
                "name": f"{ex.id} {scored.kind} · {scored.test.name}",
                "number": f"{ex.order}.{number}",
                "score": round(scored.points, 6),
                "max_score": round(scored.max_points, 6),
                "status": "passed" if scored.test.passed else "failed",
                "output": _test_output(report, scored),
                "visibility": hidden_visibility if scored.kind == "hidden" else "visible",
            })
    output = "\n".join(summary_line(r) for r in reports)
    if extra_output:
        output = extra_output + "\n" + output
    return {
        "score": round(sum(r.points + r.optional_points for r in reports), 6),
        "execution_time": round(seconds, 2),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def plain_json(reports: Sequence[ExerciseReport], *, seed: int | None) -> dict[str, Any]:
    """Everything we know, for scripts: per exercise, per test."""
    return {
        "seed": seed,
        "score": round(sum(r.points for r in reports), 6),
        "max_score": round(sum(r.max_points for r in reports), 6),
        "optional_score": round(sum(r.optional_points for r in reports), 6),
        "exercises": [
            {
                "id": r.exercise.id, "title": r.exercise.title, "source": r.source, "status": r.status,
                "points": round(r.points, 6), "max_points": r.max_points,
                "optional_points": round(r.optional_points, 6), "reason": r.run.reason,
                "contract": r.run.contract, "notes": r.notes, "seconds": round(r.run.seconds, 2),
                "peak_memory_mb": r.run.peak_memory_mb, "violations": r.run.violations,
                "tests": [
                    {"id": s.test.id, "kind": s.kind, "outcome": s.test.outcome, "failure": s.test.kind,
                     "message": s.test.message, "hint": s.test.hint, "points": s.points,
                     "max_points": s.max_points}
                    for s in r.tests
                ],
            }
            for r in reports
        ],
    }


def junit(reports: Sequence[ExerciseReport]) -> str:
    """JUnit XML: one testsuite per exercise, one testcase per test."""
    root = ET.Element("testsuites")
    for r in reports:
        failures = sum(not s.test.passed and s.test.outcome != "skipped" for s in r.tests)
        suite = ET.SubElement(root, "testsuite", name=r.exercise.id, tests=str(len(r.tests)),
                              failures=str(failures), time=f"{r.run.seconds:.2f}")
        for s in r.tests:
            case = ET.SubElement(suite, "testcase", classname=f"{r.exercise.id}.{s.kind}", name=s.test.name,
                                 time=f"{s.test.duration:.3f}")
            if s.test.outcome == "skipped":
                ET.SubElement(case, "skipped", message=s.test.message[:200])
            elif not s.test.passed:
                node = ET.SubElement(case, "failure", message=s.test.message.split("\n")[0][:200])
                node.text = s.test.message
    return ET.tostring(root, encoding="unicode")


def write_json(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    _atomic_write(path, json.dumps(document, indent=2) + "\n")


def write_text(path: str | os.PathLike[str], text: str) -> None:
    _atomic_write(path, text)
