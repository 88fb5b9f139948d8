"""`mtdg classroom`: a GitHub Classroom workflow with one autograding step per exercise.

The workflow installs the student repository once, then runs `mtdg check EX` for every exercise of the
catalog through classroom-resources/autograding-command-grader (all or nothing per step: exit code 0
gives `max-score`), and reports the total with classroom-resources/autograding-grading-reporter. Public
tests only: a student repository has no hidden tests (use the Gradescope bundle for those).

The YAML is written as text (the structure is fixed and small), so the grader needs no YAML library.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .catalog import Catalog, Exercise

WORKFLOW_PATH = Path(".github") / "workflows" / "classroom.yml"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def public_points(exercise: Exercise) -> int:
    """The points of the exercise's public tests, as the whole number the command grader accepts."""
    points = exercise.public.points if exercise.public and exercise.public.points is not None else 0
    return int(math.floor(points + 1e-9))


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def step_id(exercise: Exercise) -> str:
    return exercise.id


def workflow(catalog: Catalog, *, python: str = "3.11") -> str:
    """The text of .github/workflows/classroom.yml for every exercise of `catalog`."""
    torch_index = str(catalog.extra.get("torch_index_url", DEFAULT_TORCH_INDEX))
    lines = [
        f"# GitHub Classroom autograding for {catalog.title}: written by `mtdg classroom`; edit the catalog, not this file.",
        "name: Autograding Tests",
        "on:",
        "  - push",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: {_quote(python)}",
        "      - name: Install the course (PyTorch CPU build)",
        f"        run: python -m pip install --extra-index-url {torch_index} -e \".[test]\"",
    ]
    for ex in catalog.exercises:
        minutes = max(1, math.ceil(ex.timeout / 60) + 1)
        lines += [
            f"      - name: {_quote(f'{ex.id} {ex.title}')}",
            f"        id: {step_id(ex)}",
            f"        uses: {COMMAND_GRADER}",
            "        with:",
            f"          test-name: {_quote(f'{ex.id} {ex.title}')}",
            "          setup-command: \"\"",
            f"          command: {_quote(f'mtdg check {ex.id}')}",
            f"          timeout: {minutes}",
            f"          max-score: {public_points(ex)}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
    ]
    for ex in catalog.exercises:
        lines.append(f"          {step_id(ex).upper()}_RESULTS: \"${{{{steps.{step_id(ex)}.outputs.result}}}}\"")
    lines += [
        "        with:",
        f"          runners: {','.join(step_id(ex) for ex in catalog.exercises)}",
    ]
    return "\n".join(lines) + "\n"


def inexact_points(catalog: Catalog) -> list[str]:
    """Exercises whose public points the workflow cannot state exactly: not a whole number (the command
    grader rounds down), or given per test (the workflow gives such a step 0 points)."""
    out = []
    for ex in catalog.exercises:
        if ex.public is None:
            continue
        if ex.public.points is None:
            out.append(f"{ex.id} (points_per_test)")
        elif ex.public.points != public_points(ex):
            out.append(f"{ex.id} ({ex.public.points:g} points)")
    return out


def write_workflow(folder: Path, catalog: Catalog) -> Path:
    """Write the workflow under `folder` and return its path."""
    target = folder / WORKFLOW_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(workflow(catalog), encoding="utf-8")
    return target
