"""`mt.nn.functional` (import it as F): layers, activations and losses as functions, torch's signatures.

The maths is ex08's (served by the course: your exercises/ex08_nn.py, or the reference). This module
checks the arguments first — shapes, dtypes, `reduction`, `p` — so that a wrong call gets torch's kind of
error in plain words, and it handles the shapes that ex08 does not see: a single sample (C,) and extra
dims (N, C, d1, ...) for the classification losses.

softmax, log_softmax and logsumexp are Tensor methods too, so they live below tensor.py, in
minitorch_dg/softmax_ops.py; embedding is in sparse_functional.py, convolutions and pooling in
conv_functional.py and pool_functional.py. This module re-exports them all.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import course
from ..dtypes import int64
from ..errors import ShapeError
from .. import host_ops
from ..host_ops import gelu_exact
from ..softmax_ops import _require_tensor, log_softmax, logsumexp, softmax
from ..tensor import Tensor
from .sparse_functional import embedding

_ex08 = course.ExerciseProxy("ex08")

REDUCTIONS = ("mean", "sum", "none")

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp", "mse_loss", "nll_loss",
    "cross_entropy", "dropout", "flatten",
]


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction; use 'mean', 'sum' or 'none'")


# ---------------------------------------------------------------------------------------------------
# Layers and activations
# ---------------------------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b for input (..., in_features), weight (out_features, in_features), bias (out_features,)."""
    _require_tensor(input, "input", "linear")
    _require_tensor(weight, "weight", "linear")
    if weight.dim() != 2:
        raise ShapeError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.dim() == 0 or input.shape[-1] != weight.shape[1]:
        rows = input.numel() // input.shape[-1] if input.dim() and input.shape[-1] else 1
        cols = input.shape[-1] if input.dim() else 1
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and {weight.shape[1]}x{weight.shape[0]}): "
            f"the input's last dim is {cols}, the layer expects in_features={weight.shape[1]}"
        )
    if bias is not None:
        _require_tensor(bias, "bias", "linear")
        if tuple(bias.shape) not in ((weight.shape[0],), ()):
            raise ShapeError(f"linear(): bias of shape {tuple(bias.shape)} does not match out_features={weight.shape[0]}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {input.dtype.name} and {weight.dtype.name}; "
            "convert the input with .to(weight.dtype) or the model with .to(dtype)"
        )
    return _ex08.linear(input, weight, bias)


def relu(input: Tensor) -> Tensor:
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


# softmax, log_softmax and logsumexp are Tensor methods too: they live below tensor.py, in
# minitorch_dg/softmax_ops.py, and are the same functions here (imported at the top of this module).


# ---------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error; `reduction` is 'mean', 'sum' or 'none'."""
    _require_tensor(input, "input", "mse_loss")
    _require_tensor(target, "target", "mse_loss")
    _check_reduction(reduction)
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size ({tuple(input.shape)}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning, stacklevel=2,
        )
    return _ex08.mse_loss(input, target, reduction)


def _class_targets(fn: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    """Check (input, target) of a classification loss; return them as (N, C) and (N,) plus the 'none' shape."""
    _require_tensor(input, "input", fn)
    _require_tensor(target, "target", fn)
    if target.dtype.is_floating_point:
        raise RuntimeError(
            f"{fn}(): minitorch-dg takes class-index targets (int64), got a {target.dtype.name} target. "
            "Pass the class numbers, e.g. mt.tensor([2, 0, 1]); class-probability targets are not supported."
        )
    if target.dtype is not int64:
        raise RuntimeError(f"{fn}(): expected scalar type Long (int64) for the target but found {target.dtype.name}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{fn}(): expected a floating point input, got {input.dtype.name}")
    if input.dim() == 0:
        raise ShapeError(f"{fn}(): the input must have shape (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    if input.dim() == 1:
        if target.dim() != 0:
            raise ShapeError(f"{fn}(): a 1-D input (C,) needs a 0-d target, got shape {tuple(target.shape)}")
        flat_in, flat_target, shape = input.unsqueeze(0), target.reshape(1), ()
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise ShapeError(
                f"{fn}(): input of shape {tuple(input.shape)} (N, C, ...) needs a target of shape {expected}, "
                f"got {tuple(target.shape)}"
            )
        if input.dim() == 2:
            flat_in, flat_target, shape = input, target, expected
        else:  # (N, C, d1, ...) -> (N·d1·..., C)
            order = [0] + list(range(2, input.dim())) + [1]
            flat_in = input.permute(*order).reshape(math.prod(expected), input.shape[1])  # not -1: C may be 0
            flat_target, shape = target.reshape(-1), expected
    classes = flat_in.shape[1]
    if flat_target.numel():
        values = flat_target.to_numpy()
        bad = values[(values < 0) | (values >= classes)]
        if bad.size:
            raise IndexError(
                f"{fn}(): Target {int(bad[0])} is out of bounds: class indices must be in [0, {classes}) "
                "(minitorch-dg has no ignore_index)"
            )
    return flat_in, flat_target, shape


def _finish(out: Tensor, reduction: str, shape: tuple[int, ...]) -> Tensor:
    return out.reshape(*shape) if reduction == "none" else out


def _not_in_scope(fn: str, weight: Any, ignore_index: int, label_smoothing: float = 0.0) -> None:
    """Deliberate refusal of torch's loss options that minitorch-dg does not have (docs/torch_differences.md)."""
    for name, given in (("weight", weight is not None), ("ignore_index", ignore_index != -100),
                        ("label_smoothing", label_smoothing != 0.0)):
        if given:
            raise NotImplementedError(f"{fn}(): minitorch-dg does not support {name}= (deliberately not in scope; "
                                      "see docs/torch_differences.md)")


def nll_loss(input: Tensor, target: Tensor, reduction: str = "mean", *, weight: Any = None,
             ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (N, C) at class indices `target` (N,)."""
    _not_in_scope("nll_loss", weight, ignore_index)
    _check_reduction(reduction)
    flat_in, flat_target, shape = _class_targets("nll_loss", input, target)
    return _finish(_ex08.nll_loss(flat_in, flat_target, reduction), reduction, shape)


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean", *, weight: Any = None,
                  ignore_index: int = -100, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits `input` (N, C) and class indices `target` (N,): nll_loss(log_softmax(input, 1))."""
    _not_in_scope("cross_entropy", weight, ignore_index, label_smoothing)
    _check_reduction(reduction)
    flat_in, flat_target, shape = _class_targets("cross_entropy", input, target)
    if flat_in.numel() == 0:  # an empty batch (C may be 0 too): nothing to normalise, torch's nan / 0 / []
        return _finish(_ex08.nll_loss(log_softmax(flat_in, 1), flat_target, reduction), reduction, shape)
    return _finish(_ex08.cross_entropy(flat_in, flat_target, reduction), reduction, shape)


# ---------------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) in training; identity otherwise."""
    _require_tensor(input, "input", "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise NotImplementedError("minitorch-dg's dropout has no in-place form; use inplace=False")
    return _ex08.dropout(input, float(p), bool(training))


# ---------------------------------------------------------------------------------------------------
# Embedding: checked in sparse_functional.py (the backward is ex11's scatter-add), imported at the top
# ---------------------------------------------------------------------------------------------------

__all__ += ["embedding"]

# More activations (issue #12), composed of differentiable tensor ops, torch's signatures
# ---------------------------------------------------------------------------------------------------


_TORCH_DTYPE_NAMES = {"int64": "Long", "bool": "Bool"}


def _floating(input: Tensor, fn: str, kernel: str) -> None:
    """torch has these activations for floating point tensors only (its message names the CPU kernel)."""
    _require_tensor(input, "input", fn)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_TORCH_DTYPE_NAMES[input.dtype.name]}\' '
                                  f"({fn} takes floating point tensors, as in torch; convert with .float())")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) (approximate='none', erf-based) or 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) ('tanh')."""
    _floating(input, "gelu", "GeluKernelImpl")
    if approximate == "none":
        return gelu_exact(input)
    if approximate != "tanh":
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return host_ops.gelu_tanh(input)


def silu(input: Tensor) -> Tensor:
    """x · σ(x)."""
    _floating(input, "silu", "silu_cpu")
    return host_ops.silu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope · x elsewhere."""
    _floating(input, "leaky_relu", "leaky_relu_cpu")
    return input.where(input > 0, input * negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, alpha · (eˣ − 1) elsewhere."""
    _floating(input, "elu", "elu_cpu")
    return host_ops.elu(input, float(alpha))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx)) / β, and x itself where βx > threshold (where the two agree to float precision)."""
    _floating(input, "softplus", "softplus_cpu")
    return host_ops.softplus(input, float(beta), float(threshold))


__all__ += ["gelu", "silu", "leaky_relu", "elu", "softplus"]


# ---------------------------------------------------------------------------------------------------
# Convolution and pooling (ex10): checked in conv_functional.py / pool_functional.py
# ---------------------------------------------------------------------------------------------------

from .conv_functional import conv1d, conv2d, fold, unfold  # noqa: E402
from .pool_functional import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ += [
    "conv1d", "conv2d", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d",
]
