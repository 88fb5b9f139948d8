"""The element functions of the fast backend, as Numba sees them: `unary`, `binary`, `fold`, `identity`.

A kernel of ex06 is built for one operation: `tensor_map(op)` returns a kernel whose closure holds the
integer `op`. Numba freezes closure variables into constants, so inside the kernel `unary(op, x)` is
resolved *while Numba compiles*, from the literal value of `op`, to the code of that one operation
(an `@overload` chosen at typing time). The loop then contains nothing but that operation, which LLVM
can vectorise, and no branch on the op at run time. Because the closure holds a plain integer, Numba's
on-disk cache works for it (the cache key includes a hash of the closure's values): a fresh process
loads the compiled kernel instead of compiling it again.

Op ids. `op_id("exp")` is the position of the name in `scalar_ops.UNARY_OPS` (or BINARY_OPS /
REDUCE_OPS) plus `256 * FRAMEWORK_STAMP`, a fingerprint of the source files of this package whose code
is compiled into kernels (ops.py, vecmath.py, indexing.py, memory.py). A
compiled ex06 kernel contains the code of these functions; when they change, the stamp and therefore
the op id change, the kernel's cache key changes with them, and Numba compiles afresh instead of
loading a stale kernel. (Numba's cache only watches the file of the function it compiles.)

Semantics are those of the simple backend (`minitorch_dg.scalar_ops`): torch's values at the edges of
the domain (exp overflow = inf, log(0) = -inf, 1/0 = inf, maximum propagates NaN) and ex01's functions
inside it (relu(x) = x if x > 0 else 0, relu_back(x, d) = d if x > 0 else 0; at nan, as torch, relu
keeps the nan and relu_back passes d).

Every function here also runs as plain Python (for debugging and for the tests that run a kernel's
Python source), with the same results.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload

from ..scalar_ops import BINARY_OPS, REDUCE_OPS, UNARY_OPS
from . import vecmath

# ---------------------------------------------------------------------------------------------------
# Op ids
# ---------------------------------------------------------------------------------------------------


COMPILED_MODULES = ("ops.py", "vecmath.py", "indexing.py", "memory.py")  # the code that ends up inside kernels


def _framework_stamp() -> int:
    """16 bits of a hash of the source files whose code Numba compiles into ex06's kernels."""
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update(name.encode())
        digest.update((Path(__file__).parent / name).read_bytes())
    return int.from_bytes(digest.digest()[:2], "little")


FRAMEWORK_STAMP = _framework_stamp()
KINDS = {"unary": UNARY_OPS, "binary": BINARY_OPS, "reduce": REDUCE_OPS}


def op_id(name: str, kind: str | None = None) -> int:
    """The op id of `name` ('exp', 'add', 'sum', ...), to pass to tensor_map / tensor_zip / tensor_reduce."""
    kinds = [kind] if kind else [k for k, names in KINDS.items() if name in names]
    if not kinds or name not in KINDS[kinds[0]]:
        raise ValueError(f"unknown {kind or 'element'} op {name!r}")
    return KINDS[kinds[0]].index(name) + 256 * FRAMEWORK_STAMP


def op_name(op: int, kind: str) -> str:
    """The name behind an op id (raises ValueError for an id that is not of this kind)."""
    code = int(op) % 256
    names = KINDS[kind]
    if not 0 <= code < len(names):
        raise ValueError(f"{op} is not the id of a {kind} op (ids come from minitorch_dg.fast.op_id)")
    return names[code]


def _literal_name(op: Any, kind: str, function: str) -> str:
    """At typing time: the op name from the literal type of `op`, or a TypingError that says what to do."""
    if not isinstance(op, types.IntegerLiteral):
        raise TypingError(
            f"{function}(op, ...) needs `op` to be a constant that Numba knows while compiling: build the kernel "
            f"inside a factory such as tensor_map(op), so that `op` is a closure variable of the kernel (got {op})"
        )
    try:
        return op_name(op.literal_value, kind)
    except ValueError as error:
        raise TypingError(str(error)) from None


# ---------------------------------------------------------------------------------------------------
# Python versions (also the reference semantics)
# ---------------------------------------------------------------------------------------------------


def _py_div(a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):
        return np.float64(a) / np.float64(b)


def _py_maximum(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return math.nan
    return a if a > b else b


def _py_minimum(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return math.nan
    return a if a < b else b


def _py_pow(a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):
        if isinstance(a, (int, np.integer, bool, np.bool_)) and isinstance(b, (int, np.integer, bool, np.bool_)):
            if b >= 0:
                return int(a) ** int(b)
            return np.float64(a) ** np.float64(b)
        return np.power(np.float64(a), np.float64(b))


def _py_unary(name: str, x: Any) -> Any:
    with np.errstate(all="ignore"):
        f = np.float64(x)
        if name == "id":
            return x
        if name == "neg":
            return -x
        if name == "exp":
            return np.exp(f)
        if name == "log":
            return np.log(f)
        if name == "sigmoid":
            return vecmath.sigmoid64.py_func(f)
        if name == "relu":
            return x if (x > 0 or x != x) else type(x)(0)
        if name == "tanh":
            return np.tanh(f)
        if name == "inv":
            return 1.0 / f
        if name == "abs":
            return abs(x)
        if name == "sqrt":
            return np.sqrt(f)
        if name == "logical_not":
            return not x
        raise ValueError(name)


def _py_binary(name: str, a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):
        if name == "add":
            return a + b
        if name == "sub":
            return a - b
        if name == "mul":
            return a * b
        if name == "div":
            return _py_div(a, b)
        if name == "pow":
            return _py_pow(a, b)
        if name == "maximum":
            return _py_maximum(a, b)
        if name == "minimum":
            return _py_minimum(a, b)
        if name == "lt":
            return a < b
        if name == "le":
            return a <= b
        if name == "gt":
            return a > b
        if name == "ge":
            return a >= b
        if name == "eq":
            return a == b
        if name == "ne":
            return a != b
        if name == "relu_back":
            return b if (a > 0 or a != a) else type(b)(0)
        if name == "log_back":
            return _py_div(b, a)
        if name == "inv_back":
            return -_py_div(b, a * a)
        if name == "sigmoid_back":
            return b * a * (1 - a)
        if name == "tanh_back":
            return b * (1 - a * a)
        raise ValueError(name)


def unary(op: int, x: Any) -> Any:
    """op(x) for a unary op id (exp, relu, ...). In a kernel, `op` must be a closure constant."""
    return _py_unary(op_name(op, "unary"), x)


def binary(op: int, a: Any, b: Any) -> Any:
    """op(a, b) for a binary op id (add, lt, relu_back, ...)."""
    return _py_binary(op_name(op, "binary"), a, b)


def fold(op: int, acc: Any, x: Any) -> Any:
    """One step of a reduction: acc + x (sum), acc * x (prod), max / min propagating NaN. Same type as acc."""
    name = op_name(op, "reduce")
    if name == "sum":
        return type(acc)(acc + x)
    if name == "prod":
        return type(acc)(acc * x)
    value = _py_maximum(acc, x) if name == "max" else _py_minimum(acc, x)
    return type(acc)(value)


def identity(op: int, like: Any) -> Any:
    """The start value of a reduction, of the type of `like`: 0 (sum), 1 (prod), the lowest (max), highest (min)."""
    name = op_name(op, "reduce")
    kind = np.asarray(like).dtype
    if name == "sum":
        return kind.type(0)
    if name == "prod":
        return kind.type(1)
    if kind == np.bool_:
        return kind.type(name == "min")
    if kind.kind == "f":
        return kind.type(-np.inf if name == "max" else np.inf)
    info = np.iinfo(kind)
    return kind.type(info.min if name == "max" else info.max)


# ---------------------------------------------------------------------------------------------------
# Numba versions: chosen at typing time from the literal op
# ---------------------------------------------------------------------------------------------------


def _is_float(t: Any, bits: int | None = None) -> bool:
    return isinstance(t, types.Float) and (bits is None or t.bitwidth == bits)


def _is_intlike(t: Any) -> bool:
    return isinstance(t, (types.Integer, types.Boolean))


@njit(cache=True, error_model="numpy")
def _maximum_float(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return a + b  # NaN, of the type a and b promote to
    return a if a > b else b


@njit(cache=True, error_model="numpy")
def _minimum_float(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return a + b
    return a if a < b else b


@njit(cache=True, error_model="numpy")
def _pow_int(a: Any, b: Any) -> Any:
    """a ** b for integers: exact for b >= 0 (wrapping on overflow, as int64 does), via float64 for b < 0."""
    if b < 0:
        return np.int64(np.float64(a) ** np.float64(b))
    result = np.int64(1)
    base = np.int64(a)
    e = np.int64(b)
    while e > 0:
        if e & 1:
            result = result * base
        base = base * base
        e >>= 1
    return result


def _unary_impl(name: str, x: Any) -> Any:
    """A Python function (op, x) -> value for op `name` on a value of Numba type `x`."""
    f32 = _is_float(x, 32)
    if name == "id":
        return lambda op, x: x
    if name == "neg":
        return lambda op, x: -x
    if name == "exp":
        if f32:
            return lambda op, x: vecmath.exp32(x)
        return lambda op, x: vecmath.exp64(np.float64(x))
    if name == "log":
        if _is_float(x):
            return lambda op, x: np.log(x)
        return lambda op, x: np.log(np.float64(x))
    if name == "sigmoid":
        if f32:
            return lambda op, x: vecmath.sigmoid32(x)
        return lambda op, x: vecmath.sigmoid64(np.float64(x))
    if name == "tanh":
        if f32:
            return lambda op, x: vecmath.tanh32(x)
        return lambda op, x: vecmath.tanh64(np.float64(x))
    if name == "relu":
        return lambda op, x: x if (x > 0 or x != x) else type(x)(0)
    if name == "inv":
        if _is_float(x):
            return lambda op, x: type(x)(1) / x
        return lambda op, x: 1.0 / np.float64(x)
    if name == "abs":
        return lambda op, x: abs(x)
    if name == "sqrt":
        if _is_float(x):
            return lambda op, x: np.sqrt(x)
        return lambda op, x: np.sqrt(np.float64(x))
    if name == "logical_not":
        return lambda op, x: not x
    raise TypingError(f"no fast version of unary op {name!r}")


def _binary_impl(name: str, a: Any, b: Any) -> Any:
    both_int = _is_intlike(a) and _is_intlike(b)
    if name == "add":
        return lambda op, a, b: a + b
    if name == "sub":
        return lambda op, a, b: a - b
    if name == "mul":
        return lambda op, a, b: a * b
    if name == "div":
        if both_int:
            return lambda op, a, b: np.float64(a) / np.float64(b)
        return lambda op, a, b: a / b
    if name == "pow":
        if both_int:
            return lambda op, a, b: _pow_int(a, b)
        return lambda op, a, b: a ** b
    if name in ("maximum", "minimum"):
        if both_int:
            if name == "maximum":
                return lambda op, a, b: a if a > b else b
            return lambda op, a, b: a if a < b else b
        if name == "maximum":
            return lambda op, a, b: _maximum_float(a, b)
        return lambda op, a, b: _minimum_float(a, b)
    if name == "lt":
        return lambda op, a, b: a < b
    if name == "le":
        return lambda op, a, b: a <= b
    if name == "gt":
        return lambda op, a, b: a > b
    if name == "ge":
        return lambda op, a, b: a >= b
    if name == "eq":
        return lambda op, a, b: a == b
    if name == "ne":
        return lambda op, a, b: a != b
    if name == "relu_back":
        return lambda op, a, b: b if (a > 0 or a != a) else type(b)(0)
    if name == "log_back":
        if both_int:
            return lambda op, a, b: np.float64(b) / np.float64(a)
        return lambda op, a, b: b / a
    if name == "inv_back":
        if both_int:
            return lambda op, a, b: -(np.float64(b) / np.float64(a * a))
        return lambda op, a, b: -(b / (a * a))
    if name == "sigmoid_back":
        return lambda op, a, b: b * a * (type(a)(1) - a)
    if name == "tanh_back":
        return lambda op, a, b: b * (type(a)(1) - a * a)
    raise TypingError(f"no fast version of binary op {name!r}")


@overload(unary, prefer_literal=True, jit_options={"error_model": "numpy"})
def _unary_numba(op, x):  # type: ignore[no-untyped-def]  (Numba compares these names with the impl's)
    return _unary_impl(_literal_name(op, "unary", "unary"), x)


@overload(binary, prefer_literal=True, jit_options={"error_model": "numpy"})
def _binary_numba(op, a, b):  # type: ignore[no-untyped-def]
    return _binary_impl(_literal_name(op, "binary", "binary"), a, b)


# `fold` and `identity` are inlined into the calling kernel (inline="always"), so that they are compiled
# with the kernel's own fastmath flags: a sum loop vectorises only when its additions may be reordered.


@njit(cache=True)
def _fold_max(acc, x):  # type: ignore[no-untyped-def]
    if acc != acc or x != x:
        return type(acc)(acc + x)  # NaN propagates (no-op for integers: they are never NaN)
    return acc if acc > x else type(acc)(x)


@njit(cache=True)
def _fold_min(acc, x):  # type: ignore[no-untyped-def]
    if acc != acc or x != x:
        return type(acc)(acc + x)
    return acc if acc < x else type(acc)(x)


@overload(fold, prefer_literal=True, inline="always")
def _fold_numba(op, acc, x):  # type: ignore[no-untyped-def]
    name = _literal_name(op, "reduce", "fold")
    if name == "sum":
        return lambda op, acc, x: type(acc)(acc + x)
    if name == "prod":
        return lambda op, acc, x: type(acc)(acc * x)
    if name == "max":
        return lambda op, acc, x: _fold_max(acc, x)
    return lambda op, acc, x: _fold_min(acc, x)


@overload(identity, prefer_literal=True, inline="always")
def _identity_numba(op, like):  # type: ignore[no-untyped-def]
    name = _literal_name(op, "reduce", "identity")
    if name == "sum":
        return lambda op, like: type(like)(0)
    if name == "prod":
        return lambda op, like: type(like)(1)
    if isinstance(like, types.Boolean):
        value = name == "min"
        return lambda op, like: value
    if _is_float(like):
        value = -np.inf if name == "max" else np.inf
        return lambda op, like: type(like)(value)
    if isinstance(like, types.Integer):
        info = np.iinfo(np.dtype(str(like)))
        value = int(info.min if name == "max" else info.max)
        return lambda op, like: type(like)(value)
    raise TypingError(f"identity({name!r}) of a value of type {like}")
