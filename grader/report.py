"""What the student reads in the terminal: one table per run, then each failure with its first mismatch and a hint."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from tabulate import SEPARATING_LINE, tabulate

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


def render(header: tuple[str, ...], rows: Iterable[tuple[str, ...]], total: tuple[str, ...] | None = None) -> str:
    """A plain-text table (tabulate's "simple" format): a header, a rule, the rows, and a total under a rule.
    Cells are shown as written (no number parsing: "10/15" stays text)."""
    body: list[object] = list(rows)
    if total is not None:
        body += [SEPARATING_LINE, total]
    text = tabulate(body, headers=header, tablefmt="simple", disable_numparse=True)
    return "\n".join(line.rstrip() for line in text.splitlines())


def points_cell(scored: float, maximum: float, full: float) -> str:
    """'15/15' when every test of the exercise ran; '10/10 public (of 15)' after public tests only."""
    if maximum < full - 1e-9:
        return f"{fmt_points(scored)}/{fmt_points(maximum)} public (of {fmt_points(full)})"
    return f"{fmt_points(scored)}/{fmt_points(full)}"


def table(reports: Iterable[ExerciseReport]) -> str:
    """The score table: one row per exercise, and an optional-part column when one of them has one."""
    reports = list(reports)
    with_optional = any(r.exercise.optional is not None for r in reports)
    header = ("exercise", "title", "public", "hidden", "points") + (("optional",) if with_optional else ()) + ("time",)
    rows: list[tuple[str, ...]] = []
    total = maximum = full = bonus = bonus_max = 0.0
    for r in reports:
        pub = "{}/{}".format(*r.counts("public"))
        hid_ok, hid_n = r.counts("hidden")
        hid = f"{hid_ok}/{hid_n}" if "hidden" in r.max_by_kind else "not run"
        row = (r.exercise.id, r.exercise.title, pub, hid, points_cell(r.points, r.max_points, r.full_points))
        if with_optional:
            has = r.exercise.optional is not None
            row += (f"{fmt_points(r.optional_points)}/{fmt_points(r.exercise.optional_points)}" if has else "-",)
            bonus += r.optional_points
            bonus_max += r.exercise.optional_points
        rows.append(row + (f"{r.run.seconds:.1f}s",))
        total += r.points
        maximum += r.max_points
        full += r.full_points
    last = ("total", "", "", "", points_cell(total, maximum, full))
    last += ((f"{fmt_points(bonus)}/{fmt_points(bonus_max)}",) if with_optional else ()) + ("",)
    lines = [render(header, rows, last)]
    if with_optional:
        lines.append(dim("optional: points of an exercise's optional part, on top of its points (see `mtdg list`)"))
    return "\n".join(lines)


def _failure_lines(test: ScoredTest) -> list[str]:
    t = test.test
    label = f"{test.kind} " if test.kind in ("hidden", "optional") else ""
    lines = [red(f"  ✗ {label}{t.name}")]
    for line in (t.message or t.outcome).splitlines()[:12]:
        lines.append(f"      {line}")
    if t.hint and t.kind not in ("not_implemented", "missing"):
        lines.append(dim(f"      hint: {t.hint}"))
    return lines


def import_failure_text(report: ExerciseReport) -> str:
    """'ex02_autodiff.py does not import: NameError: ... (at ...)', or "" when the module imported."""
    error = report.run.import_failure
    return f"{report.exercise.module}.py does not import: {error}" if error else ""


def stub_name(message: str) -> str:
    """'Inv.forward' out of a NotImplementedYet message ("ex02: `Inv.forward` is not implemented yet ...")."""
    found = re.search(r"`([^`]+)` is not implemented", message)
    return found.group(1) if found else message.split("\n")[0][:60]


def details(report: ExerciseReport, command: str = "check") -> str:
    """Notes, the abnormal end if any, and the failures of one exercise (grouped, capped). `command` is
    the mtdg command to suggest running again (check or grade)."""
    lines: list[str] = []
    ex = report.exercise
    for note in report.notes:
        lines.append(f"  note: {note}")
    if report.run.reason:
        lines.append(red(f"  {ex.id}: {report.run.reason}"))
    failing = [t for t in report.tests if not t.test.passed and t.test.outcome != "skipped"]
    if report.run.import_failure:  # every test failed on the same import: say it once, with what to do
        lines.append(red(f"  {ex.id}: {import_failure_text(report)}"))
        lines.append(f"  No test can use it until it imports ({len(failing)} failed on this): fix that line, "
                     f"then run `mtdg {command} {ex.id}` again.")
        return "\n".join(lines)
    if report.not_started:
        lines.append(f"  {ex.id} is not started yet: read {ex.handout}, write your code in exercises/{ex.module}.py,")
        lines.append(f"  then run `mtdg {command} {ex.id}` again. First stub called: `{stub_name(failing[0].test.message)}`.")
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
    if "optional" in report.max_by_kind:
        opt_ok, opt_n = report.counts("optional")
        text += f"; optional part {opt_ok}/{opt_n} passed"
    if report.run.reason:
        text += f" — {report.run.reason}"
    elif report.run.import_failure:
        text += f" — {import_failure_text(report)}"
    return text
