"""ex08 — neural-network layers, activations, losses, dropout and initialisation.

Read exercises/ex08_nn.md first. Replace each `raise NotImplementedYet(...)` with your code, then run
`mtdg check ex08`. Do not rename functions or change their parameters: the tests call them.

Write everything with Tensor operations that ex05 already differentiates (@, +, *, .exp(), .log(),
.sum(dim, keepdim=True), .amax(dim, keepdim=True), .gather(dim, index), ...): then no function here
needs its own backward, autograd composes the gradients. The framework's `mt.nn.functional` and `mt.nn`
modules check their arguments (shapes, dtypes, `reduction`, `p`) and then call these functions.

Shapes the framework hands over:
    linear          input (..., in_features), weight (out_features, in_features), bias (out_features,)
    losses          input (N, C) for nll_loss / cross_entropy, target (N,) int64 class indices
    everything else any shape
"""

from __future__ import annotations

import math  # noqa: F401  (you will need it)

import minitorch_dg as mt  # noqa: F401  (mt.rand, mt.no_grad)
from minitorch_dg import Tensor
from minitorch_dg.errors import NotImplementedYet

# ---------------------------------------------------------------------------------------------
# Part 1: the linear layer
# ---------------------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b.

    input (..., in_features), weight (out_features, in_features), bias (out_features,) or None;
    the result has shape (..., out_features).
    """
    raise NotImplementedYet("ex08", "linear")


# ---------------------------------------------------------------------------------------------
# Part 2: softmax and friends, stable for inputs of any size
# ---------------------------------------------------------------------------------------------


def logsumexp(input: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """log Σ_j exp(x_j) along `dim`, computed as m + log Σ_j exp(x_j − m) with m = max_j x_j.

    Shifting by the maximum keeps every exponent ≤ 0, so exp never overflows (x = 1000) and the sum
    is at least 1, so the log never sees 0 (x = −1000). With keepdim=False the dim is removed.
    """
    raise NotImplementedYet("ex08", "logsumexp")


def softmax(input: Tensor, dim: int) -> Tensor:
    """softmax(x)_i = exp(x_i − m) / Σ_j exp(x_j − m) along `dim` (m = max_j x_j: the same value, no overflow)."""
    raise NotImplementedYet("ex08", "softmax")


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """log softmax(x)_i = x_i − logsumexp(x) along `dim` (never log(softmax(x)): softmax underflows to 0)."""
    raise NotImplementedYet("ex08", "log_softmax")


# ---------------------------------------------------------------------------------------------
# Part 3: losses
# ---------------------------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input − target)² element-wise; then the mean ('mean'), the sum ('sum') or nothing ('none')."""
    raise NotImplementedYet("ex08", "mse_loss")


def nll_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: loss_n = −input[n, target[n]] for input (N, C) of log-probabilities.

    'mean' divides the sum by N, 'sum' adds, 'none' returns the N losses.
    """
    raise NotImplementedYet("ex08", "nll_loss")


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of raw scores (logits) input (N, C) and class indices target (N,):

    loss_n = −log softmax(input_n)[target_n] = logsumexp(input_n) − input[n, target[n]]

    It must be stable: logits of ±1000 give finite losses and gradients, as in torch.
    """
    raise NotImplementedYet("ex08", "cross_entropy")


# ---------------------------------------------------------------------------------------------
# Part 4: dropout
# ---------------------------------------------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """In training, zero each element with probability p and scale the survivors by 1 / (1 − p);
    in evaluation (training=False) return the input unchanged.

    Draw the mask with mt.rand, so that mt.manual_seed makes it reproducible. p = 1 drops everything
    (return zeros, and do not divide by 1 − p = 0); p = 0 keeps everything.
    """
    raise NotImplementedYet("ex08", "dropout")


# ---------------------------------------------------------------------------------------------
# Part 5: initialisation, as torch does it
# ---------------------------------------------------------------------------------------------


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in·k and out·k, k = the product of the kernel dims.

    A tensor with fewer than 2 dims has no fan: raise ValueError.
    """
    raise NotImplementedYet("ex08", "calculate_fan_in_and_fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain):

    linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid: 1;  tanh: 5/3;  relu: √2;
    leaky_relu with negative slope `param` (None means 0.01): √(2 / (1 + slope²));  selu: 3/4.
    Anything else: ValueError.
    """
    raise NotImplementedYet("ex08", "calculate_gain")


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """Fill `tensor` in place from U(−bound, bound), bound = gain · √(3 / fan), and return it.

    gain = calculate_gain(nonlinearity, a); fan = fan_in or fan_out as `mode` ('fan_in' | 'fan_out') says.
    Write the values under mt.no_grad() (tensor.uniform_(low, high) draws from mt's seeded generator):
    initialisation is not part of the graph.
    """
    raise NotImplementedYet("ex08", "kaiming_uniform_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill `tensor` in place from U(−bound, bound), bound = gain · √(6 / (fan_in + fan_out)), and return it."""
    raise NotImplementedYet("ex08", "xavier_uniform_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill `tensor` with zeros in place and return it."""
    raise NotImplementedYet("ex08", "zeros_")


def init_linear_(weight: Tensor, bias: Tensor | None) -> None:
    """nn.Linear's initialisation, as torch's: kaiming_uniform_(weight, a=√5), which is U(±1/√fan_in),
    and bias from U(−1/√fan_in, 1/√fan_in) (bound 0 when fan_in is 0)."""
    raise NotImplementedYet("ex08", "init_linear_")
