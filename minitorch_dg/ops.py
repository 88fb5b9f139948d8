"""Functions of tensors in torch's `torch.xxx(...)` form: mt.cat, mt.stack, mt.exp(x), mt.allclose, ..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import course
from . import kernels as K
from . import softmax_ops
from .creation import tensor
from .tensor import Tensor, matmul
from .tensor_functions import gather, index_select, where

_ex05 = course.ExerciseProxy("ex05")

__all__ = [
    "abs", "allclose", "amax", "argmax", "cat", "clamp", "equal", "exp", "flatten", "gather", "index_select",
    "isclose", "log", "matmul", "max", "maximum", "mean", "min", "minimum", "permute", "relu", "reshape",
    "sigmoid", "sqrt", "squeeze", "stack", "sum", "tanh", "transpose", "unsqueeze", "where", "numel",
]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    K.same_device(*tensors)
    for position, t in enumerate(tensors):
        if t.dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated; "
                               "make it 1-D first (t.reshape(1)) or use mt.stack")
    d = K.normalize_dim(dim, tensors[0].dim())
    return _ex05.Cat.apply(d, *tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dim (all tensors must have the same shape)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got shapes {sorted(shapes)}")
    d = K.normalize_dim(dim, tensors[0].dim() + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return x.abs()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return x.clamp(min, max)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return x.sum(dim, keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return x.mean(dim, keepdim)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    return x.max(dim, keepdim)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    return x.min(dim, keepdim)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return x.amax(dim, keepdim)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmax(dim, keepdim)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return a.maximum(b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return a.minimum(b)


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x.reshape(*shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return x.flatten(start_dim, end_dim)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    return x.permute(*dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return x.transpose(dim0, dim1)


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    return x.squeeze(dim)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return x.unsqueeze(dim)


def numel(x: Tensor) -> int:
    return x.numel()


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> Tensor:
    return tensor(np.isclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=atol), device=a.device)


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool(np.array_equal(a.to_numpy(), b.to_numpy()))


# ---------------------------------------------------------------------------------------------------
# More of torch's module-level functions (issue #12): each is the Tensor method of the same name.
# ---------------------------------------------------------------------------------------------------


def add(x: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return x.add(other, alpha=alpha)


def sub(x: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return x.sub(other, alpha=alpha)


def mul(x: Tensor, other: Any) -> Tensor:
    return x * other


def div(x: Tensor, other: Any) -> Tensor:
    return x / other


def neg(x: Tensor) -> Tensor:
    return -x


def pow(x: Any, exponent: Any) -> Tensor:  # noqa: A001
    return x ** exponent


def square(x: Tensor) -> Tensor:
    return x.square()


def clip(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return x.clamp(min, max)


def prod(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return x.prod(dim, keepdim, dtype=dtype)


def var(x: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    return x.var(dim, unbiased, keepdim, correction=correction)


def std(x: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    return x.std(dim, unbiased, keepdim, correction=correction)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return x.amin(dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmin(dim, keepdim)


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return x.logsumexp(dim, keepdim)


def softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return softmax_ops.softmax(x, dim, dtype=dtype)


def log_softmax(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return softmax_ops.log_softmax(x, dim, dtype=dtype)


def masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    return x.masked_fill(mask, value)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    return x.chunk(chunks, dim)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> list[Tensor]:
    return x.split(split_size_or_sections, dim)


def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return x.any(dim, keepdim)


def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return x.all(dim, keepdim)


__all__ += [
    "add", "sub", "mul", "div", "neg", "pow", "square", "clip", "prod", "var", "std", "amin", "argmin",
    "logsumexp", "softmax", "log_softmax", "masked_fill", "chunk", "split", "any", "all",
]
