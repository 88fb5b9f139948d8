"""Indexing keys: turn `x[...]` into either a strided view (basic indexing) or a gather (advanced indexing).

Basic indexing — ints, slices with a positive step, None and Ellipsis — never copies: the key is
normalized here and `TensorData.basic_index` computes the start, shape and strides of the view. Advanced
indexing — integer or boolean tensors, lists or arrays — gathers elements (numpy's rules, which are
torch's) and copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels as K

if TYPE_CHECKING:
    from .tensor import Tensor

Key = tuple[Any, ...]


def normalize_key(t: Tensor, key: Any) -> Key:
    """A tuple of int | slice | None | numpy array, with Ellipsis expanded and ints range-checked."""
    items = key if isinstance(key, tuple) else (key,)
    converted: list[Any] = []
    for item in items:
        if K.is_tensor(item):
            if item.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int or bool tensors")
            if item.dim() == 0 and item.dtype.name == "int64":
                converted.append(int(item.item()))
            else:
                converted.append(item.to_numpy())
        elif isinstance(item, (list, np.ndarray)):
            array = np.asarray(item)
            if array.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int or bool tensors")
            converted.append(array)
        elif isinstance(item, (bool, np.bool_)):
            raise IndexError("indexing with a Python bool is not supported; use a bool tensor mask")
        elif isinstance(item, (int, np.integer)):
            converted.append(int(item))
        elif item is None or item is Ellipsis or isinstance(item, slice):
            converted.append(item)
        else:
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and integer or boolean tensors are valid "
                f"indices, got {type(item).__name__}"
            )
    consumed = sum(
        (a.ndim if isinstance(a, np.ndarray) and a.dtype == np.bool_ else 1)
        for a in converted if a is not None and a is not Ellipsis
    )
    ellipses = [i for i, a in enumerate(converted) if a is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > t.dim():
        raise IndexError(f"too many indices for tensor of dimension {t.dim()}")
    if ellipses:
        at = ellipses[0]
        converted[at:at + 1] = [slice(None)] * (t.dim() - consumed)
    d = 0
    for pos, item in enumerate(converted):
        if item is None:
            continue
        if isinstance(item, int):
            size = t.shape[d]
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {d} with size {size}")
            converted[pos] = item % size
        elif isinstance(item, slice) and item.step is not None and item.step <= 0:
            raise ValueError("step must be greater than zero")
        elif isinstance(item, np.ndarray):
            _check_array_index(item, tuple(t.shape), d)
        d += item.ndim if isinstance(item, np.ndarray) and item.dtype == np.bool_ else 1
    return tuple(converted)


def _check_array_index(item: np.ndarray, shape: tuple[int, ...], d: int) -> None:
    """IndexError in torch's words for a mask of the wrong shape or an integer index out of range (at dim d)."""
    if item.dtype == np.bool_:
        covered = shape[d:d + item.ndim]
        for k, (m, s) in enumerate(zip(item.shape, covered)):
            if m != s:
                raise IndexError(f"The shape of the mask {list(item.shape)} at index {k} does not match the shape of "
                                 f"the indexed tensor {list(shape)} at index {d + k}")
        return
    size = shape[d]
    bad = item[(item < -size) | (item >= size)]
    if bad.size:
        raise IndexError(f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {d} with size {size}")


def is_basic(key: Key) -> bool:
    return not any(isinstance(item, np.ndarray) for item in key)


def fills_through_mask(key: Key, count: int) -> bool:
    """Whether torch writes a value through this advanced key as a masked fill (casting the value to the
    target's dtype): one bool mask of at least one dim, and a value of one element. Other advanced keys go
    through index_put, which requires the value's dtype to be the target's."""
    arrays = [item for item in key if isinstance(item, np.ndarray)]
    return count == 1 and len(arrays) == 1 and arrays[0].dtype == np.bool_ and arrays[0].ndim >= 1


def numpy_key(key: Key) -> tuple[Any, ...]:
    """The same key for numpy (ints, slices, None and arrays mean the same there)."""
    return tuple(np.newaxis if item is None else item for item in key)


def selected_shape(t: Tensor, key: Key) -> tuple[int, ...]:
    """The shape of t[key] for an advanced key (computed on a zero-strided stand-in: no data is read)."""
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.int8), shape=tuple(t.shape),
                                               strides=(0,) * t.dim())
    return tuple(stand_in[numpy_key(key)].shape)


def advanced_assign(t: Tensor, key: Key, value: Tensor) -> None:
    """t[key] = value for an advanced key (on the host, then back to the device if needed)."""
    if t.device == "cpu":
        K.host_array(t)[numpy_key(key)] = value.to_numpy()
        return
    host = t.to_numpy()
    host[numpy_key(key)] = value.to_numpy()
    K.copy_into(t, K.from_host(host, t.device))
