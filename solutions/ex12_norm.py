"""ex12 — Modules and normalization: BatchNorm, LayerNorm, GroupNorm, Dropout (reference solution).

Every class here is an `mt.nn.Module` subclass: learnable tensors are `nn.Parameter`s assigned to
attributes, running statistics are buffers (`register_buffer`), and `self.training` (set by `train()` /
`eval()`) chooses between the batch's statistics and the running ones. The framework's `mt.nn.BatchNorm1d`,
`BatchNorm2d`, `LayerNorm`, `GroupNorm` and `Dropout2d` build these classes.

Batch normalization in training runs as one fused `BatchNormFunction` whose backward is derived by hand;
everything else is composed from Tensor operations that autograd differentiates.
"""

from __future__ import annotations

from typing import Any

import minitorch_dg as mt
from minitorch_dg import Tensor, nn

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
    dims = reduced_dims(input)
    mean = input.mean(dims)
    centered = input - mean.view(channel_shape(input))
    return mean, (centered * centered).mean(dims)


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
        shape = channel_shape(input)
        inv_std = 1.0 / (var + eps).sqrt()
        x_hat = (input - mean.view(shape)) * inv_std.view(shape)
        out = x_hat
        if weight is not None:
            out = out * weight.view(shape)
        if bias is not None:
            out = out + bias.view(shape)
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x_hat, inv_std, weight)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Any, ...]:
        x_hat, inv_std, weight = ctx.saved_tensors
        dims = reduced_dims(grad_output)
        shape = channel_shape(grad_output)
        g = grad_output * weight.view(shape) if weight is not None else grad_output
        mean_g = g.mean(dims, keepdim=True)
        mean_gx = (g * x_hat).mean(dims, keepdim=True)
        grad_input = (g - mean_g - x_hat * mean_gx) * inv_std.view(shape)
        grad_weight = (grad_output * x_hat).sum(dims) if weight is not None else None
        grad_bias = grad_output.sum(dims) if ctx.has_bias else None
        return grad_input, grad_weight, grad_bias, None, None, None


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
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(mt.ones(num_features, dtype=dtype, device=device))
            self.bias = nn.Parameter(mt.zeros(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", mt.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", mt.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", mt.tensor(0, dtype=mt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0 (in place)."""
        if self.track_running_stats:
            with mt.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics as new, weight = 1 and bias = 0."""
        self.reset_running_stats()
        if self.affine:
            with mt.no_grad():
                self.weight.fill_(1.0)
                self.bias.zero_()

    def _check_input_dim(self, input: Tensor) -> None:
        """Raise ValueError, in torch's words, when `input` has a number of dims this layer does not take."""
        raise NotImplementedError

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
        with mt.no_grad():
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
            else:
                factor = self.momentum
            unbiased = var * (count / (count - 1))
            self.running_mean.mul_(1.0 - factor).add_(mean * factor)
            self.running_var.mul_(1.0 - factor).add_(unbiased * factor)

    def forward(self, input: Tensor) -> Tensor:
        """Training, or track_running_stats=False: normalize with the batch's statistics,
            mean, var = batch_statistics(input)      (no graph: they enter BatchNormFunction as constants)
            raise ValueError("Expected more than 1 value per channel when training, got input size ...")
                when M = numel / C is 1 (the variance of one value is 0 and the unbiased one undefined)
            update the running statistics (only when training and tracking them)
            return BatchNormFunction.apply(input, weight, bias, mean, var, eps)
        Evaluation with running statistics: (x − running_mean) / √(running_var + eps) · γ + β, composed
        (the statistics are constants, so autograd's gradient is already right)."""
        self._check_input(input)
        use_batch = self.training or not self.track_running_stats
        if not use_batch:
            shape = channel_shape(input)
            out = (input - self.running_mean.view(shape)) / (self.running_var.view(shape) + self.eps).sqrt()
            if self.weight is not None:
                out = out * self.weight.view(shape)
            if self.bias is not None:
                out = out + self.bias.view(shape)
            return out
        count = input.numel() // input.shape[1]
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {mt.Size(input.shape)}"
            )
        with mt.no_grad():
            mean, var = batch_statistics(input.detach())
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, var, count)
        return BatchNormFunction.apply(input, self.weight, self.bias, mean, var, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C (torch.nn.BatchNorm1d)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: Any = None) -> None:
        """The arguments of _BatchNorm: pass them on."""
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def _check_input_dim(self, input: Tensor) -> None:
        """2-D (N, C) or 3-D (N, C, L) input; otherwise ValueError('expected 2D or 3D input (got 4D input)')."""
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C (torch.nn.BatchNorm2d)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: Any = None) -> None:
        """The arguments of _BatchNorm: pass them on."""
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def _check_input_dim(self, input: Tensor) -> None:
        """4-D (N, C, H, W) input; otherwise ValueError('expected 4D input (got 3D input)')."""
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


# ---------------------------------------------------------------------------------------------
# Part 3: LayerNorm and GroupNorm
# ---------------------------------------------------------------------------------------------


def normalize(input: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x − mean) / √(var + eps) with the mean and the biased variance over `dims` (kept for broadcasting)."""
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered / (var + eps).sqrt()


class LayerNorm(nn.Module):
    """Normalize over the last len(normalized_shape) dims of each sample, then y = x̂ · γ + β elementwise
    (γ, β of shape normalized_shape; torch.nn.LayerNorm)."""

    def __init__(self, normalized_shape: int | tuple[int, ...] | list[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: str | None = None,
                 dtype: Any = None) -> None:
        """normalized_shape (an int is a 1-tuple) kept as a tuple; when elementwise_affine: Parameters
        weight = ones and bias = zeros of that shape (bias None when bias=False); otherwise both None."""
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(size) for size in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(mt.ones(*self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = nn.Parameter(mt.zeros(*self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        """normalize over the last len(normalized_shape) dims, then · weight + bias. An input whose last dims
        are not normalized_shape: RuntimeError("Given normalized_shape=[4], expected input with shape [*, 4],
        but got input of size[2, 3]"), as torch says it."""
        count = len(self.normalized_shape)
        if input.dim() < count or tuple(input.shape[input.dim() - count:]) != self.normalized_shape:
            raise RuntimeError(
                f"Given normalized_shape={list(self.normalized_shape)}, expected input with shape "
                f"[*, {', '.join(str(s) for s in self.normalized_shape)}], but got input of size{list(input.shape)}"
            )
        out = normalize(input, tuple(range(input.dim() - count, input.dim())), self.eps)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(nn.Module):
    """Split the C channels of (N, C, *) into num_groups groups and normalize each group of each sample
    over its channels and spatial positions; then y = x̂ · γ_c + β_c per channel (torch.nn.GroupNorm)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: str | None = None, dtype: Any = None) -> None:
        """ValueError("num_channels (4) must be divisible by num_groups (3)") when it is not; when affine:
        Parameters weight = ones and bias = zeros of shape (num_channels,), else both None."""
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(mt.ones(num_channels, dtype=dtype, device=device))
            self.bias = nn.Parameter(mt.zeros(num_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        """View (N, C, *) as (N, num_groups, rest), normalize over the last dim, view back, then · γ_c + β_c.
        An input without num_channels channels in dim 1: RuntimeError that gives both shapes."""
        if input.dim() < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(
                f"Expected input with {self.num_channels} channels in dim 1 (GroupNorm({self.num_groups}, "
                f"{self.num_channels})), but got input of shape {list(input.shape)}"
            )
        batch = input.shape[0]
        grouped = input.reshape(batch, self.num_groups, -1)
        out = normalize(grouped, (2,), self.eps).reshape(*input.shape)
        shape = channel_shape(input)
        if self.weight is not None:
            out = out * self.weight.view(shape)
        if self.bias is not None:
            out = out + self.bias.view(shape)
        return out

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
    if p == 1.0:
        return mt.zeros(*shape, dtype=dtype, device=device)
    keep = (mt.rand(*shape, device=device) >= p).to(dtype)
    return keep * (1.0 / (1.0 - p))


class Dropout(nn.Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 − p); in eval, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        """Keep p (checked by _check_probability: torch's ValueError outside [0, 1]) and inplace."""
        super().__init__()
        self.p = _check_probability(p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """Eval mode (or p = 0): the input itself. Training: input · dropout_mask(input's shape)."""
        if not self.training or self.p == 0.0:
            return input
        return input * dropout_mask(tuple(input.shape), self.p, input.dtype, input.device)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(nn.Module):
    """In training, zero whole channels: for input (N, C, H, W) (or (N, C, L), as torch reads 3-D input)
    each (n, c) channel is kept with probability 1 − p and scaled by 1 / (1 − p); in eval, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        """Keep p (checked by _check_probability) and inplace."""
        super().__init__()
        self.p = _check_probability(p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """A 3-D or 4-D input (else ValueError). Eval mode (or p = 0): the input. Training: input times a
        mask of shape (N, C, 1[, 1]) from dropout_mask, which broadcasts over each channel's positions."""
        if input.dim() not in (3, 4):
            raise ValueError(
                f"Dropout2d expects a 3-D (N, C, L) or 4-D (N, C, H, W) input, got {input.dim()}-D input of shape "
                f"{list(input.shape)}"
            )
        if not self.training or self.p == 0.0:
            return input
        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
        return input * dropout_mask(shape, self.p, input.dtype, input.device)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

