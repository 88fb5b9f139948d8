"""Gradient clipping, torch's signatures; the maths is ex09's (clip_grad_norm_, clip_grad_value_)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ... import course
from ...autodiff import no_grad
from ...tensor import Tensor

_ex09 = course.ExerciseProxy("ex09")


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors (parameters), got {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients of `parameters` in place so that their joint norm is at most max_norm.

    Returns the total norm before clipping (a 0-d tensor). norm_type may be float('inf') or 'inf'.
    """
    norm_type = float(norm_type)
    if norm_type <= 0 and norm_type != -math.inf:
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    grads = _grads(parameters)
    with no_grad():
        total = _ex09.clip_grad_norm_(grads, float(max_norm), norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element of `parameters` into [-clip_value, clip_value], in place."""
    grads = _grads(parameters)
    with no_grad():
        _ex09.clip_grad_value_(grads, float(clip_value))
