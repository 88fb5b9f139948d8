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


def record(report: ExerciseReport, command: str) -> None:
    """Remember the outcome of `report` (public counts from `check`, both kinds from `grade`)."""
    data = load()
    entry = data.get(report.exercise.id, {})
    pub_ok, pub_n = report.counts("public")
    entry.update({
        "command": command,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "status": report.status,
        "public": [pub_ok, pub_n],
        "points": report.points,
        "max_points": report.max_points,
        "reason": report.run.reason,
        "failed": [
            {"test": t.test.name, "kind": t.kind, "message": t.test.message[:500], "hint": t.test.hint}
            for t in report.tests if not t.test.passed and t.test.outcome != "skipped"
        ][:50],
    })
    if "hidden" in report.max_by_kind:
        entry["hidden"] = list(report.counts("hidden"))
    elif entry.get("status") == "passing public" and entry.get("hidden") and entry["hidden"][0] == entry["hidden"][1]:
        entry["status"] = "passing hidden"
    data[report.exercise.id] = entry
    path = state_dir() / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)
