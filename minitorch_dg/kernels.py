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
from .tensor_data import TensorData, broadcast_shape, contiguous_strides, prod

if TYPE_CHECKING:
    from .tensor import Tensor

ex03 = course.ExerciseProxy("ex03")


# ---------------------------------------------------------------------------------------------------
# The Tensor class. tensor.py defines it on top of this module (imports point down only: see
# docs/design.md), so the class is handed down once, when tensor.py is imported, by
# `register_tensor_class`. Every module below tensor.py that makes or recognises tensors asks here:
# `K.is_tensor(x)`, or `K.tensor_class` read at call time (never `from .kernels import tensor_class`,
# which would copy the None it holds before tensor.py has run).
# ---------------------------------------------------------------------------------------------------

tensor_class: Any = None


def register_tensor_class(cls: type) -> None:
    """Called once, at the end of tensor.py: the class that kernels and Functions wrap their results in."""
    global tensor_class
    tensor_class = cls


def is_tensor(value: Any) -> bool:
    """isinstance(value, Tensor), for the modules that cannot import tensor.py (it imports them)."""
    return isinstance(value, tensor_class)


def _tensor(data: TensorData) -> Tensor:
    return tensor_class._from_data(data)


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


def device_name(device: Any) -> str:
    """'cpu' or 'cuda' from what a user passes as a device ('cuda:0' is 'cuda'); ValueError otherwise."""
    name = str(device).split(":")[0]
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'")
    return name


def _backend(device: str) -> Any:
    """The backend for `device`, after checking that nobody changed MTDG_SOURCE under the running course."""
    course.check_environment()
    return backends.cpu() if device == "cpu" else backends.for_device(device)


def empty(shape: tuple[int, ...], dtype: DType, device: str = "cpu") -> TensorData:
    """A fresh contiguous TensorData (zero-filled) of `shape` and `dtype` on `device`."""
    shape = tuple(shape)
    storage = _backend(device).empty(shape, dtype.numpy)
    return TensorData.fresh(storage, shape, contiguous_strides(shape), device)


def output(shape: tuple[int, ...], dtype: DType, device: str = "cpu") -> TensorData:
    """A fresh contiguous TensorData for a kernel to overwrite completely: not zero-filled where the backend
    can skip that (`uninitialized`: the fast CPU backend and cuda), zero-filled elsewhere (as `empty`)."""
    return _output_on(_backend(device), tuple(shape), dtype, device)


def _output_on(backend: Any, shape: tuple[int, ...], dtype: DType, device: str) -> TensorData:
    allocate = getattr(backend, "uninitialized", None) or backend.empty
    return TensorData.fresh(allocate(shape, dtype.numpy), shape, contiguous_strides(shape), device, dtype)


def result_type(a: Tensor, b: Tensor) -> DType:
    """torch's promotion for two tensors: a 0-d tensor does not promote an n-d one within a category."""
    if (a.dim() == 0) != (b.dim() == 0):
        big, small = (a, b) if b.dim() == 0 else (b, a)
        if _category(big.dtype) >= _category(small.dtype):
            return big.dtype
    return promote(a.dtype, b.dtype)


def _category(dtype: DType) -> int:
    return 2 if dtype.is_floating_point else (1 if dtype is int64 else 0)


_UNARY = frozenset(UNARY_OPS)
_FLOAT_RESULT = frozenset(FLOAT_RESULT_UNARY)
_BINARY = frozenset(BINARY_OPS)
_COMPARE = frozenset(COMPARISONS)


def map(op: str, a: Tensor, out: Tensor | None = None) -> Tensor:
    """out = op(a) element-wise. With `out`, a broadcastable `a` is written into it (a copy when op is 'id')."""
    if op not in _UNARY:
        raise ValueError(f"unknown map op {op!r}; the ops are {UNARY_OPS}")
    data = a._data
    backend = _backend(data.device)
    if out is None:
        if op in _FLOAT_RESULT and not data.dtype.is_floating_point:
            data = cast(a, get_default_dtype())._data  # torch's sigmoid(int or bool) is float; compute in float
        out_data = _output_on(backend, data.shape, bool_ if op == "logical_not" else data.dtype, data.device)
        if data.strides == out_data.strides and out_data.storage.size > 1 and hasattr(backend, "flat"):
            backend.flat("map", op, out_data.storage.size, out_data.storage, data.storage)
        else:
            backend.map(op, data, out_data)
        return tensor_class._from_data(out_data)
    same_device(a, out)
    ex03.shape_broadcast(tuple(a.shape), tuple(out.shape))
    backend.map(op, a._data, out._data)
    return out




def zip(op: str, a: Tensor, b: Tensor) -> Tensor:
    """op(a, b) element-wise, broadcasting a and b to a common shape.

    Operands of different dtypes are first converted to the promoted dtype (the dtype the op computes in,
    as torch does: int64 + float32 adds in float32), so every kernel sees one input dtype."""
    if op not in _BINARY:
        raise ValueError(f"unknown zip op {op!r}; the ops are {BINARY_OPS}")
    da, db = a._data, b._data
    device = da.device
    if db.device != device:
        same_device(a, b)
    shape = da.shape if da.shape == db.shape else broadcast_shape(da.shape, db.shape)
    common = da.dtype
    if db.dtype is not common:
        common = result_type(a, b)
    if op == "div" and not common.is_floating_point:
        common = get_default_dtype()
    if da.dtype is not common:
        da = cast(a, common)._data
    if db.dtype is not common:
        db = cast(b, common)._data
    backend = _backend(device)
    out = _output_on(backend, shape, bool_ if op in _COMPARE else common, device)
    size = out.storage.size
    if size > 1 and hasattr(backend, "flat"):
        single = _single_operand(da, db, shape, out.strides)
        if single != -2:
            backend.flat("zip", op, size, out.storage, da.storage, db.storage, single=single)
            return tensor_class._from_data(out)
    backend.zip(op, da, db, out)
    return tensor_class._from_data(out)


def _single_operand(da: TensorData, db: TensorData, shape: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """How a flat loop over a fresh contiguous output of `shape` / `strides` reads a and b: -1 when both are
    laid out as the output, 0 (or 1) when a (or b) holds one element in its whole storage and the other is
    laid out as the output, -2 when a flat loop cannot do it."""
    if da.shape == shape and da.strides == strides:
        if db.shape == shape and db.strides == strides:
            return -1
        return 1 if db.storage.size == 1 and db.size == 1 else -2
    if db.shape == shape and db.strides == strides and da.storage.size == 1 and da.size == 1:
        return 0
    return -2


def can_write_into(op: str, out: Tensor, b: Tensor) -> bool:
    """True when `zip_into(op, out, b)` computes what `out.copy_(op(out, b))` would: b broadcasts to out's
    shape, the op computes in out's dtype, and b does not share memory with out."""
    if not isinstance(b, tensor_class) or op not in _BINARY or op in _COMPARE:
        return False
    do, db = out._data, b._data
    if do.device != db.device:
        return False
    if db.dtype is not do.dtype and result_type(out, b) is not do.dtype:
        return False
    if op == "div" and not do.dtype.is_floating_point:
        return False
    if db.shape != do.shape:
        try:
            if broadcast_shape(db.shape, do.shape) != do.shape:
                return False
        except Exception:  # noqa: BLE001 - not broadcastable: the ordinary path raises the right error
            return False
    if 0 in do.strides and do.storage.size > 0 and any(s > 1 for s in do.shape):
        return False  # an expanded view: several elements share one place
    return do.device != "cpu" or not _may_overlap(do.storage, db.storage)


def _may_overlap(x: Any, y: Any) -> bool:
    """np.may_share_memory(x, y), answered at once for two distinct arrays that each own their memory (a
    tensor and a separately made operand: the usual in-place update)."""
    if x is y:
        return True
    if x.base is None and y.base is None:
        return False
    return bool(np.may_share_memory(x, y))


def zip_into(op: str, out: Tensor, b: Tensor) -> None:
    """out = op(out, b) element-wise, written into out's memory (see can_write_into for when that is right)."""
    do, db = out._data, b._data
    backend = _backend(do.device)
    size = prod(do.shape)
    if size > 1 and hasattr(backend, "flat") and do.strides == contiguous_strides(do.shape):
        single = _single_operand(do, db, do.shape, do.strides)
        if single != -2:
            backend.flat("zip", op, size, do.storage, do.storage, db.storage, single=single)
            return
    backend.zip(op, do, db, do)


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
    data = a._data
    shape = data.shape[:dim] + (1,) + data.shape[dim + 1:]
    backend = _backend(data.device)
    out = _output_on(backend, shape, dtype, data.device)
    backend.reduce(op, data, dim, out)
    if not keepdim:  # the same fresh storage without the folded dim: contiguous as well
        kept = shape[:dim] + shape[dim + 1:]
        out = TensorData.fresh(out.storage, kept, contiguous_strides(kept), data.device, dtype)
    return tensor_class._from_data(out)


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
    # (..., n, k) @ (k, m) whose leading dims continue the rows (a contiguous tensor, a slice of rows of one):
    # one product of R = prod(...) * n rows, as torch computes it, instead of one narrow product per batch
    # entry (the char LM's output layer: 32 products of 32 x 128 @ 128 x 97 took 0.86 ms, one of 1024 rows 0.47)
    rows = a._data.view((prod(a.shape[:-1]), a.shape[-1])) if b.dim() == 2 and a.dim() > 2 else None
    if rows is not None:
        out_rows = TensorData.fresh(out.storage, (rows.shape[0], out.shape[-1]), (out.shape[-1], 1), device, a.dtype)
        _backend(device).matmul(rows, b._data, out_rows)
    else:
        _backend(device).matmul(a._data, b._data, out)
    return _tensor(out)


def _matrix(shape: tuple[int, ...]) -> str:
    rows = prod(shape[:-1])
    return f"{rows}x{shape[-1]}"


def contiguous(a: Tensor) -> Tensor:
    """A contiguous copy of `a` (even when `a` is contiguous already)."""
    out = output(tuple(a.shape), a.dtype, a.device)
    _backend(a.device).map("id", a._data, out)
    return _tensor(out)


def cast(a: Tensor, dtype: DType) -> Tensor:
    """A contiguous copy of `a` converted to `dtype`."""
    out = output(tuple(a.shape), dtype, a.device)
    _backend(a.device).map("id", a._data, out)
    return _tensor(out)


def copy_into(dst: Tensor, src: Tensor) -> None:
    """dst[...] = src, broadcasting src to dst's shape (dst may be any view)."""
    same_device(dst, src)
    ex03.shape_broadcast(tuple(src.shape), tuple(dst.shape))
    if tuple(ex03.shape_broadcast(tuple(src.shape), tuple(dst.shape))) != tuple(dst.shape):
        raise ShapeError(f"cannot copy a tensor of shape {tuple(src.shape)} into one of shape {tuple(dst.shape)}")
    _backend(dst.device).map("id", src._data, dst._data)


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
    storage = data.storage if data.device == "cpu" else _backend(data.device).to_host(data.storage)
    size = prod(data.shape)
    if size == 0:
        return np.zeros(data.shape, dtype=storage.dtype)
    if data.strides == contiguous_strides(data.shape):
        return storage[:size].reshape(data.shape)  # a view, as as_strided gives, at a tenth of the cost
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage, shape=data.shape, strides=tuple(s * itemsize for s in data.strides))


def from_host(array: np.ndarray, device: str = "cpu", dtype: DType | None = None) -> Tensor:
    """A new tensor holding a copy of `array` on `device`."""
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype.numpy, copy=False)
    data = TensorData.contiguous_from(array)
    if device != "cpu":
        backend = _backend(device)
        data = TensorData(backend.from_host(data.storage), data.shape, data.strides, device)
    return _tensor(data)


def argmax(a: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """Index of the first maximum along `dim` (int64), as torch.argmax."""
    dim = normalize_dim(dim, a.dim())
    values = host_array(a)
    if not values.ndim:
        return from_host(np.array(0, dtype=np.int64), a.device)
    result = np.argmax(values, axis=dim).astype(np.int64, copy=False)
    shape = values.shape[:dim] + ((1,) if keepdim else ()) + values.shape[dim + 1:]
    if a.device != "cpu":
        return from_host(result.reshape(shape), a.device)
    flat = np.ascontiguousarray(result).reshape(-1)  # a fresh array of argmax's: the tensor's storage as it is
    return tensor_class._from_data(TensorData.fresh(flat, shape, contiguous_strides(shape), "cpu", int64))


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
    return _tensor(a._data.basic_index(key))


def narrow(a: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view of `a` restricted to [start, start + length) along `dim`."""
    dim = normalize_dim(dim, a.dim())
    key = tuple([slice(None)] * dim + [slice(start, start + length)])
    return basic_index(a, key)
