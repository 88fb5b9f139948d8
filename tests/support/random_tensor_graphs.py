"""Random tensor programs for the hidden tests of ex05: op chains over broadcasting shapes, reductions,
views and matrix products, drawn at grading time (the tensor analogue of random_graphs.py).

A program is a list of steps over numbered values. A `leaf` step brings in one of the program's leaf
arrays (all at the start, and more later as matmul, broadcast or cat partners); every other step
appends one tensor computed from earlier values, which are drawn among all of them (recent ones
preferred), so programs re-use values and branch. The generator evaluates every step with torch in
float64 while it draws, and keeps a step only when its inputs are in the op's safe domain:

    log            every input element > 0.1
    div, c / x     every divisor element |b| > 0.3
    x ** p         p in {2, 3} anywhere; p in {0.5, 1.5, -1} for inputs > 0.2
    exp            every input element < 3
    relu           every input element |a| > 1e-6 (no element at the kink, where rounding could flip it)
    max, amax      the maximum of every reduced slice beats the runner-up by > 1e-6 (no near-ties:
                   ties are the public tests' business; here rounding could pick another element)
    any result     finite, |value| <= 1e3, at most MAX_NUMEL elements and MAX_DIMS dims

so the same program replays identically on minitorch-dg and torch (`replay`), and every difference in
value or gradient is the code's, not the generator's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MAX_NUMEL = 48
MAX_DIMS = 4
MAX_ABS = 1e3

UNARY = ("neg", "exp", "log", "sigmoid", "relu", "tanh", "pow")
NUMBER = ("add_number", "mul_number", "number_sub", "number_div")
BINARY = ("add", "sub", "mul", "div")
REDUCE = ("sum", "mean", "max_dim", "amax", "max_all")
MATMUL = ("matmul", "matmul_t")
VIEWS = ("permute", "transpose", "reshape", "expand", "unsqueeze", "squeeze", "index", "cat", "stack")
ALL_OPS = UNARY + NUMBER + BINARY + REDUCE + MATMUL + VIEWS

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """out = op(values[args[0]], values[args[1]], ...; params); a `leaf` step has params (leaf index,)."""

    op: str
    args: tuple[int, ...] = ()
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Program:
    leaves: tuple[np.ndarray, ...]
    layouts: tuple[tuple[int, ...] | None, ...]
    steps: tuple[Step, ...]
    shapes: tuple[Shape, ...]  # the shape of every value, for messages

    def describe(self) -> str:
        """One entry per value, e.g. `v4 = sum(v2, (0,), True) -> (1, 3)`, separated by ` | `."""
        lines = []
        for i, (step, shape) in enumerate(zip(self.steps, self.shapes)):
            if step.op == "leaf":
                text = f"x{step.params[0]} (leaf)"
            else:
                text = f"{step.op}({', '.join([f'v{a}' for a in step.args] + [repr(p) for p in step.params])})"
            lines.append(f"v{i} = {text} -> {shape}")
        return " | ".join(lines)


# ---------------------------------------------------------------------------------------------------
# Replaying a step (shared by the generator, with torch, and by the tests, with both libraries)
# ---------------------------------------------------------------------------------------------------


def step_value(lib: Any, op: str, args: Sequence[int], p: Sequence[Any], values: Sequence[Any],
               leaves: Sequence[Any]) -> Any:
    """The value that one step (`op` of the values numbered `args`, with parameters `p`) computes from earlier
    `values`: tensors of `lib`, minitorch_dg or torch. It names nothing but its arguments and builtins, so it can
    travel to an exercise's worker as code (`replay`)."""
    if op == "leaf":
        return leaves[p[0]]
    x = [values[i] for i in args]
    a = x[0]
    if op == "neg":
        return -a
    if op in ("exp", "log", "sigmoid", "relu", "tanh"):
        return getattr(a, op)()
    if op == "pow":
        return a ** p[0]
    if op == "add_number":
        return a + p[0]
    if op == "mul_number":
        return a * p[0]
    if op == "number_sub":
        return p[0] - a
    if op == "number_div":
        return p[0] / a
    if op in ("add", "sub", "mul", "div"):
        b = x[1]
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b}[op]()
    if op in ("sum", "mean", "amax"):
        dims, keepdim = p
        return getattr(a, op)(dims, keepdim=keepdim)
    if op == "max_dim":
        dim, keepdim = p
        return a.max(dim, keepdim=keepdim)[0]
    if op == "max_all":
        return a.max()
    if op == "matmul":
        return a @ x[1]
    if op == "matmul_t":
        return a @ a.transpose(-2, -1)
    if op == "permute":
        return a.permute(*p[0])
    if op == "transpose":
        return a.transpose(p[0], p[1])
    if op == "reshape":
        return a.reshape(p[0])
    if op == "expand":
        return a.expand(p[0])
    if op == "unsqueeze":
        return a.unsqueeze(p[0])
    if op == "squeeze":
        return a.squeeze() if p[0] is None else a.squeeze(p[0])
    if op == "index":
        return a[p[0]]
    if op == "cat":
        return lib.cat(x, p[0])
    if op == "stack":
        return lib.stack(x, p[0])
    raise ValueError(f"unknown op {op!r}")


def apply_step(step: Step, values: Sequence[Any], leaves: Sequence[Any]) -> Any:
    """`step_value` with torch, for the generator."""
    return step_value(torch, step.op, step.args, step.params, values, leaves)


def replay(lib: Any, *leaves_then_program: Any) -> Any:
    """fn for `tensor_oracle.check_op(replay, *program.leaves, library=True, params=replay_params(program))`:
    the leaf tensors, then `step_value` and the steps as data. The result is the last value plus the sum of every
    value nothing else used (so that every branch of the graph reaches the output). Like `step_value` it names
    only its arguments, so the minitorch-dg side runs in the exercise's worker."""
    *leaves, value_of, steps = leaves_then_program
    values: list[Any] = []
    for op, args, params in steps:
        values.append(value_of(lib, op, args, params, values, leaves))
    used = {a for _, args, _ in steps for a in args}
    out = values[-1]
    for i, (op, _, _) in enumerate(steps[:-1]):
        if i not in used and op != "leaf":
            out = out + values[i].sum()
    return out


def replay_params(program: Program) -> list[Any]:
    """The `params` of check_op for `replay`: the step function (sent as code) and the steps as tuples."""
    return [step_value, [(step.op, step.args, step.params) for step in program.steps]]


# ---------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------


def _numel(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return None


def _gap_ok(t: torch.Tensor, dims: tuple[int, ...]) -> bool:
    """True when every slice over `dims` has one maximum, ahead of the runner-up by > 1e-6."""
    if t.dim() == 0:
        return True
    rest = [d for d in range(t.dim()) if d not in dims]
    moved = t.permute(*rest, *dims).reshape(*[t.shape[d] for d in rest], -1)
    if moved.shape[-1] < 2:
        return True
    top2 = moved.topk(2, dim=-1).values
    return bool(((top2[..., 0] - top2[..., 1]) > 1e-6 * (1.0 + top2[..., 0].abs())).all())


class _Drawer:
    """Draws one program step by step, evaluating with torch as it goes."""

    def __init__(self, rng: random.Random, ops: Sequence[str]) -> None:
        self.rng = rng
        self.np_rng = np.random.default_rng(rng.getrandbits(63))
        self.ops = list(ops)
        self.leaves: list[np.ndarray] = []
        self.layouts: list[tuple[int, ...] | None] = []
        self.steps: list[Step] = []
        self.values: list[torch.Tensor] = []

    # -- leaves --------------------------------------------------------------------------------------

    def new_leaf(self, shape: Shape) -> int:
        """Add a leaf array of `shape` (values in [-2, 2], kept away from 0) and the step that brings it in."""
        raw = self.np_rng.uniform(-2.0, 2.0, size=shape)
        array = np.where(np.abs(raw) < 0.05, 0.5, raw)
        layout = None
        if len(shape) >= 2 and self.rng.random() < 0.5:
            order = list(range(len(shape)))
            self.rng.shuffle(order)
            layout = tuple(order)
        self.leaves.append(np.asarray(array, dtype=np.float64))
        self.layouts.append(layout)
        return self.push(Step("leaf", (), (len(self.leaves) - 1,)))

    def push(self, step: Step) -> int:
        leaves = [torch.tensor(a) for a in self.leaves]
        self.values.append(apply_step(step, self.values, leaves))
        self.steps.append(step)
        return len(self.values) - 1

    def random_shape(self, min_dims: int = 0, max_dims: int = 3) -> Shape:
        while True:
            shape = tuple(self.rng.randint(1, 4) for _ in range(self.rng.randint(min_dims, max_dims)))
            if _numel(shape) <= MAX_NUMEL:
                return shape

    def pick(self) -> int:
        """An earlier value, recent ones preferred."""
        n = len(self.values)
        return n - 1 - min(n - 1, int(abs(self.rng.gauss(0, n / 2))))

    # -- one step --------------------------------------------------------------------------------

    def try_step(self) -> bool:
        """Draw one op and its operands; push it when it is safe; False when it was rejected."""
        op = self.rng.choice(self.ops)
        a = self.pick()
        proposal = self.propose(op, a)
        if proposal is None:
            return False
        step, new_leaves = proposal
        mark = (len(self.leaves), len(self.layouts), len(self.steps), len(self.values))
        args = list(step.args)
        for k, shape in new_leaves:  # partners that are new leaves: bring them in first
            args[k] = self.new_leaf(shape)
        step = Step(step.op, tuple(args), step.params)
        try:
            ok = self.safe(step)
        except (RuntimeError, IndexError, ValueError):
            ok = False
        if ok:
            self.push(step)
            ok = self.result_ok(self.values[-1])
        if not ok:
            del self.leaves[mark[0]:], self.layouts[mark[1]:], self.steps[mark[2]:], self.values[mark[3]:]
        return ok

    def safe(self, step: Step) -> bool:
        x = [self.values[i] for i in step.args]
        a = x[0]
        op, p = step.op, step.params
        if op == "log":
            return bool((a > 0.1).all())
        if op == "exp":
            return bool((a < 3.0).all())
        if op == "relu":
            return bool((a.abs() > 1e-6).all())
        if op == "pow" and p[0] not in (2.0, 3.0):
            return bool((a > 0.2).all())
        if op == "div":
            return bool((x[1].abs() > 0.3).all())
        if op == "number_div":
            return bool((a.abs() > 0.3).all())
        if op == "amax":
            dims = tuple(d % max(a.dim(), 1) for d in p[0])
            return _gap_ok(a, dims)
        if op == "max_dim":
            return _gap_ok(a, (p[0] % max(a.dim(), 1),))
        if op == "max_all":
            return _gap_ok(a, tuple(range(a.dim())))
        return True

    @staticmethod
    def result_ok(t: torch.Tensor) -> bool:
        return (t.numel() >= 1 and t.numel() <= MAX_NUMEL and t.dim() <= MAX_DIMS
                and bool(torch.isfinite(t).all()) and float(t.abs().max()) <= MAX_ABS)

    def propose(self, op: str, a: int) -> tuple[Step, list[tuple[int, Shape]]] | None:
        """The step for `op` on value `a`, and the shapes of new leaves it needs (argument position, shape)."""
        rng = self.rng
        shape = tuple(self.values[a].shape)
        n = len(shape)
        if op in ("neg", "exp", "log", "sigmoid", "relu", "tanh"):
            return Step(op, (a,)), []
        if op == "pow":
            return Step(op, (a,), (rng.choice([2.0, 3.0, 0.5, 1.5, -1.0]),)), []
        if op in NUMBER:
            return Step(op, (a,), (rng.choice([0.5, 2.0, -1.5, 3.0]),)), []
        if op in BINARY:
            partners = [b for b in range(len(self.values)) if _broadcast(shape, tuple(self.values[b].shape))]
            if partners and rng.random() < 0.6:
                return Step(op, (a, rng.choice(partners))), []
            return Step(op, (a, -1)), [(1, self.broadcast_partner(shape))]
        if op in ("sum", "mean", "amax"):
            if n == 0:  # a 0-d tensor reduces to itself over dim 0 (torch allows it)
                return Step(op, (a,), ((0,), rng.random() < 0.5)), []
            k = rng.randint(1, n)
            dims = tuple(sorted(rng.sample(range(n), k)))
            dims = tuple(d - n if rng.random() < 0.3 else d for d in dims)
            return Step(op, (a,), (dims, rng.random() < 0.5)), []
        if op == "max_dim":
            dim = rng.randint(-n, n - 1) if n else 0
            return Step(op, (a,), (dim, rng.random() < 0.5)), []
        if op == "max_all":
            return Step(op, (a,)), []
        if op == "matmul":
            return self.propose_matmul(a, shape)
        if op == "matmul_t":
            return (Step(op, (a,)), []) if n >= 2 else None
        if op == "permute":
            if n < 2:
                return None
            order = list(range(n))
            rng.shuffle(order)
            return Step(op, (a,), (tuple(order),)), []
        if op == "transpose":
            return (Step(op, (a,), (rng.randint(-n, n - 1), rng.randint(-n, n - 1))), []) if n >= 2 else None
        if op == "reshape":
            return Step(op, (a,), (self.reshape_target(shape),)), []
        if op == "expand":
            target = [rng.randint(2, 3) if s == 1 and rng.random() < 0.7 else s for s in shape]
            if rng.random() < 0.4:
                target.insert(0, rng.randint(1, 3))
            return Step(op, (a,), (tuple(target),)), []
        if op == "unsqueeze":
            return Step(op, (a,), (rng.randint(-n - 1, n),)), []
        if op == "squeeze":
            ones = [d for d, s in enumerate(shape) if s == 1]
            if not ones:
                return None
            return Step(op, (a,), (rng.choice(ones + [None]),)), []
        if op == "index":
            return (Step(op, (a,), (self.basic_key(shape),)), []) if n else None
        if op == "cat":
            if n == 0:
                return None
            dim = rng.randint(0, n - 1)
            part = list(shape)
            part[dim] = rng.randint(1, 3)
            if rng.random() < 0.3:
                return Step(op, (a, a), (dim - n if rng.random() < 0.5 else dim,)), []
            return Step(op, (a, -1), (dim - n if rng.random() < 0.5 else dim,)), [(1, tuple(part))]
        if op == "stack":
            same = [b for b in range(len(self.values)) if tuple(self.values[b].shape) == shape]
            b = rng.choice(same)
            return Step(op, (a, b), (rng.randint(-n - 1, n),)), []
        raise ValueError(op)

    def propose_matmul(self, a: int, shape: Shape) -> tuple[Step, list[tuple[int, Shape]]] | None:
        rng = self.rng
        n = len(shape)
        if n == 0:
            return None
        k = shape[-1]
        if n >= 2:
            for b in range(len(self.values)):
                other = tuple(self.values[b].shape)
                if (len(other) >= 2 and other[-2] == k and _broadcast(shape[:-2], other[:-2]) is not None
                        and rng.random() < 0.3):
                    return Step("matmul", (a, b)), []
        m = rng.randint(1, 4)
        kind = rng.random()
        if kind < 0.2:
            partner: Shape = (k,)
        elif kind < 0.7 or n < 3:
            partner = (k, m)
        else:  # a batched partner whose batch dims broadcast with a's
            partner = tuple(rng.choice([1, s]) for s in shape[:-2][-1:]) + (k, m)
        return Step("matmul", (a, -1)), [(1, partner)]

    def broadcast_partner(self, shape: Shape) -> Shape:
        """A shape that broadcasts with `shape`: some dims set to 1, leading dims dropped or one added."""
        rng = self.rng
        out = [1 if rng.random() < 0.3 else s for s in shape]
        if out and rng.random() < 0.3:
            out = out[rng.randint(1, len(out)):]
        elif rng.random() < 0.2:
            out.insert(0, rng.randint(2, 3))
        return tuple(out)

    def reshape_target(self, shape: Shape) -> Shape:
        rng = self.rng
        sizes = list(shape)
        rng.shuffle(sizes)
        if len(sizes) >= 2 and rng.random() < 0.5:
            i = rng.randint(0, len(sizes) - 2)
            sizes[i:i + 2] = [sizes[i] * sizes[i + 1]]
        if rng.random() < 0.3:
            sizes.insert(rng.randint(0, len(sizes)), 1)
        if sizes and rng.random() < 0.3:
            sizes[rng.randint(0, len(sizes) - 1)] = -1
        return tuple(sizes)

    def basic_key(self, shape: Shape) -> tuple[Any, ...]:
        rng = self.rng
        key: list[Any] = []
        for size in shape[: rng.randint(1, len(shape))]:
            if rng.random() < 0.35:
                key.append(rng.randint(-size, size - 1))
            else:
                start = rng.choice([None, rng.randint(-size, size - 1)])
                stop = rng.choice([None, rng.randint(-size, size)])
                key.append(slice(start, stop, rng.choice([None, 1, 2])))
        if rng.random() < 0.3:
            key.insert(rng.randint(0, len(key)), None)
        return tuple(key)


def random_tensor_program(rng: random.Random, n_leaves: int = 2, n_steps: int = 10,
                          ops: Sequence[str] = ALL_OPS) -> Program:
    """A program of `n_leaves` starting leaves and up to `n_steps` operations drawn from `ops`."""
    drawer = _Drawer(rng, ops)
    for _ in range(n_leaves):
        drawer.new_leaf(drawer.random_shape())
    made, attempts = 0, 0
    while made < n_steps and attempts < 60 * n_steps:
        attempts += 1
        made += drawer.try_step()
    shapes = tuple(tuple(v.shape) for v in drawer.values)
    return Program(tuple(drawer.leaves), tuple(drawer.layouts), tuple(drawer.steps), shapes)


def count_ops(program: Program) -> dict[str, int]:
    """How often each op occurs in `program` (leaves excluded)."""
    counts: dict[str, int] = {}
    for step in program.steps:
        if step.op != "leaf":
            counts[step.op] = counts.get(step.op, 0) + 1
    return counts
