"""Conv1d and Conv2d modules: torch's parameter names, shapes and initialisation; the maths is ex10's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import course
from ..autodiff import no_grad
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from .conv_functional import expand_param
from .module import Module
from .parameter import Parameter

_ex08 = course.ExerciseProxy("ex08")


class _ConvNd(Module):
    """weight (out_channels, in_channels / groups, *kernel_size), bias (out_channels,), drawn as torch does:
    kaiming_uniform_(weight, a=√5) and bias ~ U(±1/√fan_in), fan_in = in_channels / groups · Π kernel_size."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        name = f"Conv{self.dims}d"
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: minitorch-dg pads with zeros only; use padding_mode='zeros'")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = expand_param(kernel_size, self.dims, "kernel_size", name)
        self.stride = expand_param(stride, self.dims, "stride", name)
        if isinstance(padding, str) and padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else expand_param(padding, self.dims, "padding", name)
        self.dilation = expand_param(dilation, self.dims, "dilation", name)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype,
                                      device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights with ex08's init_linear_ (the same rule as torch's conv layers)."""
        if self.weight.numel() == 0:
            if self.bias is not None:
                with no_grad():
                    self.bias.zero_()
            return
        _ex08.init_linear_(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) or (C, L) input."""

    dims = 1

    def forward(self, input: Tensor) -> Tensor:
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) or (C, H, W) input."""

    dims = 2

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
