"""The element functions of the fast backend, as Numba sees them: `unary`, `binary`, `fold`, `identity`.

A kernel of ex06 is built for one operation: `tensor_map(op)` returns a kernel whose closure holds the
integer `op`. Numba freezes closure variables into constants, so inside the kernel `unary(op, x)` is
resolved *while Numba compiles*, from the literal value of `op`, to the code of that one operation
(an `@overload` chosen at typing time). The loop then contains nothing but that operation, which LLVM
can vectorise, and no branch on the op at run time. Because the closure holds a plain integer, Numba's
on-disk cache works for it (the cache key includes a hash of the closure's values): a fresh process
loads the compiled kernel instead of compiling it again.

Everything about an op comes from the table of element-wise ops (minitorch_dg/elementwise.py):

* Op ids. `op_id("exp")` is the position of the name in the table's UNARY_OPS (or BINARY_OPS /
  REDUCE_OPS) plus `256 * FRAMEWORK_STAMP`, a fingerprint of the source files whose code is compiled
  into kernels (COMPILED_MODULES: this file, vecmath.py, indexing.py, memory.py and the table with its
  formulas). A compiled ex06 kernel contains the code of these functions; when they change, the stamp
  and therefore the op id change, the kernel's cache key changes with them, and Numba compiles afresh
  instead of loading a stale kernel. (Numba's cache only watches the file of the function it compiles.)
* The code of an op, for the operand types Numba sees: the entry's `vector` function of vecmath.py
  (float32 in float32, anything else in float64), else its `integers` variant when every operand is an
  integer or a bool, else its `compiled` variant (IEEE arithmetic), else its `formula`. Unary ops whose
  result is FLOAT compute integer and bool operands in float64. Formulas are compiled with
  inline="always", so that they become part of the kernel and take its fastmath flags (a sum loop
  vectorises only when its additions may be reordered); a fold's formula with branches (max, min) is
  called instead (see `_fold_numba`).
* A reduction folds with its combining op's formula, from its `start` (for integers: the dtype's lowest
  or highest value in place of -inf / inf; for bools: False / True).

Semantics are those of the simple backend (`minitorch_dg.scalar_ops`): torch's values at the edges of
the domain (exp overflow = inf, log(0) = -inf, 1/0 = inf, maximum propagates NaN) and ex01's functions
inside it (relu(x) = x if x > 0 else 0, relu_back(x, d) = d if x > 0 else 0; at nan, as torch, relu
keeps the nan and relu_back passes d).

Every function here also runs as plain Python (for debugging and for the tests that run a kernel's
Python source), with the same variant choice, on numpy scalars.
"""

from __future__ import annotations

import dis
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload

from .. import elementwise
from ..elementwise import FLOAT, ElementOp, Kind
from . import vecmath

# ---------------------------------------------------------------------------------------------------
# Op ids
# ---------------------------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parent.parent  # minitorch_dg/
# the code that ends up inside kernels, relative to the package
COMPILED_MODULES = ("fast/ops.py", "fast/vecmath.py", "fast/indexing.py", "fast/memory.py", "elementwise.py")


def _framework_stamp() -> int:
    """16 bits of a hash of the source files whose code Numba compiles into ex06's kernels."""
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update(name.encode())
        digest.update((PACKAGE / name).read_bytes())
    return int.from_bytes(digest.digest()[:2], "little")


FRAMEWORK_STAMP = _framework_stamp()
KINDS: dict[str, tuple[str, ...]] = {kind: elementwise.names(kind) for kind in elementwise.KINDS}


def op_id(name: str, kind: Kind | None = None) -> int:
    """The op id of `name` ('exp', 'add', 'sum', ...), to pass to tensor_map / tensor_zip / tensor_reduce."""
    entry = elementwise.lookup(name, kind)
    return elementwise.code(entry.name, entry.kind) + 256 * FRAMEWORK_STAMP


def op_name(op: int, kind: str) -> str:
    """The name behind an op id (raises ValueError for an id that is not of this kind)."""
    code = int(op) % 256
    names = KINDS[kind]
    if not 0 <= code < len(names):
        raise ValueError(f"{op} is not the id of a {kind} op (ids come from minitorch_dg.fast.op_id)")
    return names[code]


def _entry(op: int, kind: Kind) -> ElementOp:
    return elementwise.lookup(op_name(op, kind), kind)


def _literal_entry(op: Any, kind: Kind, function: str) -> ElementOp:
    """At typing time: the table entry from the literal type of `op`, or a TypingError that says what to do."""
    if not isinstance(op, types.IntegerLiteral):
        raise TypingError(
            f"{function}(op, ...) needs `op` to be a constant that Numba knows while compiling: build the kernel "
            f"inside a factory such as tensor_map(op), so that `op` is a closure variable of the kernel (got {op})"
        )
    try:
        return _entry(op.literal_value, kind)
    except ValueError as error:
        raise TypingError(str(error)) from None


# ---------------------------------------------------------------------------------------------------
# Python versions (the same choice of variant as the compiled ones, on numpy scalars)
# ---------------------------------------------------------------------------------------------------


def _is_integer_value(value: Any) -> bool:
    return isinstance(value, (np.bool_, np.integer))


def _is_float_value(value: Any) -> bool:
    return isinstance(value, np.floating)


def _python_value(entry: ElementOp, *args: Any) -> Any:
    """`entry` applied to scalars as Python: its `integers` variant for integer operands, else `compiled`,
    else `formula`; FLOAT unary ops take integer and bool operands as float64. Python numbers are taken as
    numpy scalars (whose arithmetic follows IEEE, as compiled code does: 1 / 0.0 = inf); errors are silent."""
    args = tuple(a if isinstance(a, np.generic) else np.asarray(a)[()] for a in args)
    with np.errstate(all="ignore"):
        if entry.integers is not None and all(_is_integer_value(a) for a in args):
            return entry.integers(*args)
        if entry.kind == elementwise.UNARY and entry.result == FLOAT and not _is_float_value(args[0]):
            args = (np.float64(args[0]),)
        function = entry.compiled if entry.compiled is not None else entry.formula
        return function(*args)


def unary(op: int, x: Any) -> Any:
    """op(x) for a unary op id (exp, relu, ...). In a kernel, `op` must be a closure constant."""
    return _python_value(_entry(op, elementwise.UNARY), x)


def binary(op: int, a: Any, b: Any) -> Any:
    """op(a, b) for a binary op id (add, lt, relu_back, ...)."""
    return _python_value(_entry(op, elementwise.BINARY), a, b)


def fold(op: int, acc: Any, x: Any) -> Any:
    """One step of a reduction: acc + x (sum), acc * x (prod), max / min propagating NaN. Same type as acc."""
    entry = _entry(op, elementwise.REDUCE)
    with np.errstate(all="ignore"):
        return type(acc)(entry.formula(acc, x))


def _start_value(entry: ElementOp, dtype: np.dtype) -> Any:
    """A reduction's identity in `dtype`: its `start`, with the dtype's extreme value for an infinite start
    of an integer dtype, and False / True for -inf / inf in bool."""
    start = entry.start if entry.start is not None else 0
    if np.isfinite(start) or dtype.kind == "f":
        return dtype.type(start)
    if dtype == np.bool_:
        return dtype.type(start > 0)
    info = np.iinfo(dtype)
    return dtype.type(info.min if start < 0 else info.max)


def identity(op: int, like: Any) -> Any:
    """The start value of a reduction, of the type of `like`: 0 (sum), 1 (prod), the lowest (max), highest (min)."""
    return _start_value(_entry(op, elementwise.REDUCE), np.asarray(like).dtype)


# ---------------------------------------------------------------------------------------------------
# Numba versions: chosen at typing time from the literal op
# ---------------------------------------------------------------------------------------------------

# Every formula of the table compiled twice: to be inlined into the code that calls it (at Numba's IR level,
# so that it takes the kernel's flags), and as a function of its own (which LLVM inlines later).
INLINED: dict[str, Any] = elementwise.compile_formulas(lambda function: njit(inline="always")(function))
CALLED: dict[str, Any] = elementwise.compile_formulas(lambda function: njit(error_model="numpy")(function))


def _straight_line(function: Callable[..., Any]) -> bool:
    """True when `function`'s bytecode has no jump: no branch, loop, conditional expression or and/or."""
    return not any("JUMP" in instruction.opname for instruction in dis.get_instructions(function))


def _is_float(t: Any, bits: int | None = None) -> bool:
    return isinstance(t, types.Float) and (bits is None or t.bitwidth == bits)


def _is_intlike(t: Any) -> bool:
    return isinstance(t, (types.Integer, types.Boolean))


def _compiled(function: Callable[..., Any]) -> Any:
    return INLINED[function.__name__]


def _numba_function(entry: ElementOp, *operands: Any) -> Any:
    """The compiled function that computes `entry` on operands of these Numba types (see the docstring)."""
    if entry.integers is not None and all(_is_intlike(t) for t in operands):
        return _compiled(entry.integers)
    return _compiled(entry.compiled if entry.compiled is not None else entry.formula)


def _unary_impl(entry: ElementOp, x: Any) -> Any:
    """A Python function (op, x) -> value for `entry` on a value of Numba type `x`."""
    if entry.vector is not None:
        single = getattr(vecmath, f"{entry.vector}32")
        double = getattr(vecmath, f"{entry.vector}64")
        if _is_float(x, 32):
            return lambda op, x: single(x)
        return lambda op, x: double(np.float64(x))
    function = _numba_function(entry, x)
    if entry.result == FLOAT and not _is_float(x):
        return lambda op, x: function(np.float64(x))
    return lambda op, x: function(x)


def _binary_impl(entry: ElementOp, a: Any, b: Any) -> Any:
    """A Python function (op, a, b) -> value for `entry` on values of Numba types `a` and `b`."""
    function = _numba_function(entry, a, b)
    return lambda op, a, b: function(a, b)


@overload(unary, prefer_literal=True, jit_options={"error_model": "numpy"})
def _unary_numba(op, x):  # type: ignore[no-untyped-def]  (Numba compares these names with the impl's)
    return _unary_impl(_literal_entry(op, elementwise.UNARY, "unary"), x)


@overload(binary, prefer_literal=True, jit_options={"error_model": "numpy"})
def _binary_numba(op, a, b):  # type: ignore[no-untyped-def]
    return _binary_impl(_literal_entry(op, elementwise.BINARY, "binary"), a, b)


# `fold` and `identity` are inlined into the calling kernel (inline="always"), so that they are compiled
# with the kernel's own fastmath flags: a sum loop vectorises only when its additions may be reordered.


# The combining formula of a fold is inlined too when it is straight-line code (sum's `acc + x`, which must
# carry the kernel's `reassoc` flag); one with branches (max's NaN test) is called instead: Numba's IR
# inliner cannot nest its branches inside the inlined fold without warnings, and it needs no fast flags.


@overload(fold, prefer_literal=True, inline="always")
def _fold_numba(op, acc, x):  # type: ignore[no-untyped-def]
    formula = _literal_entry(op, elementwise.REDUCE, "fold").formula
    combine = (INLINED if _straight_line(formula) else CALLED)[formula.__name__]
    return lambda op, acc, x: type(acc)(combine(acc, x))


@overload(identity, prefer_literal=True, inline="always")
def _identity_numba(op, like):  # type: ignore[no-untyped-def]
    entry = _literal_entry(op, elementwise.REDUCE, "identity")
    if isinstance(like, types.Boolean):
        value = bool(_start_value(entry, np.dtype(np.bool_)))
        return lambda op, like: value
    if isinstance(like, (types.Float, types.Integer)):
        start = _start_value(entry, np.dtype(str(like))).item()
        return lambda op, like: type(like)(start)
    raise TypingError(f"identity({entry.name!r}) of a value of type {like}")
