"""The element-wise operations of minitorch-dg: one table that every backend derives from.

`OPS` lists every op that `K.map`, `K.zip` and `K.reduce` know, in op-code order, each as an `ElementOp`:

    name      "exp", "add", "relu_back", "sum", ...
    kind      "unary" (K.map), "binary" (K.zip) or "reduce" (K.reduce)
    result    the dtype rule: SAME, FLOAT (integer and bool operands give the default float), BOOL
              (comparisons, logical_not) or WIDE (a reduction of integers or bools accumulates in int64)
    formula   torch's value for one element, as a plain Python function (of x, of (a, b), or for a
              reduction of (acc, x)), written with explicit tests at the edges of the domain (exp(1000) =
              inf, log(0) = -inf, 1/0 = inf, 0/0 = nan, maximum propagates NaN, relu keeps a NaN) instead
              of relying on IEEE arithmetic. The same function runs as Python, compiled by Numba for the
              CPU (njit) and for the GPU (cuda.jit(device=True)): `compile_formulas` compiles them all.

and, where a backend does better with a variant, the variant, in the same entry:

    scalar    the simple backend's meaning on Python scalars: ex01's function (the student's) inside the
              domain, with the formula's edges around it
    compiled  a faster form for compiled CPU code, where IEEE arithmetic (error_model="numpy") gives the
              edges by itself: `a / b` instead of a branch on b == 0 (2-3x faster in a loop)
    integers  the form when every operand is an integer or a bool (pow: exact, as torch's integer pow)
    vector    the fast backend uses minitorch_dg.fast.vecmath's `<vector>32` / `<vector>64` (vectorisable,
              no libm call) for this op
    start     a reduction's identity (the value of an empty fold)

How each backend derives its ops from the table:

* simple (minitorch_dg.scalar_ops): `scalar`, else `formula`, called on the elements (Python / numpy
  scalars); a reduction folds with its combining op's function from `start`.
* fast (minitorch_dg.fast.ops): op ids are positions in UNARY_OPS / BINARY_OPS / REDUCE_OPS; for the
  literal op id of a kernel Numba compiles `vector`, else `integers` (integer operands), else `compiled`,
  else `formula`; FLOAT ops convert integer operands to float64 first.
* cuda (minitorch_dg.backends.cuda_ops): op codes are the same positions; `unary_op`, `binary_op`,
  `reduce_start` and `reduce_combine` are generated from the table and call the `formula`s compiled as
  device functions, in float64 (comparisons see the operands as they are).

Adding an op is one entry here (and its use in kernels.py / function.py). The module imports no Numba.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType
from typing import Any, Literal

import numpy as np

from . import course

Kind = Literal["unary", "binary", "reduce"]
UNARY: Kind = "unary"
BINARY: Kind = "binary"
REDUCE: Kind = "reduce"
KINDS: tuple[Kind, ...] = (UNARY, BINARY, REDUCE)

Result = Literal["same", "float", "bool", "wide"]
SAME: Result = "same"  # the dtype of the (promoted) operands
FLOAT: Result = "float"  # integer and bool operands give the default float dtype (exp, log, ..., div)
BOOL: Result = "bool"  # a bool tensor (comparisons, logical_not)
WIDE: Result = "wide"  # reductions: integer and bool tensors accumulate in int64 (sum, prod)

INF = math.inf
NAN = math.nan
EXP_LIMIT = 709.782712893384  # exp(x) overflows float64 above this

ex01 = course.ExerciseProxy("ex01")

_FORMULAS: list[FunctionType] = []


def register_formula(function: FunctionType) -> FunctionType:
    """Register `function` as a formula: compiled by `compile_formulas`, callable by name from other formulas.

    A formula uses only arithmetic, comparisons, `math`, `type(x)(k)` and other formulas (plus numpy in
    `compiled` / `integers` variants, which only compiled CPU code and Python run); no exceptions."""
    _FORMULAS.append(function)
    return function


# ---------------------------------------------------------------------------------------------------
# Formulas: torch's value, the edges tested explicitly (they run as Python, njit and cuda.jit)
# ---------------------------------------------------------------------------------------------------


@register_formula
def identity(x: Any) -> Any:
    """x."""
    return x


@register_formula
def negative(x: Any) -> Any:
    """-x."""
    return -x


@register_formula
def exp(x: Any) -> Any:
    """e^x; inf above EXP_LIMIT (where Python's math.exp raises)."""
    return INF if x > EXP_LIMIT else math.exp(x)


@register_formula
def log(x: Any) -> Any:
    """ln x; -inf at 0, nan below 0 (and at nan)."""
    if x > 0:
        return math.log(x)
    return -INF if x == 0 else NAN


@register_formula
def sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x) from e^-|x| <= 1, so that nothing overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@register_formula
def relu(x: Any) -> Any:
    """x if x > 0 else 0 (of x's type); a nan stays nan, as in torch."""
    return x if (x > 0 or x != x) else type(x)(0)


@register_formula
def tanh(x: Any) -> Any:
    """tanh x."""
    return math.tanh(x)


@register_formula
def reciprocal(x: Any) -> Any:
    """1 / x; +-inf at +-0 (1/-0.0 is -inf)."""
    if x == 0:
        return math.copysign(INF, x)
    return 1.0 / x


@register_formula
def absolute(x: Any) -> Any:
    """|x|."""
    return abs(x)


@register_formula
def square_root(x: Any) -> Any:
    """sqrt x; nan below 0."""
    return math.sqrt(x) if x >= 0 else NAN


@register_formula
def logical_not(x: Any) -> Any:
    """True where x is 0 (False at nan, which is not 0)."""
    return not x


@register_formula
def add(a: Any, b: Any) -> Any:
    """a + b."""
    return a + b


@register_formula
def subtract(a: Any, b: Any) -> Any:
    """a - b."""
    return a - b


@register_formula
def multiply(a: Any, b: Any) -> Any:
    """a * b."""
    return a * b


@register_formula
def divide(a: Any, b: Any) -> Any:
    """a / b (true division); at b == 0: nan for 0/0 and nan/0, else inf with the sign of a times that of b."""
    if b == 0:
        if a == 0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


@register_formula
def power(a: Any, b: Any) -> Any:
    """a ** b in floats: nan for a negative base and a fractional exponent, inf on overflow, 0 ** -b = inf.

    (math.fmod compiles for CUDA and runs as Python; Numba's CPU target lacks it, and the fast backend uses
    power_ieee / power_integers.)"""
    if a != a or b != b:
        return NAN
    if a == 0:
        if b < 0:
            return INF
        return 1.0 if b == 0 else 0.0
    if a < 0 and math.floor(b) != b:
        return NAN
    if b * math.log(abs(a)) > EXP_LIMIT:
        if a < 0 and math.fmod(b, 2.0) != 0:
            return -INF
        return INF
    return math.pow(a, b)


@register_formula
def maximum(a: Any, b: Any) -> Any:
    """The larger of a and b; nan when either is nan (a + b is that nan, in the type a and b promote to);
    a when they tie, as torch (maximum(-0.0, 0.0) is -0.0, so clamp(-0.0, min=0) keeps its sign)."""
    if a != a or b != b:
        return a + b
    return b if b > a else a


@register_formula
def minimum(a: Any, b: Any) -> Any:
    """The smaller of a and b; nan when either is nan; a when they tie, as torch."""
    if a != a or b != b:
        return a + b
    return b if b < a else a


@register_formula
def less(a: Any, b: Any) -> Any:
    """a < b."""
    return a < b


@register_formula
def less_equal(a: Any, b: Any) -> Any:
    """a <= b."""
    return a <= b


@register_formula
def greater(a: Any, b: Any) -> Any:
    """a > b."""
    return a > b


@register_formula
def greater_equal(a: Any, b: Any) -> Any:
    """a >= b."""
    return a >= b


@register_formula
def equal(a: Any, b: Any) -> Any:
    """a == b."""
    return a == b


@register_formula
def not_equal(a: Any, b: Any) -> Any:
    """a != b."""
    return a != b


@register_formula
def relu_back(x: Any, d: Any) -> Any:
    """The gradient d where x > 0, else 0; torch passes d at a nan x."""
    return d if (x > 0 or x != x) else type(d)(0)


@register_formula
def log_back(x: Any, d: Any) -> Any:
    """d / x, the gradient of log."""
    return divide(d, x)


@register_formula
def inv_back(x: Any, d: Any) -> Any:
    """-d / x^2, the gradient of 1/x."""
    return -divide(d, x * x)


@register_formula
def sigmoid_back(s: Any, d: Any) -> Any:
    """d * s * (1 - s), with s = sigmoid(x) (the saved output)."""
    return d * s * (type(s)(1) - s)


@register_formula
def tanh_back(t: Any, d: Any) -> Any:
    """d * (1 - t^2), with t = tanh(x) (the saved output)."""
    return d * (type(t)(1) - t * t)


# ---------------------------------------------------------------------------------------------------
# Variants for compiled CPU code, where IEEE arithmetic is in force (and numpy scalars in Python)
# ---------------------------------------------------------------------------------------------------


@register_formula
def log_ieee(x: Any) -> Any:
    """ln x by IEEE rules (log 0 = -inf, log of a negative = nan), in x's precision."""
    return np.log(x)


@register_formula
def reciprocal_ieee(x: Any) -> Any:
    """1 / x in x's precision (IEEE: 1/+-0 = +-inf)."""
    return type(x)(1) / x


@register_formula
def square_root_ieee(x: Any) -> Any:
    """sqrt x by IEEE rules (nan below 0)."""
    return np.sqrt(x)


@register_formula
def divide_ieee(a: Any, b: Any) -> Any:
    """a / b by IEEE rules; integers divide as float64."""
    return a / b


@register_formula
def power_ieee(a: Any, b: Any) -> Any:
    """a ** b by IEEE rules."""
    return a**b


@register_formula
def power_integers(a: Any, b: Any) -> Any:
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


@register_formula
def log_back_ieee(x: Any, d: Any) -> Any:
    """d / x by IEEE rules."""
    return d / x


@register_formula
def inv_back_ieee(x: Any, d: Any) -> Any:
    """-(d / x^2) by IEEE rules."""
    return -(d / (x * x))


# ---------------------------------------------------------------------------------------------------
# The simple backend's meanings where ex01 has the function (ex01 inside the domain, the edges around it)
# ---------------------------------------------------------------------------------------------------


def _scalar_exp(x: Any) -> Any:
    try:
        return ex01.exp(x)
    except OverflowError:
        return INF


def _scalar_log(x: Any) -> Any:
    return ex01.log(x) if x > 0 else log(x)


def _scalar_inv(x: Any) -> Any:
    return reciprocal(x) if x == 0 else ex01.inv(x)


def _scalar_pow(a: Any, b: Any) -> Any:
    """Python's a ** b (exact for integers), with torch's values where Python raises or goes complex."""
    try:
        result = a**b
    except (ZeroDivisionError, OverflowError):
        return INF
    if isinstance(result, complex):
        return NAN
    return result


def _scalar_maximum(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return NAN
    if a == b:  # a tie keeps a, as torch (the sign of a zero: maximum(-0.0, 0.0) is -0.0)
        return a
    return ex01.max(a, b)


def _scalar_minimum(a: Any, b: Any) -> Any:
    if a != a or b != b:
        return NAN
    if a == b:
        return a
    return -ex01.max(-a, -b)


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementOp:
    """One element-wise op: what it is and how each backend computes it (see the module docstring)."""

    name: str
    kind: Kind
    result: Result
    formula: Callable[..., Any]
    scalar: Callable[..., Any] | None = None
    compiled: Callable[..., Any] | None = None
    integers: Callable[..., Any] | None = None
    vector: str | None = None
    start: float | None = None
    combine: str | None = None  # a reduction: the binary op whose formula folds it

    @property
    def arity(self) -> int:
        """How many operands one step takes: 1 for unary ops, 2 for binary ops and reductions (acc, x)."""
        return 1 if self.kind == UNARY else 2

    @property
    def python(self) -> Callable[..., Any]:
        """The function the simple backend applies to Python / numpy scalars: `scalar`, else `formula`."""
        return self.scalar if self.scalar is not None else self.formula

    @property
    def comparison(self) -> bool:
        """True for a binary op whose result is bool (lt, le, gt, ge, eq, ne)."""
        return self.kind == BINARY and self.result == BOOL


def _reduction(name: str, combine: ElementOp, start: float, result: Result) -> ElementOp:
    """A reduction that folds with `combine`'s functions from `start`."""
    return ElementOp(name, REDUCE, result, combine.formula, scalar=combine.scalar, start=start,
                     combine=combine.name)


_ADD = ElementOp("add", BINARY, SAME, add, scalar=lambda a, b: ex01.add(a, b))
_MUL = ElementOp("mul", BINARY, SAME, multiply, scalar=lambda a, b: ex01.mul(a, b))
_MAXIMUM = ElementOp("maximum", BINARY, SAME, maximum, scalar=_scalar_maximum)
_MINIMUM = ElementOp("minimum", BINARY, SAME, minimum, scalar=_scalar_minimum)

# The order within a kind is the op code (and, plus a stamp, the fast backend's op id).
OPS: tuple[ElementOp, ...] = (
    ElementOp("id", UNARY, SAME, identity),
    ElementOp("neg", UNARY, SAME, negative, scalar=lambda x: ex01.neg(x)),
    ElementOp("exp", UNARY, FLOAT, exp, scalar=_scalar_exp, vector="exp"),
    ElementOp("log", UNARY, FLOAT, log, scalar=_scalar_log, compiled=log_ieee),
    ElementOp("sigmoid", UNARY, FLOAT, sigmoid, scalar=lambda x: ex01.sigmoid(x), vector="sigmoid"),
    ElementOp("relu", UNARY, SAME, relu, scalar=lambda x: x if x != x else ex01.relu(x)),
    ElementOp("tanh", UNARY, FLOAT, tanh, scalar=lambda x: ex01.tanh(x), vector="tanh"),
    ElementOp("inv", UNARY, FLOAT, reciprocal, scalar=_scalar_inv, compiled=reciprocal_ieee),
    ElementOp("abs", UNARY, SAME, absolute),
    ElementOp("sqrt", UNARY, FLOAT, square_root, compiled=square_root_ieee),
    ElementOp("logical_not", UNARY, BOOL, logical_not),
    _ADD,
    ElementOp("sub", BINARY, SAME, subtract),
    _MUL,
    ElementOp("div", BINARY, FLOAT, divide, compiled=divide_ieee),
    ElementOp("pow", BINARY, SAME, power, scalar=_scalar_pow, compiled=power_ieee, integers=power_integers),
    _MAXIMUM,
    _MINIMUM,
    ElementOp("lt", BINARY, BOOL, less, scalar=lambda a, b: ex01.lt(a, b)),
    ElementOp("le", BINARY, BOOL, less_equal),
    ElementOp("gt", BINARY, BOOL, greater, scalar=lambda a, b: ex01.lt(b, a)),
    ElementOp("ge", BINARY, BOOL, greater_equal),
    ElementOp("eq", BINARY, BOOL, equal, scalar=lambda a, b: ex01.eq(a, b)),
    ElementOp("ne", BINARY, BOOL, not_equal),
    ElementOp("relu_back", BINARY, SAME, relu_back, scalar=lambda x, d: d if x != x else ex01.relu_back(x, d)),
    ElementOp("log_back", BINARY, SAME, log_back, compiled=log_back_ieee),
    ElementOp("inv_back", BINARY, SAME, inv_back, compiled=inv_back_ieee),
    ElementOp("sigmoid_back", BINARY, SAME, sigmoid_back),
    ElementOp("tanh_back", BINARY, SAME, tanh_back),
    _reduction("sum", _ADD, 0, WIDE),
    _reduction("prod", _MUL, 1, WIDE),
    _reduction("max", _MAXIMUM, -INF, SAME),
    _reduction("min", _MINIMUM, INF, SAME),
)


def ops_of(kind: Kind) -> tuple[ElementOp, ...]:
    """The ops of one kind, in op-code order."""
    return tuple(entry for entry in OPS if entry.kind == kind)


_BY_KIND: dict[str, dict[str, ElementOp]] = {kind: {e.name: e for e in ops_of(kind)} for kind in KINDS}
_CODES: dict[str, dict[str, int]] = {kind: {name: i for i, name in enumerate(ops)} for kind, ops in _BY_KIND.items()}
_NAMES: dict[str, tuple[str, ...]] = {kind: tuple(ops) for kind, ops in _BY_KIND.items()}

UNARY_OPS: tuple[str, ...] = tuple(_BY_KIND[UNARY])
BINARY_OPS: tuple[str, ...] = tuple(_BY_KIND[BINARY])
REDUCE_OPS: tuple[str, ...] = tuple(_BY_KIND[REDUCE])
COMPARISONS: tuple[str, ...] = tuple(e.name for e in ops_of(BINARY) if e.comparison)
FLOAT_RESULT_UNARY: tuple[str, ...] = tuple(e.name for e in ops_of(UNARY) if e.result == FLOAT)


def names(kind: Kind) -> tuple[str, ...]:
    """The names of one kind's ops; an op's position is its op code."""
    return _NAMES[kind]


def lookup(name: str, kind: Kind | None = None) -> ElementOp:
    """The entry of op `name` (of `kind`, when given; else of whichever kind has it). ValueError if none."""
    for candidate in ([kind] if kind else KINDS):
        found = _BY_KIND.get(candidate, {}).get(name)
        if found is not None:
            return found
    raise ValueError(f"unknown {kind or 'element'} op {name!r}")


def code(name: str, kind: Kind) -> int:
    """The op code of `name` among the ops of `kind`: its position in the table. ValueError if none."""
    found = _CODES[kind].get(name)
    if found is None:
        raise ValueError(f"unknown {kind} op {name!r}")
    return found


# ---------------------------------------------------------------------------------------------------
# Compiling the formulas for a backend
# ---------------------------------------------------------------------------------------------------


def compile_formulas(jit: Callable[[FunctionType], Any]) -> dict[str, Any]:
    """Every formula compiled with `jit` (njit(...) or cuda.jit(device=True)), by function name.

    Each compiled formula sees the compiled versions of the formulas it calls (log_back's `divide` is the
    compiled divide), through a namespace of its own: the module's functions stay plain Python. `jit`
    only wraps; Numba compiles a formula when a kernel first uses it."""
    needed = {name for function in _FORMULAS for name in function.__code__.co_names}
    module = globals()
    namespace: dict[str, Any] = {name: module[name] for name in needed if name in module}
    namespace.update(__builtins__=builtins, __name__=__name__)
    compiled: dict[str, Any] = {}
    for function in _FORMULAS:
        copy = FunctionType(function.__code__, namespace, function.__name__, function.__defaults__,
                            function.__closure__)
        copy.__qualname__ = function.__qualname__
        copy.__doc__ = function.__doc__
        compiled[function.__name__] = jit(copy)
    namespace.update(compiled)
    return compiled

