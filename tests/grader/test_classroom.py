"""`mtdg classroom`: the GitHub Classroom workflow has one graded step per catalog exercise, with its points."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.catalog import load
from grader.classroom import public_points
from tests.grader.conftest import Mtdg


def parse_yaml_subset(text: str) -> Any:
    """Parse the block-style YAML subset the workflow uses (mappings, `- ` sequences, plain or JSON-quoted
    scalars), failing loudly on anything else: tabs, odd indentation, a line that is not `key: value`."""
    lines = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert not any("\t" in line for line in text.splitlines()), "tabs are not allowed in YAML indentation"

    def scalar(raw: str) -> Any:
        if raw.startswith('"'):
            return json.loads(raw)
        if raw.lstrip("-").isdigit():
            return int(raw)
        return raw

    def block(start: int, indent: int) -> tuple[Any, int]:
        if lines[start][1].startswith("- "):
            items: list[Any] = []
            i = start
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                body = lines[i][1][2:]
                if ":" in body and not body.startswith('"'):
                    # a mapping that starts on the dash line: re-read it at the deeper indentation
                    lines[i] = (indent + 2, body)
                    value, i = block(i, indent + 2)
                else:
                    value, i = scalar(body), i + 1
                items.append(value)
            return items, i
        mapping: dict[str, Any] = {}
        i = start
        while i < len(lines) and lines[i][0] == indent:
            key, sep, rest = lines[i][1].partition(":")
            assert sep and not lines[i][1].startswith("- "), f"not a `key: value` line: {lines[i][1]!r}"
            assert key not in mapping, f"duplicate key {key!r}"
            rest = rest.strip()
            if rest:
                mapping[key.strip("'\"")] = scalar(rest)
                i += 1
            else:
                assert i + 1 < len(lines) and lines[i + 1][0] > indent, f"{key} has no value"
                mapping[key.strip("'\"")], i = block(i + 1, lines[i + 1][0])
        assert i == len(lines) or lines[i][0] < indent, f"bad indentation at {lines[i][1]!r}"
        return mapping, i

    document, end = block(0, 0)
    assert end == len(lines)
    return document


def test_the_workflow_has_one_step_per_exercise_with_its_points(mtdg: Mtdg, tmp_path: Path) -> None:
    result = mtdg("classroom", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = parse_yaml_subset((tmp_path / ".github" / "workflows" / "classroom.yml").read_text())
    assert workflow["on"] == ["push", "repository_dispatch"] and workflow["permissions"]["checks"] == "write"
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graded = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader@")]
    catalog = load()
    assert [s["id"] for s in graded] == [ex.id for ex in catalog.exercises]
    for ex, step in zip(catalog.exercises, graded):
        assert step["with"]["command"] == f"mtdg check {ex.id}"
        assert step["with"]["max-score"] == public_points(ex) and public_points(ex) > 0
        assert step["with"]["timeout"] >= ex.timeout / 60
    install = [s for s in steps if "pip install" in str(s.get("run", ""))]
    assert install and '-e ".[test]"' in install[0]["run"]
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == ",".join(ex.id for ex in catalog.exercises)
    for ex in catalog.exercises:
        assert reporter["env"][f"{ex.id.upper()}_RESULTS"] == f"${{{{steps.{ex.id}.outputs.result}}}}"


def test_the_subset_parser_rejects_broken_indentation() -> None:
    with pytest.raises(AssertionError, match="bad indentation"):
        parse_yaml_subset("a:\n  b: 1\n c: 2\n")
    assert parse_yaml_subset("a:\n  - x\n  - k: 1\n    j: \"s\"\n") == {"a": ["x", {"k": 1, "j": "s"}]}
