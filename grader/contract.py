"""The contract between an exercise and its solution: the same public names, with the same signatures.

A stub in exercises/ and its reference in solutions/ must offer the same functions and classes (the
tests call them by name), with the same parameters. `mtdg verify` reports a mismatch as a problem of the
course; a grading child reports it as a note about the student's module (a renamed or deleted function).
Only the grader and the tests use this: the framework never compares modules.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

from minitorch_dg import course
from minitorch_dg.errors import ContractError

# How a grading child reports an exercise module that does not import (a NameError or ImportError at module
# level, an exception in its top-level code): the first of its contract problems starts with this.
IMPORT_FAILED = "importing the module failed"


def public_api(module: ModuleType) -> dict[str, Any]:
    """Functions and classes that `module` itself defines and does not hide with a leading underscore.

    Names a module imports (say, the element functions ex07 takes from the framework) are not its own
    API: an object counts only when its `__module__` is the module's name."""
    api: dict[str, Any] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__:
            api[name] = value
    return api


def signature_text(obj: Any) -> str:
    """A callable's parameters as one comparable line: names, `*args`, `**kwargs`, `kw:` for keyword-only
    parameters and `=default` for defaults; "(?)" when Python cannot tell (a builtin, say)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(?)"
    params = []
    for p in sig.parameters.values():
        text = p.name if p.kind is not p.VAR_POSITIONAL else "*" + p.name
        if p.kind is p.VAR_KEYWORD:
            text = "**" + p.name
        if p.kind is p.KEYWORD_ONLY:
            text = "kw:" + text
        if p.default is not p.empty:
            text += f"={p.default!r}"
        params.append(text)
    return "(" + ", ".join(params) + ")"


def class_members(cls: type) -> dict[str, str]:
    """The public methods of `cls` (and `__init__`), each with its signature_text; static and class
    methods count by their underlying function."""
    out: dict[str, str] = {}
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if inspect.isfunction(func):
            out[name] = signature_text(func)
    return out


def contract_problems(student: ModuleType, reference: ModuleType) -> list[str]:
    """Every way in which `student` does not offer the names and signatures of `reference`, one line each
    (empty when it offers them all; extra names in `student` are fine)."""
    problems: list[str] = []
    mine, theirs = public_api(student), public_api(reference)
    for name, ref in theirs.items():
        if name not in mine:
            problems.append(f"`{name}` is missing (the tests call it; do not rename or delete it)")
            continue
        got = mine[name]
        if inspect.isclass(ref) != inspect.isclass(got):
            problems.append(f"`{name}` must be a {'class' if inspect.isclass(ref) else 'function'}")
        elif inspect.isclass(ref):
            ref_members, got_members = class_members(ref), class_members(got)
            for member, sig in ref_members.items():
                if member not in got_members:
                    problems.append(f"`{name}.{member}` is missing")
                elif got_members[member] != sig:
                    problems.append(f"`{name}.{member}` has signature {got_members[member]}, expected {sig}")
        elif signature_text(got) != signature_text(ref):
            problems.append(f"`{name}` has signature {signature_text(got)}, expected {signature_text(ref)}")
    return problems


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
