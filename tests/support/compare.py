"""Compare minitorch-dg results with torch's and say exactly where they differ.

Tolerance policy (|got - expected| <= atol + rtol * |expected|, element-wise; NaN matches NaN and
infinities must match exactly):

    float64   rtol 1e-7   atol 1e-9     same maths in double precision; room for a different but
                                         correct formula (e.g. tanh via sigmoid)
    float32   rtol 1e-4   atol 1e-5     single precision, sums of up to ~10^4 terms in a different order
    finite differences: rtol 1e-4, atol 1e-6 on float64, a second check, never the only one
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-9),
    "float32": (1e-4, 1e-5),
    "finite_difference": (1e-4, 1e-6),
}


def tolerance(dtype: Any) -> tuple[float, float]:
    """(rtol, atol) for a dtype name, numpy dtype or torch dtype."""
    name = str(dtype).replace("torch.", "")
    if name not in TOLERANCES:
        name = "float32" if "32" in name else "float64"
    return TOLERANCES[name]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return repr(value)


def describe_inputs(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    parts = []
    for key, value in inputs.items():
        if isinstance(value, np.ndarray) and value.size > 12:
            text = f"array(shape={value.shape}, dtype={value.dtype})"
        elif isinstance(value, np.ndarray):
            text = np.array2string(value, precision=6, separator=", ")
        else:
            text = _fmt(value)
        parts.append(f"{key}={text}")
    return "; inputs: " + ", ".join(parts)


def to_numpy(value: Any) -> np.ndarray:
    """A float64 numpy array from a float, a list, a numpy array, a torch tensor or a minitorch-dg tensor."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        return value.detach().cpu().double().numpy()
    if hasattr(value, "to_numpy"):  # minitorch-dg Tensor
        return np.asarray(value.to_numpy(), dtype=np.float64)
    if hasattr(value, "data") and isinstance(getattr(value, "data"), float):  # Scalar
        return np.asarray(value.data, dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def first_mismatch(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> tuple[int, ...] | None:
    """Index of the first element outside tolerance, or None when all agree."""
    both_nan = np.isnan(got) & np.isnan(expected)
    with np.errstate(invalid="ignore"):
        exact = got == expected
        close = np.abs(got - expected) <= atol + rtol * np.abs(expected)
    ok = both_nan | exact | (close & np.isfinite(expected) & np.isfinite(got))
    if ok.all():
        return None
    return tuple(int(i) for i in np.argwhere(~ok)[0])


def assert_close(
    got: Any,
    expected: Any,
    *,
    what: str = "value",
    inputs: Mapping[str, Any] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    dtype: Any = "float64",
) -> None:
    """Assert that `got` matches `expected` (shape and values); the message names the first mismatch."""
    default_rtol, default_atol = tolerance(dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if got is None:
        raise AssertionError(f"{what}: got None, expected {_fmt(expected)}{describe_inputs(inputs)}")
    g, e = to_numpy(got), to_numpy(expected)
    if g.shape != e.shape:
        raise AssertionError(
            f"{what}: shape {tuple(g.shape)} where torch gives {tuple(e.shape)}{describe_inputs(inputs)}"
        )
    index = first_mismatch(g, e, rtol, atol)
    if index is None:
        return
    where = f" at index {index}" if index else ""
    raise AssertionError(
        f"{what}{where}: expected {_fmt(float(e[index]))}, got {_fmt(float(g[index]))} "
        f"(tolerance atol={atol:g}, rtol={rtol:g}){describe_inputs(inputs)}"
    )
