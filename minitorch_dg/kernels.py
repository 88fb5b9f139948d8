"""Raw tensor operations: allocate the output, pick the backend, run one kernel. No autograd.

This is what the `forward` of a differentiable Function calls (ex05):

    K.map("exp", a)            element-wise unary op                     -> new tensor
    K.zip("mul", a, b)         element-wise binary op, with broadcasting -> new tensor
    K.reduce("sum", a, dim)    fold one dim (kept with size 1)           -> new tensor
    K.matmul(a, b)             batched matrix product (>= 2-D inputs)    -> new tensor

Output dtypes follow torch: comparisons give bool, true division and exp/log/... of integers give the
default float, sums of bool/int give int64. Tensors on different devices raise torch's kind of error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backends, course
from .dtypes import DType, bool_, get_default_dtype, int64, promote
from .errors import ShapeError
from .scalar_ops import BINARY_OPS, COMPARISONS, FLOAT_RESULT_UNARY, REDUCE_OPS, UNARY_OPS
from .tensor_data import TensorData, prod

if TYPE_CHECKING:
    from .tensor import Tensor

ex03 = course.ExerciseProxy("ex03")


def _tensor(data: TensorData) -> Tensor:
    from .tensor import Tensor

    return Tensor._from_data(data)


def same_device(*tensors: Tensor) -> str:
    """The common device of `tensors`; RuntimeError naming both when they differ."""
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        names = " and ".join(sorted(devices))
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {names}! "
            "Move them with .to(device) first."
        )
    return tensors[0].device


def empty(shape: tuple[int, ...], dtype: DType, device: str = "cpu") -> TensorData:
    """A fresh contiguous TensorData (zero-filled) of `shape` and `dtype` on `device`."""
    backend = backends.for_device(device)
    storage = backend.empty(tuple(shape), dtype.numpy)
    return TensorData(storage, tuple(shape), tuple(ex03.strides_from_shape(tuple(shape))), device)


def output(shape: tuple[int, ...], dtype: DType, device: str = "cpu") -> TensorData:
    """A fresh contiguous TensorData for a kernel to overwrite completely: not zero-filled where the backend
    can skip that (`uninitialized`, on cuda), zero-filled elsewhere (as `empty`)."""
    backend = backends.for_device(device)
    allocate = getattr(backend, "uninitialized", backend.empty)
    storage = allocate(tuple(shape), dtype.numpy)
    return TensorData(storage, tuple(shape), tuple(ex03.strides_from_shape(tuple(shape))), device)


def result_type(a: Tensor, b: Tensor) -> DType:
    """torch's promotion for two tensors: a 0-d tensor does not promote an n-d one within a category."""
    if (a.dim() == 0) != (b.dim() == 0):
        big, small = (a, b) if b.dim() == 0 else (b, a)
        if _category(big.dtype) >= _category(small.dtype):
            return big.dtype
    return promote(a.dtype, b.dtype)


def _category(dtype: DType) -> int:
    return 2 if dtype.is_floating_point else (1 if dtype is int64 else 0)


def map(op: str, a: Tensor, out: Tensor | None = None) -> Tensor:
    """out = op(a) element-wise. With `out`, a broadcastable `a` is written into it (a copy when op is 'id')."""
    if op not in UNARY_OPS:
        raise ValueError(f"unknown map op {op!r}; the ops are {UNARY_OPS}")
    backend = backends.for_device(a.device)
    if out is None:
        if op in FLOAT_RESULT_UNARY and not a.dtype.is_floating_point:
            a = cast(a, get_default_dtype())  # torch's sigmoid(int or bool) is float; compute it in float
        dtype = a.dtype
        if op == "logical_not":
            dtype = bool_
        out_data = output(a.shape, dtype, a.device)
        backend.map(op, a._data, out_data)
        return _tensor(out_data)
    same_device(a, out)
    ex03.shape_broadcast(tuple(a.shape), tuple(out.shape))
    backend.map(op, a._data, out._data)
    return out


def zip(op: str, a: Tensor, b: Tensor) -> Tensor:
    """op(a, b) element-wise, broadcasting a and b to a common shape.

    Operands of different dtypes are first converted to the promoted dtype (the dtype the op computes in,
    as torch does: int64 + float32 adds in float32), so every kernel sees one input dtype."""
    if op not in BINARY_OPS:
        raise ValueError(f"unknown zip op {op!r}; the ops are {BINARY_OPS}")
    device = same_device(a, b)
    shape = tuple(ex03.shape_broadcast(tuple(a.shape), tuple(b.shape)))
    common = result_type(a, b)
    if op == "div" and not common.is_floating_point:
        common = get_default_dtype()
    a = a if a.dtype is common else cast(a, common)
    b = b if b.dtype is common else cast(b, common)
    dtype = bool_ if op in COMPARISONS else common
    out = output(shape, dtype, device)
    backends.for_device(device).zip(op, a._data, b._data, out)
    return _tensor(out)


def reduce(op: str, a: Tensor, dim: int, keepdim: bool = True) -> Tensor:
    """Fold dim `dim` of `a` with op ('sum', 'prod', 'max', 'min'); the dim is kept with size 1 unless keepdim=False."""
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; the ops are {REDUCE_OPS}")
    if a.dim() == 0:  # a 0-d tensor reduces to itself (torch allows dim 0 or -1)
        normalize_dim(dim, 0)
        one = _tensor(a._data.view((1,)) or a._data)
        return _tensor(reduce(op, one, 0, keepdim=False)._data)
    dim = normalize_dim(dim, a.dim())
    if op in ("max", "min") and a.shape[dim] == 0:
        raise ShapeError(f"{op}(): cannot reduce dim {dim} of size 0 (shape {tuple(a.shape)}): it has no identity")
    dtype = a.dtype
    if op in ("sum", "prod") and not dtype.is_floating_point:
        dtype = int64
    shape = tuple(1 if d == dim else s for d, s in enumerate(a.shape))
    out = output(shape, dtype, a.device)
    backends.for_device(a.device).reduce(op, a._data, dim, out)
    result = _tensor(out)
    if not keepdim:
        result = _tensor(out.view(tuple(s for d, s in enumerate(shape) if d != dim)) or out)
    return result


def select(cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """cond ? a : b element-wise, broadcasting all three: a real choice, so an inf or nan in the branch that
    is not chosen never reaches the result (as torch.where). `a` and `b` must have the same dtype."""
    device = same_device(cond, a, b)
    shape = tuple(ex03.shape_broadcast(tuple(ex03.shape_broadcast(tuple(cond.shape), tuple(a.shape))), tuple(b.shape)))
    if a.dtype is not b.dtype:
        raise TypeError(f"K.select needs branches of one dtype, got {a.dtype.name} and {b.dtype.name}")
    chosen = np.where(host_array(cond).astype(bool), host_array(a), host_array(b))
    return from_host(np.broadcast_to(chosen, shape), device, a.dtype)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Batched product of (..., n, k) and (..., k, m) with broadcast batch dims -> (..., n, m)."""
    device = same_device(a, b)
    if a.dim() < 2 or b.dim() < 2:
        raise ShapeError(f"K.matmul needs inputs with >= 2 dims, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected both matmul operands to have the same dtype, but got {a.dtype.name} and {b.dtype.name}; "
            "convert one with .to(dtype)"
        )
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_matrix(a.shape)} and {_matrix(b.shape)}): "
            f"the inner sizes {a.shape[-1]} and {b.shape[-2]} differ"
        )
    batch = tuple(ex03.shape_broadcast(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    out = output(batch + (a.shape[-2], b.shape[-1]), a.dtype, device)
    backends.for_device(device).matmul(a._data, b._data, out)
    return _tensor(out)


def _matrix(shape: tuple[int, ...]) -> str:
    rows = prod(shape[:-1])
    return f"{rows}x{shape[-1]}"


def contiguous(a: Tensor) -> Tensor:
    """A contiguous copy of `a` (even when `a` is contiguous already)."""
    out = output(tuple(a.shape), a.dtype, a.device)
    backends.for_device(a.device).map("id", a._data, out)
    return _tensor(out)


def cast(a: Tensor, dtype: DType) -> Tensor:
    """A contiguous copy of `a` converted to `dtype`."""
    out = output(tuple(a.shape), dtype, a.device)
    backends.for_device(a.device).map("id", a._data, out)
    return _tensor(out)


def copy_into(dst: Tensor, src: Tensor) -> None:
    """dst[...] = src, broadcasting src to dst's shape (dst may be any view)."""
    same_device(dst, src)
    ex03.shape_broadcast(tuple(src.shape), tuple(dst.shape))
    if tuple(ex03.shape_broadcast(tuple(src.shape), tuple(dst.shape))) != tuple(dst.shape):
        raise ShapeError(f"cannot copy a tensor of shape {tuple(src.shape)} into one of shape {tuple(dst.shape)}")
    backends.for_device(dst.device).map("id", src._data, dst._data)


def normalize_dim(dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) turned non-negative; IndexError like torch's otherwise."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, not {type(dim).__name__}")
    low, high = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return int(dim) % max(ndim, 1)


# ---------------------------------------------------------------------------------------------------
# Host-side helpers for operations that are not exercises (argmax, gathers, ...): numpy on a view.
# ---------------------------------------------------------------------------------------------------


def host_array(a: Tensor) -> np.ndarray:
    """A numpy array with a's values (a strided view of the storage on the CPU; a copy from a device)."""
    data = a._data
    storage = backends.for_device(a.device).to_host(data.storage)
    itemsize = storage.dtype.itemsize
    if data.size == 0:
        return np.zeros(data.shape, dtype=storage.dtype)
    return np.lib.stride_tricks.as_strided(storage, shape=data.shape, strides=tuple(s * itemsize for s in data.strides))


def from_host(array: np.ndarray, device: str = "cpu", dtype: DType | None = None) -> Tensor:
    """A new tensor holding a copy of `array` on `device`."""
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype.numpy, copy=False)
    data = TensorData.contiguous_from(array)
    if device != "cpu":
        backend = backends.for_device(device)
        data = TensorData(backend.from_host(data.storage), data.shape, data.strides, device)
    return _tensor(data)


def argmax(a: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """Index of the first maximum along `dim` (int64), as torch.argmax."""
    dim = normalize_dim(dim, a.dim())
    values = host_array(a)
    result = np.argmax(values, axis=dim) if values.ndim else np.array(0)
    if keepdim and values.ndim:
        result = np.expand_dims(result, dim)
    return from_host(result.astype(np.int64), a.device)


# ---------------------------------------------------------------------------------------------------
# Views and allocation for Function forwards: new tensors over the same storage, or fresh zeros.
# ---------------------------------------------------------------------------------------------------


def zeros(shape: tuple[int, ...], dtype: DType, device: str = "cpu") -> Tensor:
    """A fresh zero tensor (no graph)."""
    return _tensor(empty(tuple(shape), dtype, device))


def permute(a: Tensor, order: tuple[int, ...]) -> Tensor:
    """The view of `a` whose dim d is a's dim order[d] (ex03's permute)."""
    return _tensor(a._data.permute(tuple(order)))


def view(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The view of `a` with `shape` (same number of elements); torch's error when strides cannot express it."""
    shape = tuple(shape)
    if prod(shape) != a.numel():
        raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {a.numel()}")
    data = a._data.view(shape)
    if data is None:
        raise ShapeError(
            f"view size is not compatible with input tensor's size and stride (shape {tuple(a.shape)}, strides "
            f"{tuple(a.stride())}, requested {shape}): at least one dimension spans across two contiguous "
            "subspaces. Use .reshape(...) instead (it copies when it must)."
        )
    return _tensor(data)


def expand(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The view of `a` broadcast to `shape` (stride 0 on stretched dims); -1 keeps a dim."""
    return _tensor(a._data.expand(tuple(shape)))


def basic_index(a: Tensor, key: tuple[Any, ...]) -> Tensor:
    """The view that a normalized basic-indexing key (ints, slices, None) selects."""
    from .indexing import view_for

    return _tensor(view_for(a._data, key))


def narrow(a: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view of `a` restricted to [start, start + length) along `dim`."""
    dim = normalize_dim(dim, a.dim())
    key = tuple([slice(None)] * dim + [slice(start, start + length)])
    return basic_index(a, key)
