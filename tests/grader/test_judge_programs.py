"""Programs: a test's function run whole in the worker (`ExerciseClient.run_program`, grader/judge.py).

Exercises past ex01 work on framework objects (Scalars, tensors, modules) that must never exist in the judge,
since building them runs exercise code. A program builds them in the worker from data the test sends, and
sends back data (or a reference to an object the worker keeps). These tests use ex01's worker: what matters
here is the mechanism, not the exercise.
"""

from __future__ import annotations

import math

import pytest

from grader import judge

ops = judge.exercise("ex01", results=judge.NUMBERS)


def _double_all(values: list[float]) -> list[float]:
    return [ex.mul(v, 2.0) for v in values]  # type: ignore[name-defined]  # noqa: F821  (the worker's `ex`)


def test_a_program_calls_the_exercise_and_returns_data() -> None:
    assert ops.run_program(_double_all, [1.0, 2.5, -4.0]) == [2.0, 5.0, -8.0]


def _gradient_of_square(values: list[float]) -> list[float]:
    t = mt.tensor(values, requires_grad=True)  # type: ignore[name-defined]  # noqa: F821  (the worker's `mt`)
    (t * t).sum().backward()
    return t.grad.to_numpy().tolist()


def test_a_program_uses_the_framework_in_the_worker() -> None:
    assert ops.run_program(_gradient_of_square, [1.0, -3.0, 0.5]) == [2.0, -6.0, 1.0]


def _make_tensor(values: list[float]) -> object:
    return mt.tensor(values)  # type: ignore[name-defined]  # noqa: F821


def _sum_of(tensor: object) -> float:
    return float(tensor.sum().item())  # type: ignore[attr-defined]


def test_an_object_stays_in_the_worker_and_can_be_passed_to_a_later_program() -> None:
    kept = ops.run_program(_make_tensor, [1.0, 2.0, 4.5])
    assert isinstance(kept, judge.RemoteObject), f"a tensor must stay in the worker, got {type(kept).__name__}"
    with pytest.raises(TypeError, match="not a number or a bool"):
        bool(kept)
    assert ops.run_program(_sum_of, kept) == 7.5


def _classes_and_helpers() -> float:
    class Node:
        def __init__(self, value: float) -> None:
            self.value = value

        @property
        def twice(self) -> float:
            return self.value * 2

    def helper(node: Node) -> float:
        return node.twice + math.sqrt(4.0)

    return helper(Node(4.0))


def test_a_program_may_define_classes_and_helpers_inside_it() -> None:
    assert ops.run_program(_classes_and_helpers) == 10.0


def _judge_modules_seen() -> list[str]:
    import sys

    return sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "pytest", "_pytest", "tests", "hypothesis"))


def test_a_program_runs_where_none_of_the_judge_is() -> None:
    assert ops.run_program(_judge_modules_seen) == []


FACTOR = 3.0


def _names_a_test_global(x: float) -> float:
    return x * FACTOR


def test_a_program_that_needs_the_tests_variables_is_refused_before_it_is_sent() -> None:
    factor = 2.0
    with pytest.raises(TypeError, match=r"may use only its arguments, builtins and ex, math, mt \(it names FACTOR\)"):
        ops.run_program(_names_a_test_global, 1.0)
    with pytest.raises(TypeError, match="pass what it needs as arguments"):
        ops.run_program(lambda x: x * factor, 1.0)


def _raises() -> float:
    return ex.mul("a", None)  # type: ignore[name-defined]  # noqa: F821


def test_an_exception_in_a_program_comes_back_as_its_class() -> None:
    with pytest.raises(TypeError, match="can't multiply sequence"):
        ops.run_program(_raises)


def _apply_to_each(step: object, values: list[float]) -> list[float]:
    return [step(v) for v in values]  # type: ignore[operator]


def _framework_step(v: float) -> float:
    return float((mt.tensor([v]) * ex.mul(v, 2.0)).sum().item())  # type: ignore[name-defined]  # noqa: F821


def test_a_program_passed_to_a_program_may_name_mt_and_ex_but_a_plain_function_may_not() -> None:
    """ex14's jobs hand the function every rank runs to the program that starts the ranks: wrapped in
    judge.Program it travels with the program tag (mt and ex in its globals); unwrapped, as a test's small
    function, it may name only math."""
    assert ops.run_program(_apply_to_each, judge.Program(_framework_step), [1.0, -2.0]) == [2.0, 8.0]
    with pytest.raises(TypeError, match=r"may use only its arguments, builtins and math \(it names ex, mt\)"):
        ops.run_program(_apply_to_each, _framework_step, [1.0])
