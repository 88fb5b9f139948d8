"""`mt.nn.init`: fill weights in place, as torch.nn.init does (the draws come from mt.manual_seed's generator).

kaiming_uniform_, xavier_uniform_, zeros_, calculate_gain and the fan computation are ex08's; the
others are written here from them.
"""

from __future__ import annotations

import math
import warnings

from .. import course
from ..autodiff import no_grad
from ..tensor import Tensor

_ex08 = course.ExerciseProxy("ex08")

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "kaiming_uniform_",
    "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
]


def _empty(tensor: Tensor) -> bool:
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def _check_mode(mode: str) -> None:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (1 for linear/sigmoid, 5/3 tanh, √2 relu, ...)."""
    return _ex08.calculate_gain(nonlinearity, param)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    return _ex08.calculate_fan_in_and_fan_out(tensor)


calculate_fan_in_and_fan_out = _calculate_fan_in_and_fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    with no_grad():
        return tensor.normal_(mean, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return _ex08.zeros_(tensor)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """U(−b, b) with b = gain · √(3 / fan) (He et al.); Linear uses a = √5."""
    _check_mode(mode)
    if _empty(tensor):
        return tensor
    return _ex08.kaiming_uniform_(tensor, a, mode, nonlinearity)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std²) with std = gain / √fan."""
    _check_mode(mode)
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    return normal_(tensor, 0.0, std)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(−b, b) with b = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    if _empty(tensor):
        return tensor
    return _ex08.xavier_uniform_(tensor, gain)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
