"""Element types, with torch's names: float32 (the default), float64, int64, bool.

Type promotion follows torch's rules for these four: bool < int64 < float32 < float64, and a Python
number (a "wrapped number") only promotes a tensor across categories (an int tensor times 2.5 is
float32; a float32 tensor times 2.5 stays float32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    numpy: np.dtype[Any]
    is_floating_point: bool
    rank: int  # position in the promotion lattice

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize

    def __repr__(self) -> str:
        return f"minitorch_dg.{self.name}"


bool_ = DType("bool", np.dtype(np.bool_), False, 0)
int64 = DType("int64", np.dtype(np.int64), False, 1)
float32 = DType("float32", np.dtype(np.float32), True, 2)
float64 = DType("float64", np.dtype(np.float64), True, 3)

ALL = (bool_, int64, float32, float64)
_BY_NUMPY = {d.numpy: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL} | {"float": float32, "double": float64, "long": int64}

_default_float = float32


def get_default_dtype() -> DType:
    """The dtype of floating tensors made from Python floats (float32, as in torch)."""
    return _default_float


def set_default_dtype(dtype: DType) -> None:
    global _default_float
    if not dtype.is_floating_point:
        raise TypeError(f"the default dtype must be a floating point type, not {dtype.name}")
    _default_float = dtype


def from_numpy(np_dtype: Any) -> DType:
    """Our dtype for a numpy dtype; other numpy types map to the nearest one we have."""
    found = _BY_NUMPY.get(np_dtype)  # a storage's dtype: one dictionary lookup
    if found is not None:
        return found
    dt = np.dtype(np_dtype)
    if dt in _BY_NUMPY:
        return _BY_NUMPY[dt]
    if dt.kind == "f":
        return float64 if dt.itemsize >= 8 else float32
    if dt.kind in "iu":
        return int64
    if dt.kind == "b":
        return bool_
    raise TypeError(f"minitorch-dg has no dtype for numpy {dt}; use float32, float64, int64 or bool")


def resolve(dtype: Any) -> DType:
    """Accept a DType, a name ('float32', 'double'), a numpy dtype, or a torch dtype."""
    if isinstance(dtype, DType):
        return dtype
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    text = str(dtype)
    if text.startswith("torch."):
        return _BY_NAME[text[6:]] if text[6:] in _BY_NAME else resolve(text[6:])
    try:
        return from_numpy(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; use float32, float64, int64 or bool") from None


def promote(a: DType, b: DType) -> DType:
    """The result type of a binary op on two tensors."""
    return a if a.rank >= b.rank else b


def promote_with_scalar(t: DType, value: Any) -> DType:
    """The result type of tensor (op) Python number: only a change of category promotes."""
    if isinstance(value, bool):
        return t
    if isinstance(value, int):
        return t if t is not bool_ else int64
    if isinstance(value, float):
        return t if t.is_floating_point else get_default_dtype()
    raise TypeError(f"cannot combine a tensor with {type(value).__name__}")


def of_python(value: Any) -> DType:
    """The dtype torch infers for nested Python data containing `value`-like leaves."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    return get_default_dtype()
