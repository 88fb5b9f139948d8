"""`F.embedding` and its Function, as torch's: rows of a table at int64 indices.

Forward picks row `indices[n]` of the weight for every index; backward is ex11's `embedding_backward`, a
scatter-add (a repeated index collects the sum of its gradient rows; the padding_idx row gets none).
The Module, `nn.Embedding`, is in sparse.py; `nn.functional` re-exports `embedding`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import course
from ..dtypes import int64
from ..function import Function, TensorContext
from ..kernels import from_host, host_array, is_tensor

if TYPE_CHECKING:
    from ..tensor import Tensor

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
    if not is_tensor(input) or not is_tensor(weight):
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
