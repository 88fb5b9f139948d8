"""Random programs for the differential test: a few ops on tensors with edge values, runnable on mt or torch.

A program is data (picklable, printable): the leaves (numpy arrays with a dtype and a layout) and a list
of steps, each an op name and its arguments. `run_program(program, lib)` replays it on `lib`; every
intermediate result is part of the outcome (so a wrong shape or dtype is caught where it appears), and
for float leaves the gradient of the last result's sum is too.

The values come from a pool chosen to hit edges: 0 and -0, ties, +-inf, nan, huge (1e30) and tiny
(1e-30, and a subnormal in float64) numbers, next to ordinary ones. Shapes include 0-d tensors, size-1
and empty dims; a leaf may be a non-contiguous (transposed) view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

INF, NAN = float("inf"), float("nan")
FLOAT_POOL = (0.0, -0.0, 1.0, -1.0, 2.0, 2.0, 0.5, -3.0, INF, -INF, NAN, 1e30, -1e30, 1e-30, 1e-310)
INT_POOL = (0, 1, -1, 2, 2, 3, -5, 7)
DTYPES = ("float32", "float64", "int64", "bool")


@dataclass
class Leaf:
    values: np.ndarray
    dtype: str
    transposed: bool = False

    def make(self, lib: Any) -> tuple[Any, Any]:
        """(leaf, input): the input is a transposed view of a transposed copy when `transposed`."""
        grad = self.dtype.startswith("float")
        stored = np.ascontiguousarray(self.values.T) if self.transposed else self.values
        leaf = lib.tensor(stored, dtype=getattr(lib, self.dtype), requires_grad=grad)
        return leaf, (leaf.permute(*reversed(range(leaf.dim()))) if self.transposed else leaf)


@dataclass
class Program:
    leaves: list[Leaf]
    steps: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def precision(self) -> str:
        """float64 when every leaf is float64, else float32 (ints and bools become float32 when made float)."""
        return "float64" if all(leaf.dtype == "float64" for leaf in self.leaves) else "float32"

    def __repr__(self) -> str:
        lines = [f"x{i} = tensor({leaf.values.tolist()!r}, dtype={leaf.dtype}){'.T view' if leaf.transposed else ''}"
                 for i, leaf in enumerate(self.leaves)]
        lines += [f"x = {name}(x, {', '.join(map(repr, args))})" for name, args in self.steps]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The ops: each takes (lib, x, y, *args) where y is the second leaf's input
# ---------------------------------------------------------------------------------------------------


def _dim(x: Any, k: int) -> int:
    """A valid dim of x chosen by k (0 for a 0-d tensor, which accepts dims 0 and -1)."""
    return k % max(x.dim(), 1) - (1 if k % 3 == 2 else 0) * max(x.dim(), 1) if x.dim() else -(k % 2)


UNARY = {
    "neg": lambda lib, x, y: -x,
    "exp": lambda lib, x, y: x.exp(),
    "log": lambda lib, x, y: x.log(),
    "sigmoid": lambda lib, x, y: x.sigmoid(),
    "tanh": lambda lib, x, y: x.tanh(),
    "relu": lambda lib, x, y: x.relu(),
    "abs": lambda lib, x, y: x.abs(),
    "sqrt": lambda lib, x, y: x.sqrt(),
    "square": lambda lib, x, y: x.square(),
    "clamp_min": lambda lib, x, y, v: x.clamp(min=v),
    "clamp_max": lambda lib, x, y, v: x.clamp(max=v),
    "pow": lambda lib, x, y, p: x ** p,
    "rpow": lambda lib, x, y, b: b ** x,
    "add_scalar": lambda lib, x, y, v: x + v,
    "mul_scalar": lambda lib, x, y, v: x * v,
    "rdiv_scalar": lambda lib, x, y, v: v / x,
    "masked_fill": lambda lib, x, y, v: x.masked_fill(x > 0, v),
    "where_scalar": lambda lib, x, y, v: lib.where(x < 1, x, v),
    "float": lambda lib, x, y: x.float(),
    "double": lambda lib, x, y: x.double(),
    "gt0": lambda lib, x, y: x > 0,
}
BINARY = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / y,
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "minimum": lambda lib, x, y: lib.minimum(x, y),
    "where": lambda lib, x, y: lib.where(x > y, x, y),
    "eq": lambda lib, x, y: x == y,
}
REDUCE = {
    "sum": lambda lib, x, y, k, keep: x.sum(_dim(x, k), keepdim=keep),
    "sum_all": lambda lib, x, y, k, keep: x.sum(),
    "sum_empty_dims": lambda lib, x, y, k, keep: x.sum(dim=()),
    "mean": lambda lib, x, y, k, keep: x.mean(_dim(x, k), keepdim=keep),
    "prod": lambda lib, x, y, k, keep: x.prod(_dim(x, k), keepdim=keep),
    "amax": lambda lib, x, y, k, keep: x.amax(_dim(x, k), keepdim=keep),
    "amin": lambda lib, x, y, k, keep: x.amin(_dim(x, k), keepdim=keep),
    "max_dim": lambda lib, x, y, k, keep: x.max(_dim(x, k), keepdim=keep),
    "min_dim": lambda lib, x, y, k, keep: x.min(_dim(x, k), keepdim=keep).values,
    "max_all": lambda lib, x, y, k, keep: x.max(),
    "min_all": lambda lib, x, y, k, keep: x.min(),
    "var": lambda lib, x, y, k, keep: x.var(_dim(x, k), keepdim=keep),
    "std_all": lambda lib, x, y, k, keep: x.std(),
    "logsumexp": lambda lib, x, y, k, keep: x.logsumexp(_dim(x, k), keepdim=keep),
    "softmax": lambda lib, x, y, k, keep: x.softmax(_dim(x, k)),
    "log_softmax": lambda lib, x, y, k, keep: x.log_softmax(_dim(x, k)),
    "argmax": lambda lib, x, y, k, keep: x.argmax(_dim(x, k), keepdim=keep),
    "any": lambda lib, x, y, k, keep: x.any(),
    "all": lambda lib, x, y, k, keep: x.all(),
}
SHAPE = {
    "transpose": lambda lib, x, y, k: x.transpose(0, -1) if x.dim() else x.transpose(0, -1),
    "reshape": lambda lib, x, y, k: x.reshape(-1),
    "flatten": lambda lib, x, y, k: x.flatten(),
    "unsqueeze": lambda lib, x, y, k: x.unsqueeze(_dim(x, k)),
    "squeeze": lambda lib, x, y, k: x.squeeze(),
    "squeeze_dim": lambda lib, x, y, k: x.squeeze(_dim(x, k)),
    "mT": lambda lib, x, y, k: x.mT if x.dim() != 1 else x,
    "narrow": lambda lib, x, y, k: x.narrow(_dim(x, k), -1, 1) if x.dim() else x,
    "slice": lambda lib, x, y, k: x[1:] if x.dim() else x,
    "select": lambda lib, x, y, k: x[-1] if x.dim() else x,
    "split": lambda lib, x, y, k: x.split(2)[0] if x.dim() else x,
    "chunk_last": lambda lib, x, y, k: x.chunk(2)[-1] if x.dim() else x,
    "cat_self": lambda lib, x, y, k: lib.cat([x, x], _dim(x, k)) if x.dim() else x,
    "stack_self": lambda lib, x, y, k: lib.stack([x, x], 0),
    "index_select": lambda lib, x, y, k: x.index_select(_dim(x, k), lib.tensor([0])) if x.numel() else x,
    "gather_first": lambda lib, x, y, k: x.gather(_dim(x, k), lib.zeros((1,) * x.dim(), dtype=lib.int64))
    if x.numel() else x,
    "mask_select": lambda lib, x, y, k: x[x > 0],
    "expand": lambda lib, x, y, k: x.unsqueeze(0).expand(2, *x.shape),
}


def apply_step(lib: Any, name: str, args: tuple[Any, ...], x: Any, y: Any) -> Any:
    for table in (UNARY, BINARY, REDUCE, SHAPE):
        if name in table:
            return table[name](lib, x, y, *args)
    raise KeyError(name)


def run_program(program: Program, lib: Any) -> tuple[Any, ...]:
    """Replay `program` on `lib`: (every intermediate result..., the gradient of each float leaf)."""
    made = [leaf.make(lib) for leaf in program.leaves]
    x = made[0][1]
    y = made[1][1] if len(made) > 1 else made[0][1]
    results = []
    for name, args in program.steps:
        x = apply_step(lib, name, args, x, y)
        if isinstance(x, tuple):  # max(dim): (values, indices)
            results.append(tuple(x))
            x = x[0]
        else:
            results.append(x)
    if getattr(x, "requires_grad", False):
        x.sum().backward()
    return tuple(results) + tuple(leaf.grad for leaf, _ in made)


# ---------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------


@st.composite
def leaves(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> Leaf:
    size = int(np.prod(shape)) if shape else 1
    if dtype == "bool":
        values = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=np.bool_)
    elif dtype == "int64":
        values = np.array(draw(st.lists(st.sampled_from(INT_POOL), min_size=size, max_size=size)), dtype=np.int64)
    else:
        pool = st.sampled_from(FLOAT_POOL) if draw(st.booleans()) else st.floats(-4, 4, width=32)
        numbers = draw(st.lists(st.one_of(pool, st.sampled_from(FLOAT_POOL)), min_size=size, max_size=size))
        values = np.array(numbers, dtype=np.float64)
    values = values.reshape(shape)
    transposed = len(shape) >= 2 and draw(st.booleans())
    return Leaf(values, dtype, transposed)


SCALARS = st.sampled_from([0, 1, 2, -1, 0.5, -0.5, 2.5, INF, -INF, NAN, True])


@st.composite
def steps(draw: st.DrawFn) -> tuple[str, tuple[Any, ...]]:
    kind = draw(st.sampled_from(["unary", "unary", "binary", "reduce", "reduce", "shape", "shape"]))
    if kind == "unary":
        name = draw(st.sampled_from(sorted(UNARY)))
        if name in ("clamp_min", "clamp_max", "add_scalar", "mul_scalar", "rdiv_scalar", "masked_fill",
                    "where_scalar"):
            return name, (draw(SCALARS),)
        if name == "pow":
            return name, (draw(st.sampled_from([2, 3, 0, 0.5, -1, -2, 1.5])),)
        if name == "rpow":
            return name, (draw(st.sampled_from([2, 0.5, 3, 0, -2, 2.5])),)
        return name, ()
    if kind == "binary":
        return draw(st.sampled_from(sorted(BINARY))), ()
    if kind == "reduce":
        return draw(st.sampled_from(sorted(REDUCE))), (draw(st.integers(0, 5)), draw(st.booleans()))
    return draw(st.sampled_from(sorted(SHAPE))), (draw(st.integers(0, 5)),)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 0, 2]), min_size=0, max_size=3)))
    dtype = draw(st.sampled_from(DTYPES + ("float32", "float64")))
    first = draw(leaves(shape, dtype))
    # the second leaf broadcasts against the first: a suffix of its shape with some sizes set to 1
    cut = draw(st.integers(0, len(shape)))
    other_shape = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else s for s in shape[cut:])
    second = draw(leaves(other_shape, draw(st.sampled_from(DTYPES + ("float32",)))))
    return Program([first, second], draw(st.lists(steps(), min_size=2, max_size=6)))
