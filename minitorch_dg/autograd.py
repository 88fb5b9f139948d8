"""`mt.autograd`: custom differentiable functions and the grad-mode switches, as in torch.autograd."""

from __future__ import annotations

from .autodiff import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .function import Function, TensorContext

FunctionCtx = TensorContext

__all__ = ["Function", "FunctionCtx", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
