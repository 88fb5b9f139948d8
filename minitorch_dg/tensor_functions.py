"""Differentiable operations that the framework provides itself (not exercises): copies, casts, device
moves, abs/sqrt/clamp, where, products, advanced indexing and gathers.

They are Functions like ex05's, written with the raw kernels; torch's gradient rules are noted on each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernels as K
from .dtypes import DType
from .function import Function, TensorContext
from .indexing import Key, numpy_key
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


class Clamp(Function):
    """min(max(a, low), high); the gradient flows where low <= a <= high (torch's rule, bounds included)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, low: Any, high: Any) -> Tensor:
        out = a
        mask = K.zip("ge", a, a) if a.dtype.is_floating_point else None
        if low is not None:
            low_t = _scalar(low, a)
            out = K.zip("maximum", out, low_t)
            mask = K.zip("mul", mask, K.zip("ge", a, low_t)) if mask is not None else None
        if high is not None:
            high_t = _scalar(high, a)
            out = K.zip("minimum", out, high_t)
            mask = K.zip("mul", mask, K.zip("le", a, high_t)) if mask is not None else None
        ctx.save_for_backward(mask)
        return out if out is not a else K.contiguous(a)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        (mask,) = ctx.saved_tensors
        return K.zip("mul", grad, mask.to(grad.dtype)), None, None


class Prod(Function):
    """Product over dims; d/da_i = prod / a_i, computed without dividing (so zeros work): the product of the others."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim = dims, keepdim
        out = a
        for d in sorted(dims, reverse=True):
            out = K.reduce("prod", out, d, keepdim=keepdim)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        (a,) = ctx.saved_tensors
        host = a.to_numpy().astype(np.float64)
        dims = tuple(ctx.dims)
        g = grad.to_numpy()
        if not ctx.keepdim:
            for d in sorted(dims):
                g = np.expand_dims(g, d)
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
    """cond ? a : b, with broadcasting; each branch gets the gradient where it was chosen."""

    @staticmethod
    def forward(ctx: TensorContext, cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
        mask = cond.to(K.result_type(a, b)) if cond.dtype.name == "bool" else K.zip("ne", cond, _zero(cond)).to(K.result_type(a, b))
        ctx.save_for_backward(mask)
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        one = _scalar(1, mask)
        return K.zip("add", K.zip("mul", mask, a), K.zip("mul", K.zip("sub", one, mask), b))

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[None, Tensor, Tensor]:
        (mask,) = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        one = _scalar(1, mask)
        ga = _sum_to(K.zip("mul", grad, mask), a_shape)
        gb = _sum_to(K.zip("mul", grad, K.zip("sub", one, mask)), b_shape)
        return None, ga, gb


def where(cond: Tensor, a: Any, b: Any) -> Tensor:
    """torch.where(cond, a, b)."""
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else cond
    a_t = a if isinstance(a, Tensor) else ref._other(a)
    b_t = b if isinstance(b, Tensor) else ref._other(b)
    dtype = K.result_type(a_t, b_t)
    return Where.apply(cond, a_t.to(dtype), b_t.to(dtype))


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
        return K.from_host(np.take_along_axis(K.host_array(a), idx, axis=dim), a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        out = np.zeros(ctx.shape, dtype=grad.dtype.numpy)
        grid = list(np.indices(ctx.index.shape, sparse=True))
        grid[ctx.dim] = ctx.index
        np.add.at(out, tuple(grid), grad.to_numpy())
        return K.from_host(out, grad.device), None, None


def gather(a: Tensor, dim: int, index: Tensor) -> Tensor:
    if index.dtype.name != "int64":
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype.name}")
    return Gather.apply(a, K.normalize_dim(dim, a.dim()), index)


def index_select(a: Tensor, dim: int, index: Tensor) -> Tensor:
    d = K.normalize_dim(dim, a.dim())
    key = tuple([slice(None)] * d + [index])
    return a[key]


def _zero(like: Tensor) -> Tensor:
    return _scalar(0, like)


def _scalar(value: Any, like: Tensor) -> Tensor:
    from .creation import tensor

    return tensor(value, dtype=like.dtype, device=like.device)


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
