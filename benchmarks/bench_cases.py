"""The CPU benchmark cases: one operation, four ways (minitorch-dg fast and simple, torch, numpy).

Used by benchmarks/test_bench_cpu.py (pytest-benchmark) and benchmarks/table.py (the one-table summary).
Every case builds its inputs once; each implementation is a callable that runs the operation once and
returns its result (allocating the output, as a user's code would). minitorch-dg runs through the Tensor
API, so the time includes the framework's own Python work, not only the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import minitorch_dg as mt

if "MTDG_SOURCE" not in os.environ and mt.course.solutions_available():
    os.environ["MTDG_SOURCE"] = "solutions"  # time the reference, as the test suite does, unless told otherwise

Runner = Callable[[], Any]
IMPLEMENTATIONS = ("fast", "simple", "torch", "numpy")


@dataclass
class Case:
    group: str  # "map", "zip", "reduce", "matmul"
    name: str  # e.g. "relu 1e7 float32"
    build: Callable[[], dict[str, Runner]]  # -> {"fast": ..., "torch": ..., "numpy": ..., maybe "simple"}
    target: float | None = None  # the target for torch time / fast time, when it has one
    simple_target: float | None = None  # a target for simple time / fast time (ex06's core matmul)
    runners: dict[str, Runner] = field(default_factory=dict)
    compare: bool = True  # False: the results differ by design (a training epoch); only the time counts

    def prepare(self) -> dict[str, Runner]:
        if not self.runners:
            self.runners = self.build()
        return self.runners

    def release(self) -> None:
        self.runners = {}


def _in_backend(name: str, fn: Callable[[], Any]) -> Runner:
    def run() -> Any:
        with mt.use_backend(name):
            return fn()

    return run


def _as_in_a_program(fn: Callable[[], Any]) -> Runner:
    """`fn` on the fast backend, as a user's program runs it: directly when fast is already the CPU backend in
    force (the default once ex06 works), so that a per-op row times the op and not a backend switch around
    every call (entering and leaving use_backend costs a few microseconds, a third of a small add);
    otherwise inside use_backend('fast') on every call."""
    if mt.backends.cpu_backend_name() == "fast":
        return fn
    return _in_backend("fast", fn)


def _tensors(*arrays: np.ndarray) -> tuple[list[mt.Tensor], list[torch.Tensor]]:
    return [mt.tensor(a) for a in arrays], [torch.from_numpy(a) for a in arrays]


def unary(label: str, mt_fn: Callable[[Any], Any], torch_fn: Callable[[Any], Any], np_fn: Callable[[Any], Any],
          shape: tuple[int, int], dtype: Any = np.float32, permuted: bool = False, simple: bool = False) -> Callable[[], dict[str, Runner]]:
    def build() -> dict[str, Runner]:
        values = np.random.default_rng(0).uniform(-4, 4, size=shape).astype(dtype)
        (x,), (t,) = _tensors(values)
        if permuted:
            x, t, values = x.t(), t.t(), values.T
        runners = {"fast": _in_backend("fast", lambda: mt_fn(x)), "torch": lambda: torch_fn(t),
                   "numpy": lambda: np_fn(values)}
        if simple:
            runners["simple"] = _in_backend("simple", lambda: mt_fn(x))
        return runners

    return build


def unary_into(op: str, torch_fn: Callable[..., Any], np_fn: Callable[..., Any],
               shape: tuple[int, int]) -> Callable[[], dict[str, Runner]]:
    """The same map writing into an output allocated once: the kernels alone, without faulting in fresh
    pages for a 40 MB result on every call (numpy asks for transparent huge pages, torch does not)."""

    def build() -> dict[str, Runner]:
        from minitorch_dg import kernels as K

        values = np.random.default_rng(0).uniform(-4, 4, size=shape).astype(np.float32)
        (x,), (t,) = _tensors(values)
        ours, theirs, plain = mt.zeros(*shape), torch.zeros(*shape), np.zeros(shape, dtype=np.float32)
        return {"fast": _in_backend("fast", lambda: K.map(op, x, out=ours)), "torch": lambda: torch_fn(t, out=theirs),
                "numpy": lambda: np_fn(values, out=plain)}

    return build


def binary(shape_a: tuple[int, ...], shape_b: tuple[int, ...], simple: bool = False) -> Callable[[], dict[str, Runner]]:
    def build() -> dict[str, Runner]:
        rng = np.random.default_rng(1)
        a, b = rng.uniform(-1, 1, size=shape_a).astype(np.float32), rng.uniform(-1, 1, size=shape_b).astype(np.float32)
        (x, y), (s, t) = _tensors(a, b)
        runners = {"fast": _in_backend("fast", lambda: x + y), "torch": lambda: s + t, "numpy": lambda: a + b}
        if simple:
            runners["simple"] = _in_backend("simple", lambda: x + y)
        return runners

    return build


def axis_sum(shape: tuple[int, int], axis: int, simple: bool = False) -> Callable[[], dict[str, Runner]]:
    def build() -> dict[str, Runner]:
        values = np.random.default_rng(2).uniform(-1, 1, size=shape).astype(np.float32)
        (x,), (t,) = _tensors(values)
        runners = {"fast": _in_backend("fast", lambda: x.sum(axis)), "torch": lambda: t.sum(axis),
                   "numpy": lambda: values.sum(axis)}
        if simple:
            runners["simple"] = _in_backend("simple", lambda: x.sum(axis))
        return runners

    return build


def matmul(shape_a: tuple[int, ...], shape_b: tuple[int, ...], dtype: Any, simple: bool = False) -> Callable[[], dict[str, Runner]]:
    def build() -> dict[str, Runner]:
        rng = np.random.default_rng(3)
        a, b = rng.uniform(-1, 1, size=shape_a).astype(dtype), rng.uniform(-1, 1, size=shape_b).astype(dtype)
        (x, y), (s, t) = _tensors(a, b)
        runners = {"fast": _in_backend("fast", lambda: x @ y), "torch": lambda: s @ t, "numpy": lambda: a @ b}
        if simple:
            runners["simple"] = _in_backend("simple", lambda: x @ y)
        return runners

    return build


def overhead_add(shape: tuple[int, int], requires_grad: bool) -> Callable[[], dict[str, Runner]]:
    """A small add: almost all of its time is the framework's per-op work, not arithmetic (issue #13)."""

    def build() -> dict[str, Runner]:
        rng = np.random.default_rng(4)
        a, b = rng.uniform(-1, 1, size=shape).astype(np.float32), rng.uniform(-1, 1, size=shape).astype(np.float32)
        x, y = mt.tensor(a, requires_grad=requires_grad), mt.tensor(b, requires_grad=requires_grad)
        s, t = torch.tensor(a, requires_grad=requires_grad), torch.tensor(b, requires_grad=requires_grad)
        return {"fast": _as_in_a_program(lambda: x + y), "torch": lambda: s + t, "numpy": lambda: a + b}

    return build


def overhead_backward(shape: tuple[int, int]) -> Callable[[], dict[str, Runner]]:
    """(a * b).sum().backward() on float64: three ops forward, their backward, two gradients accumulated."""

    def build() -> dict[str, Runner]:
        rng = np.random.default_rng(5)
        a, b = rng.uniform(-1, 1, size=shape), rng.uniform(-1, 1, size=shape)
        x, y = mt.tensor(a, requires_grad=True), mt.tensor(b, requires_grad=True)
        s, t = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)

        def ours() -> Any:
            (x * y).sum().backward()
            return x.grad

        def theirs() -> Any:
            (s * t).sum().backward()
            return s.grad

        def plain() -> Any:  # what the two gradients cost in numpy: b and a themselves, summed into grads
            return (a * b).sum(), b.copy(), a.copy()

        return {"fast": _as_in_a_program(ours), "torch": theirs, "numpy": plain}

    return build


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def cases() -> list[Case]:
    relu = (lambda x: x.relu(), torch.relu, lambda v: np.maximum(v, 0))
    exp = (lambda x: x.exp(), torch.exp, np.exp)
    out: list[Case] = []
    for label, size, shape in (("1e6", 10**6, (1000, 1000)), ("1e7", 10**7, (10_000, 1000))):
        big = size == 10**7
        out += [
            Case("map", f"relu {label} float32", unary("relu", *relu, shape), 0.9 if big else None),
            Case("map", f"exp {label} float32", unary("exp", *exp, shape), 0.5 if big else None),
            Case("map", f"tanh {label} float32", unary("tanh", lambda x: x.tanh(), torch.tanh, np.tanh, shape),
                 0.5 if big else None),
            Case("map", f"sigmoid {label} float32", unary("sigmoid", lambda x: x.sigmoid(), torch.sigmoid, _sigmoid,
                                                          shape), 0.5 if big else None),
            Case("zip", f"add {label} float32", binary(shape, shape), 0.9 if big else None),
            Case("zip", f"broadcast add {label} (n,1000)+(1000,)", binary(shape, (1000,)), 0.9 if big else None),
        ]
    out += [
        Case("map", "relu 1e7 into a preallocated output", unary_into("relu", lambda t, out: torch.clamp(t, min=0, out=out),
                                                                      lambda v, out: np.maximum(v, 0, out=out),
                                                                      (10_000, 1000)), 0.9),
        Case("map", "exp 1e7 into a preallocated output", unary_into("exp", torch.exp, np.exp, (10_000, 1000)), 0.5),
        Case("map", "relu 1e7 permuted (2500x4000).t()", unary("relu", *relu, (2500, 4000), permuted=True), 0.5),
        Case("map", "exp 1e7 permuted (2500x4000).t()", unary("exp", *exp, (2500, 4000), permuted=True), 0.5),
        Case("reduce", "sum 4096x4096 over the last axis", axis_sum((4096, 4096), 1), 0.9),
        Case("reduce", "sum 4096x4096 over the first axis", axis_sum((4096, 4096), 0), 1.5),
    ]
    for dtype, name in ((np.float32, "float32"), (np.float64, "float64")):
        for n in (128, 256, 512, 1024):
            target = 1.3 if (name == "float32" and n >= 256) or (name == "float64" and n >= 512) else None
            out.append(Case("matmul", f"matmul {n} {name}", matmul((n, n), (n, n), dtype), target))
        out.append(Case("matmul", f"matmul 32x128x128 {name}", matmul((32, 128, 128), (32, 128, 128), dtype),
                        1.3 if name == "float32" else None))
    out += [  # per-op overhead on small tensors (issue #13's goals: torch's time / ours >= 0.2)
        Case("overhead", "add 10x10 float32, no grad", overhead_add((10, 10), False), 0.2),
        Case("overhead", "add 64x128 float32, requires_grad", overhead_add((64, 128), True),
             compare=False),  # the results require grad: torch's cannot be read as numpy
        Case("overhead", "(a * b).sum().backward() 10x10 float64", overhead_backward((10, 10)), 0.2),
    ]
    out += [  # the simple backend, where it is bearable
        Case("small", "relu 1e4 float32 (simple too)", unary("relu", *relu, (100, 100), simple=True)),
        Case("small", "add 1e4 float32 (simple too)", binary((100, 100), (100, 100), simple=True)),
        Case("small", "sum 128x128 first axis (simple too)", axis_sum((128, 128), 0, simple=True)),
        Case("small", "matmul 32 float32 (simple too)", matmul((32, 32), (32, 32), np.float32, simple=True)),
        # ex06's core goal (exercises/ex06_fast_cpu.md, Part 4): at least 100 times the simple backend
        Case("small", "matmul 64 float64 (simple too)", matmul((64, 64), (64, 64), np.float64, simple=True),
             simple_target=100.0),
    ]
    return out
