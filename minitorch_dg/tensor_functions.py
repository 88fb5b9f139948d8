"""Differentiable operations that the framework provides itself (not exercises): copies, casts, device
moves, abs/sqrt/clamp, where, products, advanced indexing and gathers.

They are Functions like ex05's, written with the raw kernels; torch's gradient rules are noted on each.
Tensor's methods call them, so this module sits below tensor.py and never imports it: it recognises a
tensor with `K.is_tensor` (see kernels.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels as K
from .autodiff import no_grad
from .creation import tensor as new_tensor
from .dtypes import DType, bool_, int64, promote, promote_with_scalar
from .function import Function, TensorContext
from .indexing import Key, numpy_key

if TYPE_CHECKING:
    from .tensor import Tensor


class Contiguous(Function):
    """A contiguous copy; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor) -> Tensor:
        return K.contiguous(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        return grad


class Cast(Function):
    """A copy converted to another dtype; the gradient is converted back."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dtype: DType) -> Tensor:
        ctx.source_dtype = a.dtype
        return K.cast(a, dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor | None, None]:
        if not ctx.source_dtype.is_floating_point:
            return None, None
        return K.cast(grad, ctx.source_dtype), None


class ToDevice(Function):
    """A copy on another device; the gradient goes back to the source device."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, device: str) -> Tensor:
        ctx.source_device = a.device
        return K.from_host(a.to_numpy(), device)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        return K.from_host(grad.to_numpy(), ctx.source_device), None


class Abs(Function):
    """|a|; d|a|/da = sign(a) (0 at 0, as torch)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return K.map("abs", a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_tensors
        sign = K.zip("gt", a, _zero(a)).to(grad.dtype) - K.zip("lt", a, _zero(a)).to(grad.dtype)
        return K.zip("mul", grad, sign)


class Sqrt(Function):
    """sqrt(a); derivative 1 / (2 sqrt(a))."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor) -> Tensor:
        out = K.map("sqrt", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return K.zip("div", grad, K.zip("mul", out, _scalar(2.0, out)))


class Reciprocal(Function):
    """1 / a (float for integer a); torch's derivative -g · out² (from the saved output)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor) -> Tensor:
        out = K.map("inv", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return K.map("neg", K.zip("mul", grad, K.zip("mul", out, out)))


class Var(Function):
    """Σ (x − mean)² / max(dof, 0) over dims, dof = n − correction; torch's gradient (var_backward):

    - over dims: 2 g (x − mean) / dof with dof as it is (negative when correction > n, so the gradient
      is −0 where x is its mean, not nan);
    - over the whole tensor (dim None, or a 0-d input) with dof <= 0: g · inf, or g · nan where x equals
      its mean (inf · 0);
    - otherwise 2 g (x − mean) / dof.

    The mean's own path, 0 in exact arithmetic, is left out, as torch does: it would turn an inf in x into
    nan everywhere."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dims: tuple[int, ...], keepdim: bool, dof: float,
                whole: bool) -> Tensor:
        with no_grad():
            mean = a.mean(dims, keepdim=True)
            centered = a - mean
            out = (centered * centered).sum(dims, keepdim=keepdim) / max(dof, 0.0)
        ctx.save_for_backward(centered, a, mean)
        ctx.dims, ctx.keepdim, ctx.dof, ctx.whole = dims, keepdim, dof, whole
        return out.detach()

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None, None, None]:
        centered, a, mean = ctx.saved_tensors
        g = grad
        if not ctx.keepdim:
            g = g.reshape(tuple(1 if d in ctx.dims else s for d, s in enumerate(centered.shape)))
        if ctx.whole and ctx.dof <= 0:
            factor = K.select(K.zip("eq", a, mean), _scalar(float("nan"), a), _scalar(float("inf"), a))
            return g * factor, None, None, None, None
        return g * centered * (2.0 / ctx.dof if ctx.dof else float("inf")), None, None, None, None


class StdFromVar(Function):
    """std = sqrt(var), with torch's gradient rule for std: exactly 0 where std is 0 (not g / 0)."""

    @staticmethod
    def forward(ctx: TensorContext, var: Tensor) -> Tensor:
        out = K.map("sqrt", var)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        scaled = K.zip("div", grad, K.zip("mul", out, _scalar(2.0, out)))
        return K.select(K.zip("eq", out, _zero(out)), _zero(scaled), scaled)


class Clamp(Function):
    """min(max(a, low), high); the gradient flows where low <= a <= high (torch's rule, bounds included) and
    is exactly 0 elsewhere (a select, so an inf or nan gradient does not leak into the clamped positions)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, low: Any, high: Any) -> Tensor:
        out = a
        mask = K.zip("ge", a, a)  # False at nan: torch passes no gradient there
        if low is not None:
            low_t = _scalar(low, a)
            out = K.zip("maximum", out, low_t)
            mask = K.select(mask, K.zip("ge", a, low_t), mask)
        if high is not None:
            high_t = _scalar(high, a)
            out = K.zip("minimum", out, high_t)
            mask = K.select(mask, K.zip("le", a, high_t), mask)
        ctx.save_for_backward(mask)
        return out if out is not a else K.contiguous(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        (mask,) = ctx.saved_tensors
        return K.select(mask, grad, _zero(grad)), None, None


def clamp(a: Tensor, low: Any, high: Any) -> Tensor:
    """torch.clamp: a float bound promotes an integer tensor to float (int.clamp(min=0.5) is float32)."""
    if low is None and high is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [_number(v) for v in (low, high) if v is not None]
    dtype = a.dtype
    for value in bounds:
        dtype = promote(dtype, promote_with_scalar(a.dtype, value))
    if dtype is bool_:
        raise NotImplementedError("clamp is not implemented for bool tensors with bool bounds (torch refuses it "
                                  "too); use .long() first")
    return Clamp.apply(a.to(dtype), *(None if v is None else _number(v) for v in (low, high)))


def _number(value: Any) -> Any:
    if K.is_tensor(value):
        if value.numel() != 1:
            raise RuntimeError("minitorch-dg's clamp takes number bounds (or one-element tensors), not tensors of "
                               f"shape {tuple(value.shape)}; use mt.maximum / mt.minimum for element-wise bounds")
        return value.item()
    return value


class Maximum(Function):
    """max(a, b) element-wise (nan if either is nan); torch's gradient: each side gets grad where it is the
    larger, half of it on a tie, and exactly 0 where it lost."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, b: Tensor, larger: bool) -> Tensor:
        ctx.save_for_backward(a, b)
        ctx.larger = larger
        op = "maximum" if larger else "minimum"
        if a.dtype is bool_:
            return K.cast(K.zip(op, K.cast(a, int64), K.cast(b, int64)), bool_)
        return K.zip(op, a, b)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        a, b = ctx.saved_tensors
        lose_a, lose_b = ("lt", "gt") if ctx.larger else ("gt", "lt")
        shared = K.select(K.zip("eq", a, b), K.zip("div", grad, _scalar(2.0, grad)), grad)
        zero = _zero(grad)
        ga = K.select(K.zip(lose_a, a, b), zero, shared)
        gb = K.select(K.zip(lose_b, a, b), zero, shared)
        return _sum_to(ga, tuple(a.shape)), _sum_to(gb, tuple(b.shape)), None


def maximum(a: Tensor, b: Any, larger: bool = True) -> Tensor:
    """torch.maximum (larger=True) or torch.minimum (larger=False), with torch's type promotion."""
    b_t = a._other(b)
    dtype = K.result_type(a, b_t)
    return Maximum.apply(a.to(dtype), b_t.to(dtype), larger)


class Extreme(Function):
    """max() or min() of all elements (larger=True / False); torch's gradient: g shared equally among the
    elements equal to the result (the nan elements when it is nan), exactly 0 elsewhere."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, larger: bool) -> Tensor:
        if a.numel() == 0:
            raise RuntimeError(f"{'max' if larger else 'min'}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        values = K.host_array(a)
        with np.errstate(invalid="ignore"):
            out = np.max(values) if larger else np.min(values)
        ctx.save_for_backward(a)
        ctx.out = out
        return K.from_host(np.asarray(out), a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        (a,) = ctx.saved_tensors
        values = K.host_array(a)
        mask = np.isnan(values) if ctx.out != ctx.out else values == ctx.out
        out = np.zeros(values.shape, dtype=grad.dtype.numpy)
        out[mask] = grad.to_numpy() / mask.sum()
        return K.from_host(out, grad.device), None


class RPow(Function):
    """base ** x for a number base;  d/dx = base^x · ln(base) (0 where base == 0 and x >= 0, as torch)."""

    @staticmethod
    def forward(ctx: TensorContext, x: Tensor, base: float) -> Tensor:
        out = K.zip("pow", _scalar(base, x), x)
        ctx.save_for_backward(x, out)
        ctx.base = base
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        x, out = ctx.saved_tensors
        with np.errstate(all="ignore"):
            log_base = float(np.log(ctx.base)) if ctx.base >= 0 else float("nan")
        factor = K.zip("mul", out, _scalar(log_base, out))
        if ctx.base == 0:  # torch: the factor is 0 where x >= 0 (0^x is flat there), and still multiplies g
            factor = K.select(K.zip("ge", x, _zero(x)), _zero(factor), factor)
        return K.zip("mul", grad, factor), None


def rpow(x: Tensor, base: Any) -> Tensor:
    """number ** tensor with torch's dtypes: int ** int tensor is int64, a float base gives float."""
    dtype = promote_with_scalar(x.dtype, base)
    if dtype is bool_:
        dtype = int64
    if not dtype.is_floating_point:
        values = K.host_array(x).astype(np.int64)
        base = int(base)
        # integer powers as torch computes them: a negative exponent gives 0, except for bases 1 and -1
        with np.errstate(all="ignore"):
            positive = np.power(np.int64(base), np.maximum(values, 0))
        negative = np.where(values % 2 == 0, 1, -1) if base == -1 else np.full(values.shape, 1 if base == 1 else 0)
        return K.from_host(np.where(values < 0, negative, positive), x.device, int64)
    return RPow.apply(x.to(dtype), float(base))


class Prod(Function):
    """Product over dims; d/da_i = prod / a_i, computed without dividing (so zeros work): the product of the others."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim = dims, keepdim
        out = a
        for d in sorted(dims, reverse=True):
            out = K.reduce("prod", out, d, keepdim=keepdim)
        return out if out is not a else K.contiguous(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        (a,) = ctx.saved_tensors
        if a.dim() == 0:  # a 0-d tensor is its own product
            return grad, None, None
        if a.numel() == 0:
            return K.zeros(tuple(a.shape), grad.dtype, grad.device), None, None
        host = a.to_numpy().astype(np.float64)
        dims = tuple(ctx.dims)
        g = grad.to_numpy()
        if not ctx.keepdim:
            for d in sorted(dims):
                g = np.expand_dims(g, d)
        if not (host == 0).any():  # torch's rule without zeros: g * prod / a (so a nan or inf shows through)
            with np.errstate(all="ignore"):
                total = np.prod(host, axis=dims, keepdims=True) if dims else host
                return K.from_host(g * (total / host), a.device, a.dtype), None, None
        moved = np.moveaxis(host, dims, tuple(range(-len(dims), 0))) if dims else host[..., None]
        flat = moved.reshape(moved.shape[: moved.ndim - max(len(dims), 1)] + (-1,))
        n = flat.shape[-1]
        others = np.empty_like(flat)
        for i in range(n):
            others[..., i] = np.prod(np.delete(flat, i, axis=-1), axis=-1)
        others = others.reshape(moved.shape)
        others = np.moveaxis(others, tuple(range(-len(dims), 0)), dims) if dims else others[..., 0]
        return K.from_host(others * g, a.device, a.dtype), None, None


class Where(Function):
    """cond ? a : b, with broadcasting; a real select, so the branch not chosen cannot poison the result.
    Each branch gets the gradient where it was chosen and exactly 0 elsewhere."""

    @staticmethod
    def forward(ctx: TensorContext, cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(cond)
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        return K.select(cond, a, b)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[None, Tensor, Tensor]:
        (cond,) = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        zero = _zero(grad)
        ga = _sum_to(K.select(cond, grad, zero), a_shape)
        gb = _sum_to(K.select(cond, zero, grad), b_shape)
        return None, ga, gb


def where(cond: Tensor, a: Any, b: Any) -> Tensor:
    """torch.where(cond, a, b): cond must be a bool tensor; a and b tensors or numbers, promoted together."""
    if not K.is_tensor(cond):
        raise TypeError(f"where(): argument 'condition' must be a Tensor, not {type(cond).__name__}")
    if cond.dtype is not bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{cond.dtype.name}; compare first, e.g. mt.where(x > 0, a, b)")
    a_t, b_t = _branch(a, b, cond), _branch(b, a, cond)
    dtype = K.result_type(a_t, b_t)
    if not K.is_tensor(a) and not K.is_tensor(b):
        dtype = promote_with_scalar(promote_with_scalar(bool_, a), b)
        if dtype is bool_ and not (isinstance(a, bool) and isinstance(b, bool)):
            dtype = int64
    return Where.apply(cond, a_t.to(dtype), b_t.to(dtype))


def _branch(value: Any, other: Any, cond: Tensor) -> Tensor:
    """A branch of where as a tensor: a number takes the dtype torch gives it next to the other branch."""
    if K.is_tensor(value):
        return value
    if K.is_tensor(other):
        return other._other(value)
    return new_tensor(value, device=cond.device)


def masked_fill(a: Tensor, mask: Tensor, value: Any) -> Tensor:
    """torch's masked_fill: `value` where mask is True, a elsewhere (the result keeps a's dtype)."""
    if not K.is_tensor(mask) or mask.dtype is not bool_:
        got = mask.dtype.name if K.is_tensor(mask) else type(mask).__name__
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {got}")
    if K.is_tensor(value):
        if value.dim() != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        fill = value.to(a.dtype)
    else:
        if a.dtype is int64 and isinstance(value, float) and not np.isfinite(value):
            raise RuntimeError(f"value cannot be converted to type int64_t without overflow (masked_fill of {value} "
                               "into an int64 tensor)")
        if a.dtype is bool_:
            value = bool(value)  # torch: any non-zero value (nan included) fills True
        elif a.dtype is int64:
            value = int(value)  # torch truncates toward zero
        fill = new_tensor(value, dtype=a.dtype, device=a.device)
    shape = tuple(K.ex03.shape_broadcast(tuple(a.shape), tuple(mask.shape)))
    if shape != tuple(a.shape):
        raise RuntimeError(f"masked_fill: the mask of shape {tuple(mask.shape)} does not broadcast to the "
                           f"tensor's shape {tuple(a.shape)}")
    return Where.apply(mask, fill, a)


class AdvancedIndex(Function):
    """x[int or bool arrays ...]: a gathered copy; backward scatters (adds) the gradient back."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, key: Key) -> Tensor:
        ctx.shape, ctx.key = tuple(a.shape), key
        return K.from_host(np.ascontiguousarray(K.host_array(a)[numpy_key(key)]), a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        out = np.zeros(ctx.shape, dtype=grad.dtype.numpy)
        np.add.at(out, numpy_key(ctx.key), grad.to_numpy())
        return K.from_host(out, grad.device), None


class Gather(Function):
    """torch.gather(a, dim, index): out[i][j] = a[i][index[i][j]] (for dim=1); backward scatter-adds."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dim: int, index: Tensor) -> Tensor:
        idx = index.to_numpy()
        ctx.shape, ctx.dim, ctx.index = tuple(a.shape), dim, idx
        # the index may be smaller than the input in the other dims: gather from that corner of the input
        corner = tuple(slice(None) if d == dim else slice(0, size) for d, size in enumerate(idx.shape))
        return K.from_host(np.take_along_axis(K.host_array(a)[corner], idx, axis=dim), a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        out = np.zeros(ctx.shape, dtype=grad.dtype.numpy)
        grid = list(np.indices(ctx.index.shape, sparse=True))
        grid[ctx.dim] = ctx.index
        np.add.at(out, tuple(grid), grad.to_numpy())
        return K.from_host(out, grad.device), None, None


def gather(a: Tensor, dim: int, index: Tensor) -> Tensor:
    """torch.gather: out[i][j] = a[i][index[i][j]] (dim=1); the index has a's number of dims, may be smaller
    than a in the other dims (out has the index's shape) and holds values in [0, a.size(dim))."""
    if not K.is_tensor(index) or index.dtype is not int64:
        got = index.dtype.name if K.is_tensor(index) else type(index).__name__
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {got}")
    d = K.normalize_dim(dim, a.dim())
    if a.dim() == 0 and index.dim() == 0:
        return Gather.apply(a.reshape(1), 0, index.reshape(1)).reshape(())
    if index.dim() != a.dim():
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor (index has "
                           f"{index.dim()}, input has {a.dim()})")
    for other in range(a.dim()):
        if other != d and index.shape[other] > a.shape[other]:
            raise RuntimeError(f"Size does not match at dimension {other} expected index {list(index.shape)} to be "
                               f"smaller than self {list(a.shape)} apart from dimension {d}")
    _check_range(index, a.shape[d], d, "gather")
    return Gather.apply(a, d, index)


def _check_range(index: Tensor, size: int, dim: int, fn: str) -> None:
    """RuntimeError (torch's words) for an index value outside [0, size): gathers do not wrap negatives."""
    values = index.to_numpy()
    bad = values[(values < 0) | (values >= size)]
    if bad.size:
        raise RuntimeError(f"{fn}(): index {int(bad[0])} is out of bounds for dimension {dim} with size {size}")


def index_select(a: Tensor, dim: int, index: Tensor) -> Tensor:
    """torch.index_select: the entries index[k] (a 1-D or 0-d int64 tensor, values in [0, size)) along dim."""
    d = K.normalize_dim(dim, a.dim())
    if not K.is_tensor(index) or index.dtype is not int64:
        got = index.dtype.name if K.is_tensor(index) else type(index).__name__
        raise RuntimeError(f"index_select(): Expected dtype int64 for index, got {got}")
    if index.dim() > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {tuple(index.shape)}")
    size = a.shape[d] if a.dim() else 1
    values = index.to_numpy()
    if ((values < 0) | (values >= size)).any():
        bad = int(values[(values < 0) | (values >= size)][0])
        raise IndexError(f"index out of range in self: index {bad} along dim {d} of size {size}")
    if a.dim() == 0:
        return a.reshape(1)[index.reshape(-1)].reshape(() if index.numel() == 1 else (index.numel(),))
    key = tuple([slice(None)] * d + [index.reshape(-1)])
    return a[key]


def _zero(like: Tensor) -> Tensor:
    return _scalar(0, like)


def _scalar(value: Any, like: Tensor) -> Tensor:
    return new_tensor(value, dtype=like.dtype, device=like.device)


def _sum_to(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum `grad` down to `shape` (the reverse of broadcasting), with raw kernels."""
    lead = grad.dim() - len(shape)
    out = grad
    for d in range(grad.dim() - 1, -1, -1):
        if d < lead:
            out = K.reduce("sum", out, d, keepdim=False)
        elif shape[d - lead] == 1 and grad.shape[d] != 1:
            out = K.reduce("sum", out, d, keepdim=True)
    return out
