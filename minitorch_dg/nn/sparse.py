"""Embedding: a lookup table of rows, and F.embedding, as torch's.

Forward picks row `indices[n]` of the weight for every index; backward is ex11's `embedding_backward`, a
scatter-add (a repeated index collects the sum of its gradient rows; the padding_idx row gets none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import course
from ..autodiff import no_grad
from ..creation import empty
from ..dtypes import int64
from ..function import Function, TensorContext
from ..kernels import from_host, host_array
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter

_ex11 = course.ExerciseProxy("ex11")


class EmbeddingFunction(Function):
    """weight (num_embeddings, D), indices (any shape, int64) -> (*indices.shape, D)."""

    @staticmethod
    def forward(ctx: TensorContext, weight: Tensor, indices: Tensor, padding_idx: int) -> Tensor:
        flat = np.ascontiguousarray(host_array(indices)).reshape(-1)
        table = host_array(weight)
        ctx.flat = flat
        ctx.table_shape = tuple(weight.shape)
        ctx.padding_idx = padding_idx
        rows = np.ascontiguousarray(table[flat]).reshape(tuple(indices.shape) + (table.shape[1],))
        return from_host(rows, weight.device)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, None, None]:
        rows, width = ctx.table_shape
        grad_rows = np.ascontiguousarray(host_array(grad)).reshape(-1, width)
        grad_weight = np.zeros((rows, width), dtype=grad_rows.dtype)
        _ex11.embedding_backward(ctx.flat, grad_rows, grad_weight, ctx.padding_idx)
        return from_host(grad_weight, grad.device), None, None


def _normalize_padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(
            f"Padding_idx must be within num_embeddings: got padding_idx={padding_idx} for {num_embeddings} embeddings"
        )
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, D) at the int64 `input` indices: shape (*input.shape, D)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("embedding(): input and weight must be Tensors")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("minitorch-dg's embedding has no max_norm, scale_grad_by_freq or sparse; leave them unset")
    if input.dtype is not int64:
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have scalar type Long (int64), but got "
            f"{input.dtype.name} instead; convert it with .long()"
        )
    if weight.dim() != 2:
        raise RuntimeError(f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    pad = _normalize_padding_idx(padding_idx, num)
    if input.numel():
        values = host_array(input)
        bad = values[(values < 0) | (values >= num)]
        if bad.size:
            raise IndexError(
                f"index out of range in self: index {int(bad.reshape(-1)[0])} is outside the embedding table of "
                f"{num} rows (valid indices are 0 to {num - 1})"
            )
    if input.device != weight.device:
        raise RuntimeError(f"embedding(): indices are on {input.device} and the weight on {weight.device}")
    return EmbeddingFunction.apply(weight, input, -1 if pad is None else pad)


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim, initialised from N(0, 1) (the padding_idx row at 0)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("minitorch-dg's Embedding has no max_norm, scale_grad_by_freq or sparse")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _normalize_padding_idx(padding_idx, num_embeddings)
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype, device=device), not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight, not _freeze)

    def reset_parameters(self) -> None:
        with no_grad():
            self.weight.normal_(0.0, 1.0)
            if self.padding_idx is not None:
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        **kwargs: Any) -> Embedding:
        """An Embedding whose weight is (a copy of) `embeddings` (2-D); frozen (no gradient) unless freeze=False."""
        if not isinstance(embeddings, Tensor) or embeddings.dim() != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, _weight=embeddings.detach().clone(), _freeze=freeze, **kwargs)
