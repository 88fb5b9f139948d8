"""ex12 — Modules and normalization: BatchNorm, LayerNorm, GroupNorm, Dropout, as nn.Module subclasses.

Read exercises/ex12_norm.md first. Replace each `raise NotImplementedYet(...)` with your code, then run
`mtdg check ex12`. Do not rename classes, methods or functions, or change their parameters: the tests
call them, and the framework's `mt.nn.BatchNorm1d`, `BatchNorm2d`, `LayerNorm`, `GroupNorm` and
`Dropout2d` build your classes.

Every class here is an `mt.nn.Module` subclass: call `super().__init__()` first, assign learnable tensors
as `nn.Parameter` attributes (or `register_parameter(name, None)` when there is none), register running
statistics with `register_buffer` (or `register_buffer(name, None)`), and let `self.training` (set by
`train()` / `eval()`) choose between the batch's statistics and the running ones. Under torch's names, the
state dict of your module is the state dict of torch's, key for key.

Batch normalization in training runs as one fused `BatchNormFunction` (an `mt.autograd.Function`) whose
backward you derive by hand; everything else is composed from Tensor operations that autograd
differentiates. The helpers that are already written (reduced_dims, channel_shape, extra_repr, ...) are
yours to use.
"""

from __future__ import annotations

from typing import Any

import minitorch_dg as mt
from minitorch_dg import Tensor, nn
from minitorch_dg.errors import NotImplementedYet

# ---------------------------------------------------------------------------------------------
# Part 1: batch statistics and the fused batch-norm Function
# ---------------------------------------------------------------------------------------------


def reduced_dims(input: Tensor) -> tuple[int, ...]:
    """The dims batch norm averages over: every dim but the channel dim 1, e.g. (0, 2, 3) for (N, C, H, W)."""
    return (0,) + tuple(range(2, input.dim()))


def channel_shape(input: Tensor) -> tuple[int, ...]:
    """(1, C, 1, ..., 1): the shape that broadcasts a per-channel vector (C,) against `input` (N, C, *)."""
    return (1, input.shape[1]) + (1,) * (input.dim() - 2)


def batch_statistics(input: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and *biased* variance of input (N, C, *) over reduced_dims, each of shape (C,).

        mean_c = (1/M) Σ x        var_c = (1/M) Σ (x − mean_c)²       M = N · (product of the spatial dims)
    """
    raise NotImplementedYet("ex12", "batch_statistics")


class BatchNormFunction(mt.autograd.Function):
    """y = x̂ · γ + β with x̂ = (x − mean) / √(var + eps), per channel, as one node of the graph.

    forward(ctx, input, weight, bias, mean, var, eps): mean and var are batch_statistics(input) (constants
    here, computed without a graph); weight and bias are (C,) or None. backward returns the gradients of
    input, weight and bias (None for an absent one) and None for mean, var and eps, with
        ĝ = g · γ   (g = grad_output)
        dx = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))       means over reduced_dims, σ = √(var + eps)
        dγ = Σ g · x̂       dβ = Σ g                           sums over reduced_dims
    """

    @staticmethod
    def forward(ctx: Any, input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor, var: Tensor,
                eps: float) -> Tensor:
        raise NotImplementedYet("ex12", "BatchNormFunction.forward")

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Any, ...]:
        raise NotImplementedYet("ex12", "BatchNormFunction.backward")


# ---------------------------------------------------------------------------------------------
# Part 2: the BatchNorm modules
# ---------------------------------------------------------------------------------------------


class _BatchNorm(nn.Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input dims they accept."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: Any = None) -> None:
        """Keep every argument as an attribute of the same name. When affine: Parameters weight = ones and
        bias = zeros of shape (num_features,), else both registered as None. When track_running_stats:
        buffers running_mean = zeros, running_var = ones (num_features,) and num_batches_tracked = a 0-d
        int64 tensor 0, else all three registered as None (torch's keys, so state dicts match)."""
        raise NotImplementedYet("ex12", "_BatchNorm.__init__")

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0 (in place)."""
        raise NotImplementedYet("ex12", "_BatchNorm.reset_running_stats")

    def reset_parameters(self) -> None:
        """The running statistics as new, weight = 1 and bias = 0."""
        raise NotImplementedYet("ex12", "_BatchNorm.reset_parameters")

    def _check_input_dim(self, input: Tensor) -> None:
        """Raise ValueError, in torch's words, when `input` has a number of dims this layer does not take."""
        raise NotImplementedYet("ex12", "_BatchNorm._check_input_dim")

    def _check_input(self, input: Tensor) -> None:
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(
                f"{type(self).__name__}({self.num_features}) expects {self.num_features} channels in dim 1 of its "
                f"input, but got input of shape {tuple(input.shape)}"
            )

    def _update_running_stats(self, mean: Tensor, var: Tensor, count: int) -> None:
        """running = (1 − f) · running + f · batch, with the unbiased variance var · M / (M − 1);
        f = momentum, or 1 / num_batches_tracked when momentum is None (a cumulative average)."""
        raise NotImplementedYet("ex12", "_BatchNorm._update_running_stats")

    def forward(self, input: Tensor) -> Tensor:
        """Training, or track_running_stats=False: normalize with the batch's statistics,
            mean, var = batch_statistics(input)      (no graph: they enter BatchNormFunction as constants)
            raise ValueError("Expected more than 1 value per channel when training, got input size ...")
                when M = numel / C is 1 (the variance of one value is 0 and the unbiased one undefined)
            update the running statistics (only when training and tracking them)
            return BatchNormFunction.apply(input, weight, bias, mean, var, eps)
        Evaluation with running statistics: (x − running_mean) / √(running_var + eps) · γ + β, composed
        (the statistics are constants, so autograd's gradient is already right)."""
        raise NotImplementedYet("ex12", "_BatchNorm.forward")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C (torch.nn.BatchNorm1d)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: Any = None) -> None:
        """The arguments of _BatchNorm: pass them on."""
        raise NotImplementedYet("ex12", "BatchNorm1d.__init__")

    def _check_input_dim(self, input: Tensor) -> None:
        """2-D (N, C) or 3-D (N, C, L) input; otherwise ValueError('expected 2D or 3D input (got 4D input)')."""
        raise NotImplementedYet("ex12", "BatchNorm1d._check_input_dim")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C (torch.nn.BatchNorm2d)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: Any = None) -> None:
        """The arguments of _BatchNorm: pass them on."""
        raise NotImplementedYet("ex12", "BatchNorm2d.__init__")

    def _check_input_dim(self, input: Tensor) -> None:
        """4-D (N, C, H, W) input; otherwise ValueError('expected 4D input (got 3D input)')."""
        raise NotImplementedYet("ex12", "BatchNorm2d._check_input_dim")


# ---------------------------------------------------------------------------------------------
# Part 3: LayerNorm and GroupNorm
# ---------------------------------------------------------------------------------------------


def normalize(input: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x − mean) / √(var + eps) with the mean and the biased variance over `dims` (kept for broadcasting)."""
    raise NotImplementedYet("ex12", "normalize")


class LayerNorm(nn.Module):
    """Normalize over the last len(normalized_shape) dims of each sample, then y = x̂ · γ + β elementwise
    (γ, β of shape normalized_shape; torch.nn.LayerNorm)."""

    def __init__(self, normalized_shape: int | tuple[int, ...] | list[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: str | None = None,
                 dtype: Any = None) -> None:
        """normalized_shape (an int is a 1-tuple) kept as a tuple; when elementwise_affine: Parameters
        weight = ones and bias = zeros of that shape (bias None when bias=False); otherwise both None."""
        raise NotImplementedYet("ex12", "LayerNorm.__init__")

    def forward(self, input: Tensor) -> Tensor:
        """normalize over the last len(normalized_shape) dims, then · weight + bias. An input whose last dims
        are not normalized_shape: RuntimeError("Given normalized_shape=[4], expected input with shape [*, 4],
        but got input of size[2, 3]"), as torch says it."""
        raise NotImplementedYet("ex12", "LayerNorm.forward")

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(nn.Module):
    """Split the C channels of (N, C, *) into num_groups groups and normalize each group of each sample
    over its channels and spatial positions; then y = x̂ · γ_c + β_c per channel (torch.nn.GroupNorm)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: str | None = None, dtype: Any = None) -> None:
        """ValueError("num_channels (4) must be divisible by num_groups (3)") when it is not; when affine:
        Parameters weight = ones and bias = zeros of shape (num_channels,), else both None."""
        raise NotImplementedYet("ex12", "GroupNorm.__init__")

    def forward(self, input: Tensor) -> Tensor:
        """View (N, C, *) as (N, num_groups, rest), normalize over the last dim, view back, then · γ_c + β_c.
        An input without num_channels channels in dim 1: RuntimeError that gives both shapes."""
        raise NotImplementedYet("ex12", "GroupNorm.forward")

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


# ---------------------------------------------------------------------------------------------
# Part 4: Dropout modules
# ---------------------------------------------------------------------------------------------


def _check_probability(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout_mask(shape: tuple[int, ...], p: float, dtype: Any, device: str) -> Tensor:
    """A tensor of `shape` whose entries are 0 with probability p and 1 / (1 − p) otherwise (drawn with
    mt.rand, so mt.manual_seed makes it reproducible); all zeros when p = 1."""
    raise NotImplementedYet("ex12", "dropout_mask")


class Dropout(nn.Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 − p); in eval, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        """Keep p (checked by _check_probability: torch's ValueError outside [0, 1]) and inplace."""
        raise NotImplementedYet("ex12", "Dropout.__init__")

    def forward(self, input: Tensor) -> Tensor:
        """Eval mode (or p = 0): the input itself. Training: input · dropout_mask(input's shape)."""
        raise NotImplementedYet("ex12", "Dropout.forward")

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(nn.Module):
    """In training, zero whole channels: for input (N, C, H, W) (or (N, C, L), as torch reads 3-D input)
    each (n, c) channel is kept with probability 1 − p and scaled by 1 / (1 − p); in eval, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        """Keep p (checked by _check_probability) and inplace."""
        raise NotImplementedYet("ex12", "Dropout2d.__init__")

    def forward(self, input: Tensor) -> Tensor:
        """A 3-D or 4-D input (else ValueError). Eval mode (or p = 0): the input. Training: input times a
        mask of shape (N, C, 1[, 1]) from dropout_mask, which broadcasts over each channel's positions."""
        raise NotImplementedYet("ex12", "Dropout2d.forward")

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

