"""`nn.Embedding`: a lookup table of rows, as torch's.

The lookup itself is `F.embedding` (sparse_functional.py): forward picks row `indices[n]` of the weight
for every index; backward is ex11's `embedding_backward`, a scatter-add.
"""

from __future__ import annotations

from typing import Any

from ..autodiff import no_grad
from ..creation import empty
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter
from .sparse_functional import EmbeddingFunction, _normalize_padding_idx, embedding  # noqa: F401  (nn.sparse.embedding)


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
