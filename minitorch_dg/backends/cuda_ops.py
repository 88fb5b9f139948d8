"""The element functions of the CUDA backend (ex07), generated from the table of element-wise ops.

    from minitorch_dg.backends.cuda_ops import UNARY_CODES, BINARY_CODES, REDUCE_CODES
    from minitorch_dg.backends.cuda_ops import unary_op, binary_op, reduce_start, reduce_combine

This is what ex07's kernels may call besides themselves (as ex06's call minitorch_dg.fast). An op code
is the op's position among the ops of its kind in minitorch_dg/elementwise.py (`UNARY_CODES["exp"]`),
passed to a kernel as an ordinary int argument, so that one compiled kernel serves every op. The four
device functions choose the operation with one `if op == code:` branch per op of the table, generated
from it, each calling the op's `formula` compiled as a device function:

    unary_op(op, x)              op(x), a float64
    binary_op(op, a, b)          op(a, b), a float64 (comparisons give 1.0 / 0.0; the *_back ops take
                                 (input, gradient))
    reduce_start(op)             the identity of a reduction: 0.0 (sum), 1.0 (prod), -inf (max), inf (min)
    reduce_combine(op, acc, x)   acc folded with one more value x

Operands are taken as float64 (`x * 1.0`), except by comparisons and logical_not, which see them as they
are (an int64 compared as a float64 could lose its last bits); results are float64 and are rounded when
a kernel stores them. The formulas test the edges of the domain explicitly (exp(1000) = inf, log(0) =
-inf, 1/0 = inf) instead of relying on IEEE arithmetic, so they give the same answers on a GPU and in the
simulator, which runs them as Python (where math.exp(1000) raises).

`generated_source()` shows the generated functions. Kernels compiled with cache=True keep only their own
file's stamp in numba's cache; on a GPU, this module also stamps the cache of every kernel whose module
uses these functions with ELEMENT_STAMP (the source of this file and of the table), so that a change of
an op's formula is never hidden by a kernel compiled before it.
"""

from __future__ import annotations

import builtins
import hashlib
import linecache
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import cuda

from .. import elementwise
from ..elementwise import BOOL, INF, NAN, ElementOp

UNARY_NAMES: tuple[str, ...] = elementwise.names(elementwise.UNARY)
BINARY_NAMES: tuple[str, ...] = elementwise.names(elementwise.BINARY)
REDUCE_NAMES: tuple[str, ...] = elementwise.names(elementwise.REDUCE)
UNARY_CODES: dict[str, int] = {name: code for code, name in enumerate(UNARY_NAMES)}
BINARY_CODES: dict[str, int] = {name: code for code, name in enumerate(BINARY_NAMES)}
REDUCE_CODES: dict[str, int] = {name: code for code, name in enumerate(REDUCE_NAMES)}

_DEVICE_FORMULAS: dict[str, Any] = elementwise.compile_formulas(cuda.jit(device=True))


# ---------------------------------------------------------------------------------------------------
# The generated dispatch
# ---------------------------------------------------------------------------------------------------


def _call(entry: ElementOp, operands: tuple[str, ...]) -> str:
    """The expression that applies `entry`'s formula to `operands` (names of variables) as a float64."""
    name = entry.formula.__name__
    if entry.result == BOOL:  # comparisons and logical_not: the operands as they are, the result as 1.0 / 0.0
        return f"{name}({', '.join(operands)}) * 1.0"
    return f"{name}({', '.join(f'{operand} * 1.0' for operand in operands)})"


def _constant(value: float) -> str:
    """A float constant as source text (inf and nan by the names INF and NAN)."""
    if value != value:
        return "NAN"
    if value in (INF, -INF):
        return "INF" if value > 0 else "-INF"
    return repr(float(value))


def _dispatcher(name: str, params: str, doc: str, kind: elementwise.Kind,
                body: Callable[[ElementOp], str]) -> str:
    """Source of a function `name(op, params)` with one `if op == code: return body(entry)` per op of `kind`."""
    lines = [f"def {name}(op, {params}):" if params else f"def {name}(op):", f'    """{doc}"""']
    for code, entry in enumerate(elementwise.ops_of(kind)):
        lines.append(f"    if op == {code}:  # {entry.name}")
        lines.append(f"        return {body(entry)}")
    lines.append("    return NAN")
    return "\n".join(lines) + "\n"


def generated_source() -> str:
    """The Python source of unary_op, binary_op, reduce_start and reduce_combine, as generated from the table."""
    return "\n\n".join([
        _dispatcher("unary_op", "x", "op(x) for a UNARY op code, as a float64.", elementwise.UNARY,
                    lambda e: _call(e, ("x",))),
        _dispatcher("binary_op", "a, b", "op(a, b) for a BINARY op code, as a float64 (comparisons give 1.0 / 0.0).", elementwise.BINARY, lambda e: _call(e, ("a", "b"))),
        _dispatcher("reduce_start", "", "The identity of a REDUCE op: the value an empty fold gives.",
                    elementwise.REDUCE, lambda e: _constant(e.start if e.start is not None else NAN)),
        _dispatcher("reduce_combine", "acc, x", "acc folded with one more value x, for a REDUCE op code.",
                    elementwise.REDUCE, lambda e: f"{e.formula.__name__}(acc, x * 1.0)"),
    ])


def _define(source: str) -> dict[str, Any]:
    """Execute the generated `source` among the device formulas; returns its functions, as device functions.

    The source is registered with linecache under a name of its own, so that tracebacks and numba's
    messages can show the generated lines."""
    filename = f"<{__name__} generated from minitorch_dg/elementwise.py>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = dict(_DEVICE_FORMULAS, NAN=NAN, INF=INF, __name__=__name__, __builtins__=builtins)
    before = set(namespace)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (our own text, generated from the table)
    return {name: cuda.jit(device=True)(namespace[name]) for name in namespace if name not in before}


_GENERATED = _define(generated_source())
unary_op = _GENERATED["unary_op"]
binary_op = _GENERATED["binary_op"]
reduce_start = _GENERATED["reduce_start"]
reduce_combine = _GENERATED["reduce_combine"]
DEVICE_FUNCTIONS = (unary_op, binary_op, reduce_start, reduce_combine)


# ---------------------------------------------------------------------------------------------------
# Cached kernels: stamped with the code of the element functions
# ---------------------------------------------------------------------------------------------------


def _element_stamp() -> str:
    """A hash of the source files whose code these device functions compile into a kernel."""
    digest = hashlib.sha256()
    for path in (Path(elementwise.__file__), Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


ELEMENT_STAMP = _element_stamp()


def uses_element_functions(py_func: Any) -> bool:
    """True when the module of kernel `py_func` has one of this module's device functions among its globals."""
    values = getattr(py_func, "__globals__", {}).values()
    return any(value is function for value in values for function in DEVICE_FUNCTIONS)


def stamp_kernel_caches() -> bool:
    """Make numba-cuda's on-disk cache of every kernel that uses these device functions carry ELEMENT_STAMP
    beside its own file's stamp (an entry made with other element functions is then stale and compiled
    afresh). Needs numba-cuda's caching internals; returns False, changing nothing, where they differ, and
    in the simulator, which compiles and caches nothing."""
    try:
        from numba.cuda.core.caching import _CacheLocator
        from numba.cuda.dispatcher import CUDACacheImpl
    except ImportError:
        return False
    if getattr(CUDACacheImpl, "_mtdg_element_stamp", None) == ELEMENT_STAMP:
        return True
    originals = [c for c in CUDACacheImpl._locator_classes if not getattr(c, "mtdg_stamped", False)]

    class ElementStampedLocator(_CacheLocator):  # type: ignore[misc, valid-type]
        """The locator numba would choose, with ELEMENT_STAMP added to the source stamp."""

        mtdg_stamped = True

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def ensure_cache_path(self) -> None:
            self._inner.ensure_cache_path()

        def get_cache_path(self) -> Any:
            return self._inner.get_cache_path()

        def get_source_stamp(self) -> Any:
            return (self._inner.get_source_stamp(), ELEMENT_STAMP)

        def get_disambiguator(self) -> Any:
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            for locator_class in originals:
                inner = locator_class.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner) if uses_element_functions(py_func) else inner
            return None

    CUDACacheImpl._locator_classes = [ElementStampedLocator]
    CUDACacheImpl._mtdg_element_stamp = ELEMENT_STAMP
    return True


if ".simulator." not in str(getattr(cuda.to_device, "__module__", "")):  # numba's own simulator test
    stamp_kernel_caches()
