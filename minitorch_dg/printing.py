"""`repr(tensor)` in torch's style: tensor([[1., 2.], [3., 4.]], dtype=..., requires_grad=True)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .dtypes import get_default_dtype

if TYPE_CHECKING:
    from .tensor import Tensor


def _format_values(values: np.ndarray) -> str:
    if values.dtype == np.bool_:
        return np.array2string(values, separator=", ", formatter={"bool": lambda v: "True" if v else "False"})
    if values.dtype.kind in "iu":
        return np.array2string(values, separator=", ")
    finite = values[np.isfinite(values)] if values.size else values
    integral = finite.size > 0 and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e8)
    if integral:
        formatter = {"float_kind": lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)}
    else:
        big = finite.size > 0 and (np.max(np.abs(finite)) >= 1e8 or (np.min(np.abs(finite[finite != 0])) < 1e-4
                                                                    if np.any(finite != 0) else False))
        formatter = {"float_kind": (lambda v: f"{v:.4e}") if big else (lambda v: f"{v:.4f}")}
    return np.array2string(values, separator=", ", formatter=formatter, threshold=1000, edgeitems=3)


def tensor_repr(t: Tensor) -> str:
    values = t.to_numpy()
    body = _format_values(values)
    body = body.replace("\n", "\n       ")
    extras = []
    if t.device != "cpu":
        extras.append(f"device='{t.device}'")
    if t.dtype is not get_default_dtype() and t.dtype.name not in ("int64", "bool"):
        extras.append(f"dtype={t.dtype!r}")
    if values.size == 0:
        extras.append(f"size={tuple(t.shape)}")
        if t.dtype.name in ("int64", "bool"):
            extras.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
