"""ex11 — recurrent cells (RNN, LSTM, GRU), their fused kernels, the unrolled loop, Embedding's backward
(reference solution).

Part 1 builds each cell from Tensor operations that ex05 already differentiates. Part 2 unrolls a cell over
a sequence. Part 3 writes the fused kernels: one pass over the pre-activations computes every gate, and a
hand-derived backward turns the gradients of h (and c) into the gradients of the pre-activations. Part 4
is Embedding's backward, a scatter-add. The framework (`mt.nn.LSTM`, `mt.nn.GRUCell`, `mt.nn.Embedding`,
...) checks the arguments, does the two matmuls around the fused kernels and calls these functions.

Gate layout, as torch's (H = hidden_size):
    LSTM  weight_ih (4H, I), weight_hh (4H, H): rows [0, H) i, [H, 2H) f, [2H, 3H) g, [3H, 4H) o
    GRU   weight_ih (3H, I), weight_hh (3H, H): rows [0, H) r, [H, 2H) z, [2H, 3H) n
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload

import minitorch_dg as mt
from minitorch_dg import Tensor
from minitorch_dg.fast import vecmath

State = Any  # a Tensor h, or a tuple (h, c)

# ---------------------------------------------------------------------------------------------
# Part 1: the cells, composed of differentiable Tensor operations
# ---------------------------------------------------------------------------------------------


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    out = x @ weight.T
    return out + bias if bias is not None else out


def rnn_cell(input: Tensor, hx: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu.

    input (B, I), hx (B, H), weight_ih (H, I), weight_hh (H, H), biases (H,) or None -> h' (B, H).
    """
    pre = _affine(input, weight_ih, bias_ih) + _affine(hx, weight_hh, bias_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_cell(input: Tensor, hx: Tensor, cx: Tensor, weight_ih: Tensor, weight_hh: Tensor,
              bias_ih: Tensor | None, bias_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """One LSTM step. With [a_i, a_f, a_g, a_o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh (chunks of H columns):

        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')

    input (B, I), hx and cx (B, H), weight_ih (4H, I), weight_hh (4H, H), biases (4H,) or None -> (h', c').
    """
    pre = _affine(input, weight_ih, bias_ih) + _affine(hx, weight_hh, bias_hh)
    a_i, a_f, a_g, a_o = pre.chunk(4, 1)
    i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
    c = f * cx + i * g
    return o * c.tanh(), c


def gru_cell(input: Tensor, hx: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None) -> Tensor:
    """One GRU step. With [x_r, x_z, x_n] = x W_ihᵀ + b_ih and [h_r, h_z, h_n] = h W_hhᵀ + b_hh:

        r = σ(x_r + h_r)   z = σ(x_z + h_z)   n = tanh(x_n + r ⊙ h_n)   h' = (1 − z) ⊙ n + z ⊙ h

    The reset gate multiplies h_n, which already went through W_hn (and b_hn): torch's layout.
    input (B, I), hx (B, H), weight_ih (3H, I), weight_hh (3H, H), biases (3H,) or None -> h' (B, H).
    """
    x_r, x_z, x_n = _affine(input, weight_ih, bias_ih).chunk(3, 1)
    h_r, h_z, h_n = _affine(hx, weight_hh, bias_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1.0 - z) * n + z * hx


# ---------------------------------------------------------------------------------------------
# Part 2: unrolling a cell over a sequence
# ---------------------------------------------------------------------------------------------


def unroll(step: Callable[[Tensor, State], State], inputs: Tensor, state: State,
           reverse: bool = False) -> tuple[Tensor, State]:
    """Run `state = step(inputs[t], state)` for t = 0 .. T−1 (t = T−1 .. 0 when reverse) and collect h.

    inputs (T, B, I); state h (B, H) or (h, c). Returns (outputs (T, B, H), final state), where outputs[t] is
    the h computed from inputs[t] — in the input's time order also when reverse is True.
    """
    steps = range(inputs.shape[0] - 1, -1, -1) if reverse else range(inputs.shape[0])
    outputs: list[Tensor] = [None] * inputs.shape[0]  # type: ignore[list-item]
    for t in steps:
        state = step(inputs[t], state)
        outputs[t] = state[0] if isinstance(state, tuple) else state
    return mt.stack(outputs, 0), state


# ---------------------------------------------------------------------------------------------
# Part 3: fused gate kernels (Numba) with a hand-derived backward
# ---------------------------------------------------------------------------------------------


# Speed. The kernels spend their time in the activations (5 per element in the LSTM forward), and the
# framework calls them once per time step. Numba turns np.exp / np.tanh into calls of the C library's
# scalar functions (np.tanh costs about 10 np.exp here), and LLVM cannot turn a loop around such a call
# into SIMD code. minitorch_dg.fast.vecmath's σ and tanh are made of +, *, a rounding and a shift (a few
# ulp from torch's), which LLVM inlines and vectorises: 8 float32 at a time with AVX2, 16 with AVX-512.
# The loops must be simple too. Before LLVM vectorises a loop, it adds run-time checks that no array the
# loop writes overlaps one it reads. A loop that reads and writes all four gates at once of one (B, 4H)
# array through index arithmetic is left scalar, and even one loop per gate chunk over gates[b, k] runs
# slower than it should. Over 1-D slices indexed by the loop counter the checks are simple: so each row is
# first cut into one slice per gate (i_ = gates[b][:hidden], ...), and every loop runs over such slices. Measured on
# the course VM (2-core AMD EPYC, AVX-512), float32, B = 32, H = 128, in microseconds:
#
#                          np.exp / np.tanh, a branch in σ    loops over gates[b, k]    slices per gate
#     lstm_gates_forward   320-370                            20                        12
#     lstm_gates_backward  104                                18                        9
#     gru_gates_forward    143                                32                        8.5
#     gru_gates_backward                                      11                        5
#
# (The last two give the same bits.) The char LM's training step runs 64 LSTM kernels.


def _sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^−x). Inside the kernels: vecmath.sigmoid32 or sigmoid64, as x's type says."""
    return 1.0 / (1.0 + math.exp(-x))


def _tanh(x: float) -> float:
    """tanh(x). Inside the kernels: vecmath.tanh32 or tanh64, as x's type says."""
    return math.tanh(x)


# Numba requires an overload's parameters, annotations included, to be those of the function it returns
# (here a lambda): so no annotations.
@overload(_sigmoid)
def _sigmoid_kernel(x):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
    return (lambda x: vecmath.sigmoid32(x)) if x == types.float32 else (lambda x: vecmath.sigmoid64(x))


@overload(_tanh)
def _tanh_kernel(x):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
    return (lambda x: vecmath.tanh32(x)) if x == types.float32 else (lambda x: vecmath.tanh64(x))


@njit(cache=True)
def lstm_gates_forward(pre: np.ndarray, c_prev: np.ndarray, gates: np.ndarray, c: np.ndarray,
                       h: np.ndarray) -> None:
    """pre (B, 4H): the pre-activations [a_i, a_f, a_g, a_o]; c_prev (B, H).

    Writes gates (B, 4H) = [i, f, g, o] (activated), c (B, H) = f c_prev + i g and h (B, H) = o tanh(c).
    """
    batch, hidden = c_prev.shape
    for b in range(batch):
        p, g_row = pre[b], gates[b]
        i_, f_, g_, o_ = g_row[:hidden], g_row[hidden:2 * hidden], g_row[2 * hidden:3 * hidden], g_row[3 * hidden:]
        a_i, a_f, a_g, a_o = p[:hidden], p[hidden:2 * hidden], p[2 * hidden:3 * hidden], p[3 * hidden:]
        for k in range(hidden):
            i_[k] = _sigmoid(a_i[k])
        for k in range(hidden):
            f_[k] = _sigmoid(a_f[k])
        for k in range(hidden):
            g_[k] = _tanh(a_g[k])
        for k in range(hidden):
            o_[k] = _sigmoid(a_o[k])
        c_in, c_out, h_out = c_prev[b], c[b], h[b]
        for k in range(hidden):
            cell = f_[k] * c_in[k] + i_[k] * g_[k]
            c_out[k] = cell
            h_out[k] = o_[k] * _tanh(cell)


@njit(cache=True)
def lstm_gates_backward(gates: np.ndarray, c_prev: np.ndarray, c: np.ndarray, d_h: np.ndarray,
                        d_c: np.ndarray, d_pre: np.ndarray, d_c_prev: np.ndarray) -> None:
    """The backward of lstm_gates_forward. d_h, d_c (B, H): the gradients reaching h and c from later.

    Writes d_pre (B, 4H), the gradient of the pre-activations, and d_c_prev (B, H):
        dc = d_c + d_h o (1 − tanh²c)
        d_a_i = dc g i(1 − i)   d_a_f = dc c_prev f(1 − f)   d_a_g = dc i (1 − g²)   d_a_o = d_h tanh(c) o(1 − o)
        d_c_prev = dc f
    """
    batch, hidden = c_prev.shape
    for b in range(batch):
        g_row, dp = gates[b], d_pre[b]
        i_, f_, g_, o_ = g_row[:hidden], g_row[hidden:2 * hidden], g_row[2 * hidden:3 * hidden], g_row[3 * hidden:]
        d_i, d_f, d_g, d_o = dp[:hidden], dp[hidden:2 * hidden], dp[2 * hidden:3 * hidden], dp[3 * hidden:]
        c_in, c_row, dh, dc_next, dc_prev = c_prev[b], c[b], d_h[b], d_c[b], d_c_prev[b]
        for k in range(hidden):  # tanh(c) first, in its own loop, kept in d_c_prev until dc f replaces it
            dc_prev[k] = _tanh(c_row[k])
        for k in range(hidden):
            i, f, g, o = i_[k], f_[k], g_[k], o_[k]
            tc = dc_prev[k]
            dc = dc_next[k] + dh[k] * o * (1.0 - tc * tc)
            d_i[k] = dc * g * i * (1.0 - i)
            d_f[k] = dc * c_in[k] * f * (1.0 - f)
            d_g[k] = dc * i * (1.0 - g * g)
            d_o[k] = dh[k] * tc * o * (1.0 - o)
            dc_prev[k] = dc * f


@njit(cache=True)
def gru_gates_forward(gx: np.ndarray, gh: np.ndarray, h_prev: np.ndarray, gates: np.ndarray,
                      h: np.ndarray) -> None:
    """gx = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh, both (B, 3H); h_prev (B, H).

    Writes gates (B, 3H) = [r, z, n] and h (B, H) = (1 − z) n + z h_prev.
    """
    batch, hidden = h_prev.shape
    for b in range(batch):
        x_row, h_row, g_row = gx[b], gh[b], gates[b]
        r_, z_, n_ = g_row[:hidden], g_row[hidden:2 * hidden], g_row[2 * hidden:]
        for k in range(hidden):
            r_[k] = _sigmoid(x_row[k] + h_row[k])
        for k in range(hidden):
            z_[k] = _sigmoid(x_row[hidden + k] + h_row[hidden + k])
        for k in range(hidden):
            n_[k] = _tanh(x_row[2 * hidden + k] + r_[k] * h_row[2 * hidden + k])
        h_in, h_out = h_prev[b], h[b]
        for k in range(hidden):
            h_out[k] = (1.0 - z_[k]) * n_[k] + z_[k] * h_in[k]


@njit(cache=True)
def gru_gates_backward(gates: np.ndarray, gh: np.ndarray, h_prev: np.ndarray, d_h: np.ndarray,
                       d_gx: np.ndarray, d_gh: np.ndarray, d_h_prev: np.ndarray) -> None:
    """The backward of gru_gates_forward for the gradient d_h (B, H) of h.

    Writes d_gx, d_gh (B, 3H) and the direct part of the gradient of h_prev, d_h_prev = d_h z (the part
    through gh, d_gh W_hh, is the framework's matmul):
        d_n = d_h (1 − z) (1 − n²)        d_gx_n = d_n          d_gh_n = d_n r
        d_r = d_n gh_n r (1 − r)          d_gx_r = d_gh_r = d_r
        d_z = d_h (h_prev − n) z (1 − z)  d_gx_z = d_gh_z = d_z
    """
    batch, hidden = h_prev.shape
    for b in range(batch):
        g_row, x_grad, h_grad = gates[b], d_gx[b], d_gh[b]
        r_, z_, n_ = g_row[:hidden], g_row[hidden:2 * hidden], g_row[2 * hidden:]
        d_xr, d_xz, d_xn = x_grad[:hidden], x_grad[hidden:2 * hidden], x_grad[2 * hidden:]
        d_hr, d_hz, d_hn = h_grad[:hidden], h_grad[hidden:2 * hidden], h_grad[2 * hidden:]
        gh_n, h_in, dh_row, dh_prev = gh[b][2 * hidden:], h_prev[b], d_h[b], d_h_prev[b]
        for k in range(hidden):
            r, z, n, dh = r_[k], z_[k], n_[k], dh_row[k]
            d_n = dh * (1.0 - z) * (1.0 - n * n)
            d_r = d_n * gh_n[k] * r * (1.0 - r)
            d_z = dh * (h_in[k] - n) * z * (1.0 - z)
            d_xr[k], d_xz[k], d_xn[k] = d_r, d_z, d_n
            d_hr[k], d_hz[k], d_hn[k] = d_r, d_z, d_n * r
            dh_prev[k] = dh * z


# ---------------------------------------------------------------------------------------------
# Part 4: Embedding's backward, a scatter-add
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def embedding_backward(indices: np.ndarray, grad_output: np.ndarray, grad_weight: np.ndarray,
                       padding_idx: int) -> None:
    """grad_weight (num_embeddings, D) starts at zero; indices (N,) int64; grad_output (N, D).

    Adds row n of grad_output into row indices[n] of grad_weight — a repeated index collects the sum of
    its rows — except for padding_idx (−1: none), whose row keeps a zero gradient.
    """
    count, width = grad_output.shape
    for n in range(count):
        row = indices[n]
        if row == padding_idx:
            continue
        for d in range(width):
            grad_weight[row, d] += grad_output[n, d]
