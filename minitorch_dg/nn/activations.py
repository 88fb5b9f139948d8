"""More activation modules (issue #12): GELU, SiLU, LeakyReLU, ELU, Softplus, each calling nn.functional."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class GELU(Module):
    """x · Φ(x); approximate='tanh' uses torch's tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)


class SiLU(Module):
    """x · σ(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class LeakyReLU(Module):
    """x for x > 0, negative_slope · x elsewhere."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)


class ELU(Module):
    """x for x > 0, alpha · (eˣ − 1) elsewhere."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)


class Softplus(Module):
    """log(1 + e^(βx)) / β (x itself above the threshold)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)
