"""Flatten parameters into one vector and back (torch.nn.utils.parameters_to_vector and its inverse)."""

from __future__ import annotations

from collections.abc import Iterable

from ...autodiff import no_grad
from ...ops import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters, flattened and concatenated in order (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of `vec` into the parameters, in order (in place)."""
    if not isinstance(vec, Tensor) or vec.dim() != 1:
        raise TypeError("expected a 1-D Tensor for vec")
    params = list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.numel() != needed:
        raise ValueError(f"vec has {vec.numel()} elements, the parameters need {needed}")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[start:start + n].reshape(*p.shape))
            start += n
