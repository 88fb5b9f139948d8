"""ex08 — neural-network layers, activations, losses, dropout and initialisation (reference solution).

Everything here is built from Tensor operations that ex05 already differentiates, so no function needs
its own backward: autograd composes the gradients. The framework's `mt.nn.functional` and `mt.nn`
modules check their arguments (shapes, dtypes, `reduction`, `p`), then call these functions.

Shapes the framework hands over:
    linear          input (..., in_features), weight (out_features, in_features), bias (out_features,)
    losses          input (N, C) for nll_loss / cross_entropy, target (N,) int64 class indices
    everything else any shape
"""

from __future__ import annotations

import math

import minitorch_dg as mt
from minitorch_dg import Tensor

# ---------------------------------------------------------------------------------------------
# Part 1: the linear layer
# ---------------------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b.

    input (..., in_features), weight (out_features, in_features), bias (out_features,) or None;
    the result has shape (..., out_features).
    """
    out = input @ weight.T
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------------------------------------
# Part 2: softmax and friends, stable for inputs of any size
# ---------------------------------------------------------------------------------------------


def logsumexp(input: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """log Σ_j exp(x_j) along `dim`, computed as m + log Σ_j exp(x_j − m) with m = max_j x_j.

    Shifting by the maximum keeps every exponent ≤ 0, so exp never overflows (x = 1000) and the sum
    is at least 1, so the log never sees 0 (x = −1000). The shift must be finite, or inf − inf makes nan
    where torch gives −inf (a slice of all −inf: masked attention) or +inf (a slice holding +inf): m is the
    largest value other than +inf, and 0 when that is infinite too.
    """
    finite_or_less = mt.where(input == math.inf, -math.inf, input)
    shift = finite_or_less.amax(dim, keepdim=True).detach()
    shift = mt.where(shift.abs() == math.inf, 0.0, shift)
    total = (input - shift).exp().sum(dim, keepdim=True)
    out = total.log() + shift
    return out if keepdim else out.squeeze(dim)


def softmax(input: Tensor, dim: int) -> Tensor:
    """softmax(x)_i = exp(x_i − m) / Σ_j exp(x_j − m) along `dim` (m = max_j x_j: the same value, no overflow)."""
    shifted = (input - input.amax(dim, keepdim=True).detach()).exp()
    return shifted / shifted.sum(dim, keepdim=True)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """log softmax(x)_i = x_i − logsumexp(x) along `dim`, computed as (x_i − m) − log Σ_j exp(x_j − m):
    subtracting first keeps tiny differences of huge logits (−1e30 and −1e30 give −log 2, not 0)."""
    shifted = input - input.amax(dim, keepdim=True).detach()
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


# ---------------------------------------------------------------------------------------------
# Part 3: losses
# ---------------------------------------------------------------------------------------------


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input − target)² element-wise; then the mean ('mean'), the sum ('sum') or nothing ('none')."""
    diff = input - target
    return _reduce(diff * diff, reduction)


def nll_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: loss_n = −input[n, target[n]] for input (N, C) of log-probabilities.

    'mean' divides the sum by N, 'sum' adds, 'none' returns the N losses.
    """
    picked = input.gather(1, target.unsqueeze(1)).squeeze(1)
    return _reduce(-picked, reduction)


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of raw scores (logits) input (N, C) and class indices target (N,):

    loss_n = −log softmax(input_n)[target_n] = logsumexp(input_n) − input[n, target[n]]
    """
    return nll_loss(log_softmax(input, 1), target, reduction)


# ---------------------------------------------------------------------------------------------
# Part 4: dropout
# ---------------------------------------------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """In training, zero each element with probability p and scale the survivors by 1 / (1 − p);
    in evaluation (training=False) return the input unchanged.

    The mask comes from mt.rand, so mt.manual_seed makes it reproducible. p = 1 drops everything.
    """
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = (mt.rand(*input.shape, device=input.device) >= p).to(input.dtype)
    return input * keep * (1.0 / (1.0 - p))


# ---------------------------------------------------------------------------------------------
# Part 5: initialisation, as torch does it
# ---------------------------------------------------------------------------------------------


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in·k and out·k, k = the product of the kernel dims.

    A tensor with fewer than 2 dims has no fan: raise ValueError.
    """
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for size in tuple(tensor.shape)[2:]:
        receptive *= size
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain):

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: √2;  leaky_relu with slope a (default 0.01): √(2 / (1 + a²));
    selu: 3/4.  Anything else: ValueError.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """Fill `tensor` in place from U(−bound, bound), bound = gain · √(3 / fan), and return it.

    gain = calculate_gain(nonlinearity, a); fan = fan_in or fan_out as `mode` says.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    with mt.no_grad():
        return tensor.uniform_(-bound, bound)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill `tensor` in place from U(−bound, bound), bound = gain · √(6 / (fan_in + fan_out)), and return it."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    with mt.no_grad():
        return tensor.uniform_(-bound, bound)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill `tensor` with zeros in place and return it."""
    with mt.no_grad():
        return tensor.zero_()


def init_linear_(weight: Tensor, bias: Tensor | None) -> None:
    """nn.Linear's initialisation, as torch's: kaiming_uniform_(weight, a=√5), which is U(±1/√fan_in),
    and bias from U(−1/√fan_in, 1/√fan_in) (bound 0 when fan_in is 0)."""
    kaiming_uniform_(weight, a=math.sqrt(5.0))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        with mt.no_grad():
            bias.uniform_(-bound, bound)
