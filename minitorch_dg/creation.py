"""Making tensors: from data, filled, ranges, and random (seeded with `manual_seed`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels as K
from .dtypes import DType, bool_, get_default_dtype, int64, resolve
from .dtypes import from_numpy as dtype_of_numpy
from .kernels import device_name as _device_name
from .tensor_data import shape_args as _shape_args

if TYPE_CHECKING:
    from .tensor import Tensor

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the generator behind rand, randn, randint, randperm, dropout and the init functions."""
    global _generator
    _generator = np.random.default_rng(int(seed))


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The state of the global generator, as plain data that mt.save can store (torch returns a ByteTensor;
    here it is numpy's PCG64 state, a dict of ints). set_rng_state(state) continues from exactly there."""
    return copy.deepcopy(_generator.bit_generator.state)


def set_rng_state(new_state: dict[str, Any]) -> None:
    """Restore the global generator to a state that get_rng_state returned (e.g. from a checkpoint)."""
    if not isinstance(new_state, dict) or new_state.get("bit_generator") != "PCG64":
        raise TypeError("set_rng_state expects the dict that mt.get_rng_state() returned (a PCG64 state)")
    _generator.bit_generator.state = copy.deepcopy(new_state)


def _finish(array: np.ndarray, dtype: DType, device: str | None, requires_grad: bool) -> Tensor:
    t = K.from_host(np.asarray(array, dtype=dtype.numpy), _device_name(device or "cpu"))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data: Any, array: np.ndarray) -> DType:
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return dtype_of_numpy(array.dtype)
    kind = array.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int64
    if kind == "f":
        return get_default_dtype()
    raise TypeError(f"cannot make a tensor from {type(data).__name__} data (numpy dtype {array.dtype})")


def tensor(data: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (numbers, nested lists, numpy arrays, or a tensor)."""
    if K.is_tensor(data):
        array = data.to_numpy()
        inferred = data.dtype
        device = device or data.device
    else:
        try:
            array = np.array(data)
        except ValueError as error:
            raise ValueError(f"cannot make a tensor from ragged or mixed data: {error}") from None
        if array.dtype == object:
            raise TypeError("cannot make a tensor from this data: use numbers or nested lists of equal lengths")
        inferred = _infer_dtype(data, array)
    return _finish(array, resolve(dtype) if dtype is not None else inferred, device, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    return tensor(array)


def as_tensor(data: Any, dtype: Any = None, device: str | None = None) -> Tensor:
    if K.is_tensor(data) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def zeros(*size: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape_args(size)), resolve(dtype or get_default_dtype()), device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape_args(size)), resolve(dtype or get_default_dtype()), device, requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else get_default_dtype()
    return _finish(np.full(_shape_args(tuple(size)), fill_value), resolve(dtype), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: str | None = None,
        requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m), resolve(dtype or get_default_dtype()), device, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: str | None = None,
           requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step; int64 when all three are ints, as torch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    ints = all(isinstance(v, int) for v in (start, end, step))
    chosen = resolve(dtype) if dtype is not None else (int64 if ints else get_default_dtype())
    return _finish(np.arange(start, end, step), chosen, device, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: str | None = None,
             requires_grad: bool = False) -> Tensor:
    return _finish(np.linspace(start, end, steps), resolve(dtype or get_default_dtype()), device, requires_grad)


def rand(*size: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    return _finish(_generator.random(_shape_args(size)), resolve(dtype or get_default_dtype()), device, requires_grad)


def randn(*size: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    return _finish(_generator.standard_normal(_shape_args(size)), resolve(dtype or get_default_dtype()), device,
                   requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = None,
            device: str | None = None) -> Tensor:
    if high is None:
        low, high = 0, low
    return _finish(_generator.integers(low, high, size=tuple(size)), resolve(dtype or int64), device, False)


def randperm(n: int, dtype: Any = None, device: str | None = None) -> Tensor:
    return _finish(_generator.permutation(n), resolve(dtype or int64), device, False)


def _like(t: Tensor, dtype: Any, device: str | None) -> tuple[tuple[int, ...], DType, str]:
    return tuple(t.shape), resolve(dtype) if dtype is not None else t.dtype, device or t.device


def zeros_like(t: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return zeros(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return ones(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, device: str | None = None,
              requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return full(shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return rand(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return randn(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype=dtype, device=device, requires_grad=requires_grad)
