"""Random expression graphs for the hidden tests of ex02 (and, with tensors, ex05).

A program is a list of steps over numbered values: v0..v{k-1} are the leaves, each step appends one
value computed from earlier ones. Operands are drawn among all earlier values, so programs re-use
nodes (diamonds, x*x + x) and sometimes branch on a value (control flow). The generator evaluates
with Python floats as it goes and only emits steps whose inputs are in the op's safe domain.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

UNARY = ("neg", "log", "exp", "sigmoid", "relu", "tanh", "inv")
BINARY = ("add", "sub", "mul", "div", "lt_mask")


@dataclass(frozen=True)
class Step:
    op: str
    args: tuple[int, ...]


@dataclass(frozen=True)
class Program:
    inputs: tuple[float, ...]
    steps: tuple[Step, ...]

    def as_data(self) -> list[list[Any]]:
        """The steps as plain data, [[op, [arg, ...]], ...], for `run_steps` in another process."""
        return [[step.op, list(step.args)] for step in self.steps]

    def describe(self) -> str:
        lines = []
        k = len(self.inputs)
        for i, step in enumerate(self.steps):
            args = ", ".join(f"v{a}" for a in step.args)
            lines.append(f"v{k + i} = {step.op}({args})")
        return "; ".join(lines)


def _value(op: str, a: float, b: float = 0.0, c: float = 0.0) -> float:
    if op == "neg":
        return -a
    if op == "log":
        return math.log(a)
    if op == "exp":
        return math.exp(a)
    if op == "sigmoid":
        return 1.0 / (1.0 + math.exp(-a))
    if op == "relu":
        return max(a, 0.0)
    if op == "tanh":
        return math.tanh(a)
    if op == "inv":
        return 1.0 / a
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "lt_mask":
        return c if a < b else 0.0
    if op == "branch":
        return a * b if a > 0 else a + b
    raise ValueError(op)


def _safe(op: str, a: float, b: float) -> bool:
    if op == "log":
        return a > 0.2
    if op == "exp":
        return a < 5.0
    if op in ("inv",):
        return abs(a) > 0.2
    if op == "div":
        return abs(b) > 0.2
    if op == "relu":
        return abs(a) > 1e-3
    if op in ("lt_mask",):
        return abs(a - b) > 1e-3
    if op == "branch":
        return abs(a) > 1e-3
    return True


def random_program(rng: random.Random, n_leaves: int = 3, n_steps: int = 12) -> Program:
    inputs = tuple(round(rng.uniform(-2.0, 2.0), 3) or 0.5 for _ in range(n_leaves))
    values = list(inputs)
    steps: list[Step] = []
    attempts = 0
    while len(steps) < n_steps and attempts < 50 * n_steps:
        attempts += 1
        op = rng.choice(UNARY + BINARY + ("branch",))
        # prefer recent values so the graph gets deep, but allow any earlier value (re-use)
        pick = lambda: min(len(values) - 1, int(abs(rng.gauss(0, len(values) / 2))))  # noqa: E731
        a, b, c = (len(values) - 1 - pick() for _ in range(3))
        if not _safe(op, values[a], values[b]):
            continue
        value = _value(op, values[a], values[b], values[c])
        if not math.isfinite(value) or abs(value) > 1e3:
            continue
        args = (a,) if op in UNARY else (a, b, c) if op == "lt_mask" else (a, b)
        steps.append(Step(op, args))
        values.append(value)
    return Program(inputs, tuple(steps))


def run(program: Program, leaves: list[Any]) -> Any:
    """Evaluate on leaves of any framework that has the common operators; returns the sum of the last
    three values (so that several branches of the graph reach the output)."""
    return run_steps(leaves, program.as_data())


def run_steps(leaves: list[Any], steps: list[list[Any]]) -> Any:
    """`run` on a program's steps as plain data (Program.as_data). It names only builtins, so the judge can
    send it to the exercise's worker (grader/judge.py) and run it on the worker's Scalars."""
    values = list(leaves)
    for op, args in steps:
        x = [values[i] for i in args]
        if op == "neg":
            r = -x[0]
        elif op in ("log", "exp", "sigmoid", "relu", "tanh"):
            r = getattr(x[0], op)()
        elif op == "inv":
            r = 1.0 / x[0]
        elif op == "add":
            r = x[0] + x[1]
        elif op == "sub":
            r = x[0] - x[1]
        elif op == "mul":
            r = x[0] * x[1]
        elif op == "div":
            r = x[0] / x[1]
        elif op == "lt_mask":
            r = (x[0] < x[1]) * x[2]
        elif op == "branch":
            r = x[0] * x[1] if x[0].item() > 0 else x[0] + x[1]
        else:
            raise ValueError(op)
        values.append(r)
    tail = values[-3:] if len(values) >= 3 else values
    out = tail[0]
    for v in tail[1:]:
        out = out + v
    return out
