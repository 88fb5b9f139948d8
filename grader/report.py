"""What the student reads in the terminal: one table per run, then each failure with its first mismatch and a hint."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from .grading import ExerciseReport, ScoredTest

MAX_FAILURES_SHOWN = 8


def _color(code: str) -> str:
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return ""
    return code


def green(text: str) -> str:
    return f"{_color(chr(27) + '[32m')}{text}{_color(chr(27) + '[0m')}"


def red(text: str) -> str:
    return f"{_color(chr(27) + '[31m')}{text}{_color(chr(27) + '[0m')}"


def dim(text: str) -> str:
    return f"{_color(chr(27) + '[2m')}{text}{_color(chr(27) + '[0m')}"


def fmt_points(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def table(reports: Iterable[ExerciseReport]) -> str:
    """The score table: one row per exercise."""
    rows = [("exercise", "title", "public", "hidden", "points", "time")]
    total = maximum = 0.0
    for r in reports:
        pub = "{}/{}".format(*r.counts("public"))
        hid_ok, hid_n = r.counts("hidden")
        hid = f"{hid_ok}/{hid_n}" if "hidden" in r.max_by_kind else "-"
        rows.append((r.exercise.id, r.exercise.title[:44], pub, hid,
                     f"{fmt_points(r.points)}/{fmt_points(r.max_points)}", f"{r.run.seconds:.1f}s"))
        total += r.points
        maximum += r.max_points
    rows.append(("total", "", "", "", f"{fmt_points(total)}/{fmt_points(maximum)}", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _failure_lines(test: ScoredTest) -> list[str]:
    t = test.test
    label = "hidden " if test.kind == "hidden" else ""
    lines = [red(f"  ✗ {label}{t.name}")]
    for line in (t.message or t.outcome).splitlines()[:12]:
        lines.append(f"      {line}")
    if t.hint and t.kind not in ("not_implemented", "missing"):
        lines.append(dim(f"      hint: {t.hint}"))
    return lines


def details(report: ExerciseReport) -> str:
    """Notes, the abnormal end if any, and the failures of one exercise (grouped, capped)."""
    lines: list[str] = []
    ex = report.exercise
    for note in report.notes:
        lines.append(f"  note: {note}")
    if report.run.reason:
        lines.append(red(f"  {ex.id}: {report.run.reason}"))
    failing = [t for t in report.tests if not t.test.passed and t.test.outcome != "skipped"]
    if report.not_started:
        lines.append(f"  {ex.id} is not started yet: read {ex.handout}, write your code in exercises/{ex.module}.py,")
        lines.append(f"  then run `mtdg check {ex.id}` again. First stub called: {failing[0].test.message}")
        return "\n".join(lines)
    if report.run.reason:  # the reason says it for these: do not repeat it under every test
        failing = [t for t in failing if t.test.outcome != "missing" and t.test.kind not in ("policy", "violation")]
    shown = 0
    seen_messages: set[str] = set()
    for t in failing:
        key = t.test.message.split("\n")[0]
        if t.test.kind == "not_implemented" and key in seen_messages:
            continue
        seen_messages.add(key)
        if shown == MAX_FAILURES_SHOWN:
            lines.append(f"  ... and {len(failing) - shown} more failing tests")
            break
        lines += _failure_lines(t)
        shown += 1
    skipped = [t for t in report.tests if t.test.outcome == "skipped"]
    for t in skipped[:3]:
        lines.append(dim(f"  - skipped {t.test.name}: {t.test.message}"))
    return "\n".join(lines)


def summary_line(report: ExerciseReport) -> str:
    """'ex01: public 35/35 passed; 30 hidden tests run (30 passed)'."""
    pub_ok, pub_n = report.counts("public")
    text = f"{report.exercise.id}: public {pub_ok}/{pub_n} passed"
    if "hidden" in report.max_by_kind:
        hid_ok, hid_n = report.counts("hidden")
        text += f"; {hid_n} hidden tests run"
    if report.run.reason:
        text += f" — {report.run.reason}"
    return text
