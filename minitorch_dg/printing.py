"""`repr(tensor)` in torch's layout: tensor([[ 1.5000,  2.0000], [-3.2500,  4.0000]], requires_grad=True).

Every element is formatted the same way (whole floats as `1.`, fixed 4 decimals, or scientific when the
magnitudes span more than 1e3 or exceed 1e8) and padded to one width; rows nest with the indentation
torch uses, matrices of a 3-D tensor are separated by a blank line, and tensors of more than 1000
elements show 3 items at each edge of every dim around `...`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .dtypes import get_default_dtype

if TYPE_CHECKING:
    from .tensor import Tensor

THRESHOLD = 1000
EDGE_ITEMS = 3
LINE_WIDTH = 80


def _formatter(values: np.ndarray) -> Callable[[object], str]:
    """One formatting rule for all elements of `values`."""
    if values.dtype == np.bool_:
        return lambda v: "True" if v else "False"
    if values.dtype.kind in "iu":
        return lambda v: str(int(v))  # type: ignore[call-overload]
    finite = values[np.isfinite(values)]
    nonzero = np.abs(finite[finite != 0])

    def special(v: float) -> str | None:
        if np.isnan(v):
            return "nan"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return None

    scientific = nonzero.size > 0 and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8)
    if finite.size and np.all(finite == np.round(finite)) and not scientific:
        return lambda v: special(float(v)) or f"{float(v):.0f}."  # type: ignore[arg-type]
    if scientific:
        return lambda v: special(float(v)) or f"{float(v):.4e}"  # type: ignore[arg-type]
    return lambda v: special(float(v)) or f"{float(v):.4f}"  # type: ignore[arg-type]


def _edges(n: int, summarize: bool) -> list[int | None]:
    if summarize and n > 2 * EDGE_ITEMS:
        return list(range(EDGE_ITEMS)) + [None] + list(range(n - EDGE_ITEMS, n))
    return list(range(n))


def _render(values: np.ndarray, fmt: Callable[[object], str], width: int, indent: int, summarize: bool) -> str:
    if values.ndim == 0:
        return fmt(values.item()).rjust(width)
    if values.ndim == 1:
        items = ["..." if i is None else fmt(values[i]).rjust(width) for i in _edges(values.shape[0], summarize)]
        per_line = max(1, (LINE_WIDTH - indent) // (width + 2))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    gap = "\n" * (values.ndim - 1)
    rows = []
    for i in _edges(values.shape[0], summarize):
        if i is None:
            rows.append("...")
        else:
            rows.append(_render(values[i], fmt, width, indent + 1, summarize))
    return "[" + ("," + gap + " " * (indent + 1)).join(rows) + "]"


def format_values(values: np.ndarray, indent: int) -> str:
    summarize = values.size > THRESHOLD
    fmt = _formatter(values)
    sample = values
    if summarize:
        index = tuple(np.r_[0:EDGE_ITEMS, -EDGE_ITEMS:0] if n > 2 * EDGE_ITEMS else slice(None) for n in values.shape)
        sample = values[np.ix_(*[np.arange(n)[i] for n, i in zip(values.shape, index)])] if values.ndim else values
    flat = sample.reshape(-1)
    if flat.dtype.kind == "f" and np.isfinite(flat).any():
        flat = flat[np.isfinite(flat)]  # nan and inf do not widen the columns (as torch)
    width = max((len(fmt(v)) for v in flat), default=0)
    return _render(values, fmt, width, indent, summarize)


def tensor_repr(t: Tensor) -> str:
    values = t.to_numpy()
    prefix = "tensor("
    body = format_values(values, len(prefix)) if values.size else "[]"
    extras = []
    if t.device != "cpu":
        extras.append(f"device='{t.device}'")
    if values.size == 0 and values.ndim != 1:
        extras.append(f"size={tuple(t.shape)}")
    if t.dtype is not get_default_dtype() and t.dtype.name not in ("int64", "bool"):
        extras.append(f"dtype={t.dtype!r}")
    elif values.size == 0 and t.dtype.name in ("int64", "bool"):
        extras.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    text = prefix + body
    for extra in extras:
        last_line = text.rsplit("\n", 1)[-1]
        if len(last_line) + len(extra) + 2 > LINE_WIDTH:
            text += ",\n" + " " * len(prefix) + extra
        else:
            text += ", " + extra
    return text + ")"
