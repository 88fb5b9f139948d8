"""The contract check of the grader (grader/contract.py): a stub offers its reference's names and signatures."""

from __future__ import annotations

import types

import pytest

from grader.contract import assert_contract, check_contract, contract_problems, public_api
from minitorch_dg import course
from minitorch_dg.errors import ContractError


def test_the_shipped_exercises_keep_their_contract() -> None:
    for ex in course.exercise_ids():
        assert check_contract(ex) == [], ex
        assert_contract(ex)


def _module(name: str, code: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(code, module.__dict__)
    for value in module.__dict__.values():
        if isinstance(value, type) or callable(value):
            try:
                value.__module__ = name
            except (AttributeError, TypeError):
                pass
    return module


def test_contract_problems_are_reported_by_name() -> None:
    reference = _module("ref", "def f(x, y): pass\ndef g(a): pass\nclass C:\n    @staticmethod\n    def forward(ctx, a): pass\n")
    student = _module("stu", "def f(x): pass\nclass C:\n    @staticmethod\n    def forward(ctx, b): pass\n")
    problems = contract_problems(student, reference)
    text = "; ".join(problems)
    assert "`f` has signature (x), expected (x, y)" in text
    assert "`g` is missing" in text
    assert "`C.forward` has signature (ctx, b), expected (ctx, a)" in text
    with pytest.raises(ContractError):
        raise ContractError("; ".join(problems))


def test_imported_names_are_not_part_of_a_modules_api() -> None:
    module = _module("mod", "from math import floor\ndef own(x): pass\n")
    module.borrowed = course.normalize_id  # a function of another module
    assert set(public_api(module)) == {"own"}
