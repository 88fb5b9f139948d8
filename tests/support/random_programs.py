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
def _F(lib: Any) -> Any:
    return lib.nn.functional


UNARY.update({
    # activations (nn.functional)
    "gelu": lambda lib, x, y: _F(lib).gelu(x),
    "gelu_tanh": lambda lib, x, y: _F(lib).gelu(x, approximate="tanh"),
    "silu": lambda lib, x, y: _F(lib).silu(x),
    "leaky_relu": lambda lib, x, y, v: _F(lib).leaky_relu(x, v),
    # torch's elu gradient at nan is 1 in its scalar loop but nan in its vectorized one (blocks of 8 float64 or
    # 16 float32, docs/torch_differences.md): elu is drawn on at most 7 elements, where torch loops
    "elu": lambda lib, x, y, v: _F(lib).elu(x if x.numel() < 8 else x.flatten()[:7], v),
    "softplus": lambda lib, x, y, v: _F(lib).softplus(x, beta=v, threshold=5.0),
    # rounding, tests and more maths
    "sign": lambda lib, x, y: x.sign(),
    "floor": lambda lib, x, y: x.floor(),
    "round": lambda lib, x, y: lib.round(x),
    "isnan": lambda lib, x, y: x.isnan(),
    "isinf": lambda lib, x, y: lib.isinf(x),
    "nan_to_num": lambda lib, x, y: x.nan_to_num(),
    "nan_to_num_values": lambda lib, x, y: lib.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-3.0),
    "log1p": lambda lib, x, y: x.log1p(),
    "expm1": lambda lib, x, y: x.expm1(),
    "sin": lambda lib, x, y: x.sin(),
    "cos": lambda lib, x, y: x.cos(),
    "floordiv_scalar": lambda lib, x, y, v: x.detach() // v,
    "mod_scalar": lambda lib, x, y, v: x % v,  # (the drawn numbers are not subnormal; see _no_subnormal)
    "rfloordiv_scalar": lambda lib, x, y, v: v // x.detach(),
    "rmod_scalar": lambda lib, x, y, v: v % _no_subnormal(x.detach()),
    "rmod_scalar_grad": lambda lib, x, y, v: v % _no_subnormal(x),
})


def _no_subnormal(t: Any) -> Any:
    """t with subnormal numbers set to 0: torch's vectorized remainder (blocks of 8 float64 or 16 float32)
    gives nan for a subnormal divisor, its scalar loop and minitorch-dg a number (docs/torch_differences.md)."""
    if not t.dtype.is_floating_point:
        return t
    tiny = float(np.finfo(np.float32 if "32" in str(t.dtype) else np.float64).tiny)
    return t.masked_fill((t != 0) & (t.abs() < tiny), 0.0)


def _fill_value(z: Any, v: Any) -> Any:
    """v as a value that z's dtype holds as torch does: a non-finite float into int64 has no defined value."""
    if z.dtype.is_floating_point or isinstance(v, bool) or (v == v and abs(v) != INF):
        return v
    return 3


def _tensor_value(z: Any, y: Any) -> Any:
    """y as a value to write into z (as above: a bool mask of y's nans instead of floats into an integer z)."""
    return y if z.dtype.is_floating_point or not y.dtype.is_floating_point else y.isnan()


def _index(lib: Any, z: Any, y: Any, k: int) -> Any:
    """An index into z chosen by k: a bool mask of z or of y, an int, a slice, an ellipsis, an int tensor."""
    return [lambda: z > 0, lambda: 0, lambda: slice(1, None), lambda: ..., lambda: lib.tensor([0, -1]),
            lambda: y > 0][k % 6]()


def _setitem(lib: Any, z: Any, y: Any, k: int, v: Any) -> Any:
    """z[index] = v (a number), or = y (broadcast) when v is None."""
    z[_index(lib, z, y, k)] = _tensor_value(z, y) if v is None else _fill_value(z, v)
    return z


def _graph(x: Any) -> Any:
    """x.clone(): in the graph when x requires grad, where minitorch-dg refuses in-place ops on purpose."""
    return x.clone()


INPLACE = {
    # on a detached copy (compared on values), and on the graph (torch differentiates; minitorch-dg refuses
    # deliberately and says so: agreement.py accepts that refusal only then)
    "setitem": lambda lib, x, y, k, v: _setitem(lib, x.detach().clone(), y, k, v),
    "setitem_tensor": lambda lib, x, y, k, v: _setitem(lib, x.detach().clone(), y, k if k % 6 != 4 else 0, None),
    "setitem_graph": lambda lib, x, y, k, v: _setitem(lib, _graph(x), y, k, v),
    "masked_fill_": lambda lib, x, y, k, v: (z := x.detach().clone()).masked_fill_(z > 0, _fill_value(z, v)),
    "masked_fill__graph": lambda lib, x, y, k, v: (z := _graph(x)).masked_fill_(z < 1, _fill_value(z, v)),
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
    # torch has no derivative for // (a backward pass through it raises): mostly drawn on detached values
    "floordiv": lambda lib, x, y: x.detach() // y.detach(),
    "floordiv_grad": lambda lib, x, y: x // y,
    "mod": lambda lib, x, y: x % _no_subnormal(y),
    "where_method": lambda lib, x, y: x.where(x > y, y),
    "cross_entropy_mean": lambda lib, x, y: _loss(lib, "cross_entropy", x, y, "mean"),
    "cross_entropy_sum": lambda lib, x, y: _loss(lib, "cross_entropy", x, y, "sum"),
    "cross_entropy_none": lambda lib, x, y: _loss(lib, "cross_entropy", x, y, "none"),
    "nll_loss_mean": lambda lib, x, y: _loss(lib, "nll_loss", x, y, "mean"),
    "nll_loss_none": lambda lib, x, y: _loss(lib, "nll_loss", x, y, "none"),
}


def _loss(lib: Any, name: str, x: Any, y: Any, reduction: str) -> Any:
    """A classification loss of x as (C,), (N, C) or (N, C, d...) with class targets taken from y's values
    (|y| mod C, so they fit; y's shape is ignored: the target has the shape the input needs)."""
    shape = tuple(x.shape)
    target_shape = () if len(shape) <= 1 else shape[:1] + shape[2:]
    classes = shape[1] if len(shape) >= 2 else (shape[0] if shape else 1)
    source = [abs(int(v)) if v == v and abs(v) != INF else 1 for v in y.detach().reshape(-1).tolist()] or [0]
    count = int(np.prod(target_shape)) if target_shape else 1
    picks = [source[i % len(source)] % max(classes, 1) for i in range(count)]
    target = lib.tensor(picks, dtype=lib.int64).reshape(target_shape)
    return getattr(_F(lib), name)(x, target, reduction=reduction)

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
    "any_dim": lambda lib, x, y, k, keep: x.any(_dim(x, k), keepdim=keep),
    "all_dim": lambda lib, x, y, k, keep: x.all(_dim(x, k), keepdim=keep),
    "var_correction": lambda lib, x, y, k, keep: x.var(_dim(x, k), correction=k % 3, keepdim=keep),
    "std_correction_all": lambda lib, x, y, k, keep: x.std(correction=k % 3),
    "cumsum": lambda lib, x, y, k, keep: x.cumsum(_dim(x, k)),
    "sort": lambda lib, x, y, k, keep: x.sort(dim=_dim(x, k), descending=keep, stable=True),
    "sort_values": lambda lib, x, y, k, keep: lib.sort(x, _dim(x, k), descending=keep).values,
    "topk": lambda lib, x, y, k, keep: x.topk(_top(x, k), _dim(x, k), largest=keep),
    "logsumexp_empty_dims": lambda lib, x, y, k, keep: x.logsumexp(dim=(), keepdim=keep),
}


def _top(x: Any, k: int) -> int:
    """How many topk takes along _dim(x, k): from 0 to the whole dim."""
    size = x.shape[_dim(x, k)] if x.dim() else 1
    return k % (size + 1)

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
    "flip": lambda lib, x, y, k: x.flip(_dim(x, k)),
    "flip_dims": lambda lib, x, y, k: x.flip(0, -1) if k % 2 else lib.flip(x, (_dim(x, k), _dim(x, k + 1))),
    "movedim": lambda lib, x, y, k: x.movedim(_dim(x, k), _dim(x, k + 1)),
    "squeeze_tuple": lambda lib, x, y, k: x.squeeze((_dim(x, k), _dim(x, k + 1))),
}


def apply_step(lib: Any, name: str, args: tuple[Any, ...], x: Any, y: Any) -> Any:
    for table in (UNARY, BINARY, REDUCE, SHAPE, INPLACE):
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
        if isinstance(x, tuple):  # max(dim), sort, topk: (values, indices)
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
    kind = draw(st.sampled_from(["unary", "unary", "binary", "reduce", "reduce", "shape", "shape", "inplace"]))
    if kind == "unary":
        name = draw(st.sampled_from(sorted(UNARY)))
        if name in ("clamp_min", "clamp_max", "add_scalar", "mul_scalar", "rdiv_scalar", "masked_fill",
                    "where_scalar", "floordiv_scalar", "mod_scalar", "rfloordiv_scalar", "rmod_scalar",
                    "rmod_scalar_grad"):
            return name, (draw(SCALARS),)
        if name in ("leaky_relu", "elu", "softplus"):
            return name, (draw(st.sampled_from([0.01, 0.5, 1.0, 2.0] + ([-1.0, 0.0] if name != "softplus" else []))),)
        if name == "pow":
            return name, (draw(st.sampled_from([2, 3, 0, 0.5, -1, -2, 1.5])),)
        if name == "rpow":
            return name, (draw(st.sampled_from([2, 0.5, 3, 0, -2, 2.5])),)
        return name, ()
    if kind == "binary":
        return draw(st.sampled_from(sorted(BINARY))), ()
    if kind == "reduce":
        return draw(st.sampled_from(sorted(REDUCE))), (draw(st.integers(0, 5)), draw(st.booleans()))
    if kind == "inplace":
        return draw(st.sampled_from(sorted(INPLACE))), (draw(st.integers(0, 5)), draw(SCALARS))
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
