"""ex11 — recurrent cells (RNN, LSTM, GRU), their fused kernels, the unrolled loop, Embedding's backward.

Read exercises/ex11_recurrent.md first. Replace each `raise NotImplementedYet(...)` with your code, then run
`mtdg check ex11`. Do not rename functions or change their parameters: the tests call them.

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

from collections.abc import Callable
from typing import Any

import numpy as np  # noqa: F401  (np.exp, np.tanh inside the kernels)
from numba import njit

import minitorch_dg as mt  # noqa: F401  (mt.stack)
from minitorch_dg import Tensor
from minitorch_dg.errors import NotImplementedYet

State = Any  # a Tensor h, or a tuple (h, c)

# ---------------------------------------------------------------------------------------------
# Part 1: the cells, composed of differentiable Tensor operations
# ---------------------------------------------------------------------------------------------


def rnn_cell(input: Tensor, hx: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu.

    input (B, I), hx (B, H), weight_ih (H, I), weight_hh (H, H), biases (H,) or None -> h' (B, H).
    """
    raise NotImplementedYet("ex11", "rnn_cell")


def lstm_cell(input: Tensor, hx: Tensor, cx: Tensor, weight_ih: Tensor, weight_hh: Tensor,
              bias_ih: Tensor | None, bias_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """One LSTM step. With [a_i, a_f, a_g, a_o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh (chunks of H columns):

        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')

    input (B, I), hx and cx (B, H), weight_ih (4H, I), weight_hh (4H, H), biases (4H,) or None -> (h', c').
    """
    raise NotImplementedYet("ex11", "lstm_cell")


def gru_cell(input: Tensor, hx: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None) -> Tensor:
    """One GRU step. With [x_r, x_z, x_n] = x W_ihᵀ + b_ih and [h_r, h_z, h_n] = h W_hhᵀ + b_hh:

        r = σ(x_r + h_r)   z = σ(x_z + h_z)   n = tanh(x_n + r ⊙ h_n)   h' = (1 − z) ⊙ n + z ⊙ h

    The reset gate multiplies h_n, which already went through W_hn (and b_hn): torch's layout.
    input (B, I), hx (B, H), weight_ih (3H, I), weight_hh (3H, H), biases (3H,) or None -> h' (B, H).
    """
    raise NotImplementedYet("ex11", "gru_cell")


# ---------------------------------------------------------------------------------------------
# Part 2: unrolling a cell over a sequence
# ---------------------------------------------------------------------------------------------


def unroll(step: Callable[[Tensor, State], State], inputs: Tensor, state: State,
           reverse: bool = False) -> tuple[Tensor, State]:
    """Run `state = step(inputs[t], state)` for t = 0 .. T−1 (t = T−1 .. 0 when reverse) and collect h.

    inputs (T, B, I); state h (B, H) or (h, c). Returns (outputs (T, B, H), final state), where outputs[t] is
    the h computed from inputs[t] — in the input's time order also when reverse is True.
    """
    raise NotImplementedYet("ex11", "unroll")


# ---------------------------------------------------------------------------------------------
# Part 3: fused gate kernels (Numba) with a hand-derived backward
# ---------------------------------------------------------------------------------------------
#
# Each kernel is an @njit(cache=True) function over 2-D numpy arrays (float32 or float64) that writes its
# results into the output arrays it is given (it returns nothing). Two nested loops over b < B and k < H are
# enough; a helper such as a numerically safe sigmoid must be @njit(cache=True) too. Keep the decorators.
# (Faster kernels, optional: see "Speed" in the handout's Part 3.)


@njit(cache=True)
def lstm_gates_forward(pre: np.ndarray, c_prev: np.ndarray, gates: np.ndarray, c: np.ndarray,
                       h: np.ndarray) -> None:
    """pre (B, 4H): the pre-activations [a_i, a_f, a_g, a_o]; c_prev (B, H).

    Writes gates (B, 4H) = [i, f, g, o] (activated), c (B, H) = f c_prev + i g and h (B, H) = o tanh(c).
    """
    raise NotImplementedYet("ex11", "lstm_gates_forward")


@njit(cache=True)
def lstm_gates_backward(gates: np.ndarray, c_prev: np.ndarray, c: np.ndarray, d_h: np.ndarray,
                        d_c: np.ndarray, d_pre: np.ndarray, d_c_prev: np.ndarray) -> None:
    """The backward of lstm_gates_forward. d_h, d_c (B, H): the gradients reaching h and c from later.

    Writes d_pre (B, 4H), the gradient of the pre-activations, and d_c_prev (B, H):
        dc = d_c + d_h o (1 − tanh²c)
        d_a_i = dc g i(1 − i)   d_a_f = dc c_prev f(1 − f)   d_a_g = dc i (1 − g²)   d_a_o = d_h tanh(c) o(1 − o)
        d_c_prev = dc f
    """
    raise NotImplementedYet("ex11", "lstm_gates_backward")


@njit(cache=True)
def gru_gates_forward(gx: np.ndarray, gh: np.ndarray, h_prev: np.ndarray, gates: np.ndarray,
                      h: np.ndarray) -> None:
    """gx = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh, both (B, 3H); h_prev (B, H).

    Writes gates (B, 3H) = [r, z, n] and h (B, H) = (1 − z) n + z h_prev.
    """
    raise NotImplementedYet("ex11", "gru_gates_forward")


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
    raise NotImplementedYet("ex11", "gru_gates_backward")


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
    raise NotImplementedYet("ex11", "embedding_backward")