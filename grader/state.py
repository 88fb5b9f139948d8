"""The grader's memory of the last run of each exercise, for `mtdg progress` (and hints)."""

from __future__ import annotations

import json
import time
from typing import Any

from .grading import ExerciseReport
from .paths import state_dir

STATE_FILE = "progress.json"


def load() -> dict[str, Any]:
    path = state_dir() / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _points(report: ExerciseReport, kind: str) -> list[float]:
    """[points scored, points possible] of one kind of tests."""
    return [sum(t.points for t in report.of_kind(kind)), report.max_by_kind.get(kind, 0.0)]


def record(report: ExerciseReport, command: str, looks_like: list[str] | None = None) -> None:
    """Remember the outcome of `report` (public counts from `check`, both kinds from `grade`) and the known
    bugs its failures look like."""
    data = load()
    entry = data.get(report.exercise.id, {})
    pub_ok, pub_n = report.counts("public")
    entry.update({
        "command": command,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "status": report.status,
        "public": [pub_ok, pub_n],
        "public_points": _points(report, "public"),
        "reason": report.run.reason,
        "import_failure": report.run.import_failure,
        "looks_like": list(looks_like or []),
        "failed": [
            {"test": t.test.name, "kind": t.kind, "failure": t.test.kind, "message": t.test.message[:500],
             "hint": t.test.hint}
            for t in report.tests if not t.test.passed and t.test.outcome != "skipped"
        ][:50],
    })
    if "hidden" in report.max_by_kind:
        entry["hidden"] = list(report.counts("hidden"))
        entry["hidden_points"] = _points(report, "hidden")
        entry["hidden_when"] = entry["when"]
    elif entry.get("status") == "passing public" and entry.get("hidden") and entry["hidden"][0] == entry["hidden"][1]:
        entry["status"] = "passing hidden"
    if "optional" in report.max_by_kind:
        entry["optional"] = list(report.counts("optional"))
        entry["optional_points"] = _points(report, "optional")
    kinds = [entry.get("public_points"), entry.get("hidden_points")]
    entry["points"] = sum(k[0] for k in kinds if k)
    entry["max_points"] = report.exercise.points
    data[report.exercise.id] = entry
    path = state_dir() / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)
