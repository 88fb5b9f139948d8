"""The element-wise operations as Python scalar functions, by name: what the simple backend maps over tensors.

Derived from the one table of element-wise ops (minitorch_dg/elementwise.py): each op's `scalar` meaning
where ex01 has the function (ex01 computes it, with torch's values at the edges of the domain around it,
where Python raises but torch returns inf or nan: exp(1000) = inf, log(0) = -inf, 1/0 = inf), else its
shared `formula`. The fast and CUDA backends reproduce these meanings from the same table.

The name lists are the table's, re-exported for the modules that import them from here.
"""

from __future__ import annotations

from collections.abc import Callable

from . import elementwise
from .elementwise import BINARY_OPS, COMPARISONS, FLOAT_RESULT_UNARY, REDUCE_OPS, UNARY_OPS

__all__ = ["BINARY", "BINARY_OPS", "COMPARISONS", "FLOAT_RESULT_UNARY", "REDUCE", "REDUCE_OPS", "UNARY", "UNARY_OPS"]

UNARY: dict[str, Callable[[float], float]] = {e.name: e.python for e in elementwise.ops_of(elementwise.UNARY)}
BINARY: dict[str, Callable[[float, float], float]] = {e.name: e.python for e in elementwise.ops_of(elementwise.BINARY)}

# (function, start value) of each reduction: its combining op's function, folded from the op's identity
REDUCE: dict[str, tuple[Callable[[float, float], float], float | None]] = {
    e.name: (e.python, e.start) for e in elementwise.ops_of(elementwise.REDUCE)
}
