"""The contract between an exercise and its solution: the same public names, with the same signatures.

A stub in exercises/ and its reference in solutions/ must offer the same functions and classes (the
tests call them by name), with the same parameters. `mtdg verify` reports a mismatch as a problem of the
course; a grading child reports it as a note about the student's module (a renamed or deleted function).
Only the grader and the tests use this: the framework never compares modules.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from minitorch_dg import course
from minitorch_dg.errors import ContractError

from .worker import class_members, describe_api, public_api, signature_text  # noqa: F401 - the API as data

# How a grading child reports an exercise module that does not import (a NameError or ImportError at module
# level, an exception in its top-level code): the first of its contract problems starts with this.
IMPORT_FAILED = "importing the module failed"


def contract_problems(student: ModuleType, reference: ModuleType) -> list[str]:
    """Every way in which `student` does not offer the names and signatures of `reference`, one line each
    (empty when it offers them all; extra names in `student` are fine)."""
    return api_problems(describe_api(student), describe_api(reference))


def api_problems(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """`contract_problems` on APIs described as data (grader/worker.py's `describe_api`): `mine` may come
    from a grading worker, so anything malformed in it counts as missing."""
    problems: list[str] = []
    for name, ref in theirs.items():
        got = mine.get(name)
        if not isinstance(got, dict):
            problems.append(f"`{name}` is missing (the tests call it; do not rename or delete it)")
            continue
        if got.get("kind") != ref["kind"]:
            problems.append(f"`{name}` must be a {ref['kind']}")
        elif ref["kind"] == "class":
            got_members = got.get("members") if isinstance(got.get("members"), dict) else {}
            for member, sig in ref["members"].items():
                if member not in got_members:
                    problems.append(f"`{name}.{member}` is missing")
                elif got_members[member] != sig:
                    problems.append(f"`{name}.{member}` has signature {str(got_members[member])[:200]}, expected {sig}")
        elif got.get("signature") != ref["signature"]:
            problems.append(f"`{name}` has signature {str(got.get('signature'))[:200]}, expected {ref['signature']}")
    return problems


def reference_api(exercise: str) -> dict[str, Any]:
    """The reference's API as data, for a judging process: the module is loaded under a private name and
    forgotten at once, so that exercises.exNN and solutions.exNN never appear in sys.modules there.
    Empty when this copy has no solutions."""
    import importlib.util
    import os
    import sys

    ex_id = course.normalize_id(exercise)
    name = course.module_name(ex_id)
    spec = importlib.util.find_spec("solutions") if course.solutions_available() else None
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = next((os.path.join(d, f"{name}.py") for d in folders if os.path.isfile(os.path.join(d, f"{name}.py"))), None)
    if path is None:
        return {}
    private = f"mtdg_reference_{name}"
    module_spec = importlib.util.spec_from_file_location(private, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[private] = module  # dataclasses and typing look their module up while it runs
    try:
        module_spec.loader.exec_module(module)
        return describe_api(module)
    finally:
        sys.modules.pop(private, None)


def import_exercise(exercise: str) -> ModuleType:
    """Import the exercise's module from exercises/ (or the submission that shadows it)."""
    return importlib.import_module(f"exercises.{course.module_name(course.normalize_id(exercise))}")


def check_contract(exercise: str) -> list[str]:
    """Compare exercises/exNN with solutions/exNN (importing both); return the problems, empty when they
    agree or when this copy has no solutions (a student release has nothing to compare with)."""
    ex_id = course.normalize_id(exercise)
    if not course.solutions_available():
        return []
    name = course.module_name(ex_id)
    student = importlib.import_module(f"exercises.{name}")
    reference = importlib.import_module(f"solutions.{name}")
    return contract_problems(student, reference)


def assert_contract(exercise: str) -> None:
    """Raise ContractError naming every mismatch between the exercise module and its solution."""
    problems = check_contract(exercise)
    if problems:
        ex_id = course.normalize_id(exercise)
        raise ContractError(
            f"exercises/{course.module_name(ex_id)}.py does not match its contract: " + "; ".join(problems)
        )
