"""Fused recurrent Functions: one graph node per cell step, or per layer direction over a whole sequence.

The gate maths and its hand-derived backward are ex11's Numba kernels (lstm_gates_forward/backward,
gru_gates_forward/backward, served by the course); around them these Functions do the matmuls:

    forward   pre = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh  (LSTM: one (B, 4H) block; GRU: gx and gh kept apart)
    backward  dx = d_pre W_ih,  dh = d_pre W_hh,  dW_ih = d_preᵀ x,  dW_hh = d_preᵀ h,  db = Σ_batch d_pre

The sequence Functions (LSTMSequence, GRUSequence) do the input matmul once for all T steps, loop over
time with one (B, H) x (H, kH) matmul and one gate kernel per step, and in backward gather the weight
gradients with one matmul over all steps. They work on host numpy arrays: the CPU path. On cuda the
layers use ex11's composed cells instead (see minitorch_dg/nn/rnn.py).

The per-step matmuls are small ((32, 128) x (128, 512) in the benchmark): a multi-threaded BLAS spends
more time waking and synchronising its threads than multiplying, and on a busy machine a spinning BLAS
thread costs up to 100x the work itself (measured: 520 ms against 6 ms of CPU for 50 steps on two shared
cores). The Functions therefore run their BLAS calls on one thread (threadpoolctl). The few large products
of a sequence (the input matmul for all steps, and dx, dW_ih, dW_hh) are split in two by rows instead: a
helper Python thread computes one half while the calling thread computes the other (numpy releases the
GIL inside BLAS), when the program allows two or more threads (fast/threads.py) and the work is large.
That thread waits on a lock between products, where a BLAS thread would spin and take a core from
whatever runs next (torch, or the framework's Numba kernels: measured 2x slower right after a two-thread
OpenBLAS call).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import course
from ..fast import threads
from ..function import Function, TensorContext
from ..kernels import host_array
from ..tensor import Tensor
from ..tensor_data import TensorData

_ex11 = course.ExerciseProxy("ex11")


_blas_controller: Any = None


def one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on one thread (without threadpoolctl: a context that does nothing).

    threadpoolctl finds the BLAS libraries by reading the process's memory map; `threadpool_limits(...)` does
    that on every call (0.5-2.5 ms, more than a whole step of a small layer), so the controller is made
    once and only its `limit` (a few microseconds) runs per call."""
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # without threadpoolctl the BLAS keeps its own thread count
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    if _blas_controller is False:
        return contextlib.nullcontext()
    return _blas_controller.limit(limits=1, user_api="blas")


_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def matmuls(*products: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """[a @ b for (a, b) in products], each into a new C-contiguous array.

    Large products (MATMUL_PARALLEL_MIN multiply-adds in all) run in two halves when the program allows two
    or more threads: a helper thread multiplies the lower half of each `a`'s rows while the calling thread
    multiplies the upper half. Each half is one BLAS call on the thread count in force (one, inside these
    Functions)."""
    global _helper
    outs = [np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b)) for a, b in products]
    work = sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)
    if work < threads.MATMUL_PARALLEL_MIN or threads.allowed() < 2:
        for (a, b), out in zip(products, outs):
            np.matmul(a, b, out=out)
        return outs

    def halves(lower: bool) -> None:
        for (a, b), out in zip(products, outs):
            rows = slice(a.shape[0] // 2, None) if lower else slice(0, a.shape[0] // 2)
            np.matmul(a[rows], b, out=out[rows])

    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(1, thread_name_prefix="mtdg-recurrent")
    lower = _helper.submit(halves, True)
    try:
        halves(False)
    finally:
        lower.result()
    return outs


def to_array(t: Tensor) -> np.ndarray:
    """t's values as a C-contiguous numpy array (no copy when t is a contiguous CPU tensor)."""
    return np.ascontiguousarray(host_array(t))


def from_array(array: np.ndarray) -> Tensor:
    """A CPU tensor over `array`'s memory (made contiguous first)."""
    array = np.ascontiguousarray(array)
    strides = tuple(s // array.itemsize for s in array.strides) if array.size else _dense_strides(array.shape)
    return Tensor._from_data(TensorData(array.reshape(-1), tuple(array.shape), strides, "cpu"))


def _dense_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _on_one_blas_thread(method: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with one_blas_thread():
            return method(*args, **kwargs)

    run.__name__, run.__doc__ = method.__name__, method.__doc__
    return run


def _grad_or_none(ctx: TensorContext, index: int, value: np.ndarray) -> Tensor | None:
    return from_array(value) if ctx.needs_input_grad[index] else None


def _optional(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else to_array(t)


# ---------------------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------------------


class LSTMCellFused(Function):
    """(h', c') of one LSTM step, returned stacked as one (2, B, H) tensor: [h', c']."""

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
        xa, ha, ca, wi, wh = (to_array(t) for t in (x, h, c, w_ih, w_hh))
        pre = xa @ wi.T + ha @ wh.T
        for b in (b_ih, b_hh):
            if b is not None:
                pre += to_array(b)
        gates = np.empty_like(pre)
        out = np.empty((2,) + ca.shape, dtype=pre.dtype)
        _ex11.lstm_gates_forward(pre, ca, gates, out[1], out[0])
        ctx.save_for_backward(w_ih, w_hh)
        ctx.arrays = (xa, ha, ca, gates, out[1].copy())
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        w_ih, w_hh = ctx.saved_tensors
        xa, ha, ca, gates, c_new = ctx.arrays
        g = to_array(grad)
        d_pre = np.empty_like(gates)
        d_c_prev = np.empty_like(ca)
        _ex11.lstm_gates_backward(gates, ca, c_new, np.ascontiguousarray(g[0]), np.ascontiguousarray(g[1]),
                                  d_pre, d_c_prev)
        return _step_grads(ctx, d_pre, d_pre, xa, ha, to_array(w_ih), to_array(w_hh), extra=(d_c_prev,))


class GRUCellFused(Function):
    """h' of one GRU step."""

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
        xa, ha, wi, wh = (to_array(t) for t in (x, h, w_ih, w_hh))
        gx = xa @ wi.T
        gh = ha @ wh.T
        if b_ih is not None:
            gx += to_array(b_ih)
        if b_hh is not None:
            gh += to_array(b_hh)
        gates = np.empty_like(gx)
        out = np.empty_like(ha)
        _ex11.gru_gates_forward(gx, gh, ha, gates, out)
        ctx.save_for_backward(w_ih, w_hh)
        ctx.arrays = (xa, ha, gh, gates)
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        w_ih, w_hh = ctx.saved_tensors
        xa, ha, gh, gates = ctx.arrays
        d_gx, d_gh = np.empty_like(gates), np.empty_like(gates)
        d_h_direct = np.empty_like(ha)
        _ex11.gru_gates_backward(gates, gh, ha, to_array(grad), d_gx, d_gh, d_h_direct)
        return _step_grads(ctx, d_gx, d_gh, xa, ha, to_array(w_ih), to_array(w_hh), h_direct=d_h_direct)


def _step_grads(ctx: TensorContext, d_x_side: np.ndarray, d_h_side: np.ndarray, xa: np.ndarray,
                ha: np.ndarray, wi: np.ndarray, wh: np.ndarray, extra: tuple[np.ndarray, ...] = (),
                h_direct: np.ndarray | None = None) -> tuple[Any, ...]:
    """Gradients of (x, h, *extra, w_ih, w_hh, b_ih, b_hh) from those of the two pre-activation blocks."""
    dh = d_h_side @ wh
    if h_direct is not None:
        dh += h_direct
    grads: list[Any] = [_grad_or_none(ctx, 0, d_x_side @ wi), _grad_or_none(ctx, 1, dh)]
    for k, value in enumerate(extra):
        grads.append(_grad_or_none(ctx, 2 + k, value))
    first = 2 + len(extra)
    grads.append(_grad_or_none(ctx, first, d_x_side.T @ xa))
    grads.append(_grad_or_none(ctx, first + 1, d_h_side.T @ ha))
    grads.append(_grad_or_none(ctx, first + 2, d_x_side.sum(0)))
    grads.append(_grad_or_none(ctx, first + 3, d_h_side.sum(0)))
    return tuple(grads)


# ---------------------------------------------------------------------------------------------------
# A whole sequence, one direction of one layer
# ---------------------------------------------------------------------------------------------------


def _time_order(steps: int, reverse: bool) -> range:
    return range(steps - 1, -1, -1) if reverse else range(steps)


class LSTMSequence(Function):
    """One LSTM direction over x (T, B, I) from (h0, c0): returns (T + 1, B, H) = [h_0 .. h_{T-1}, c_n],
    h_t in the input's time order (also for reverse=True, which runs t = T−1 .. 0)."""

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        kernel = _ex11.lstm_gates_forward
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, _ = xa.shape
        hidden = wh.shape[1]
        pre_all = matmuls((xa.reshape(steps * batch, -1), wi.T))[0].reshape(steps, batch, 4 * hidden)
        for b in (b_ih, b_hh):
            if b is not None:
                pre_all += to_array(b)
        wh_t = np.ascontiguousarray(wh.T)
        out = np.empty((steps + 1, batch, hidden), dtype=pre_all.dtype)
        cells = np.empty((steps, batch, hidden), dtype=pre_all.dtype)
        gates_all = np.empty_like(pre_all)
        h_prev_all = np.empty_like(cells)
        c_prev_all = np.empty_like(cells)
        recurrent = np.empty((batch, 4 * hidden), dtype=pre_all.dtype)
        h, c = to_array(h0), to_array(c0)
        for t in _time_order(steps, reverse):
            h_prev_all[t] = h
            c_prev_all[t] = c
            pre = pre_all[t]
            np.matmul(h, wh_t, out=recurrent)
            pre += recurrent
            kernel(pre, c, gates_all[t], cells[t], out[t])
            h, c = out[t], cells[t]
        out[steps] = c
        ctx.save_for_backward(w_ih, w_hh)
        ctx.arrays = (xa, gates_all, cells, h_prev_all, c_prev_all)
        ctx.reverse = reverse
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        kernel = _ex11.lstm_gates_backward
        w_ih, w_hh = ctx.saved_tensors
        xa, gates_all, cells, h_prev_all, c_prev_all = ctx.arrays
        g = to_array(grad)
        steps = xa.shape[0]
        wh = to_array(w_hh)
        d_pre_all = np.empty_like(gates_all)
        d_h_carry = np.zeros_like(cells[0])
        d_h = np.empty_like(d_h_carry)
        d_c = g[steps].copy()
        d_c_prev = np.empty_like(d_c)
        for t in reversed(_time_order(steps, ctx.reverse)):
            np.add(g[t], d_h_carry, out=d_h)
            kernel(gates_all[t], c_prev_all[t], cells[t], d_h, d_c, d_pre_all[t], d_c_prev)
            np.matmul(d_pre_all[t], wh, out=d_h_carry)
            d_c, d_c_prev = d_c_prev, d_c
        return _sequence_grads(ctx, d_pre_all, d_pre_all, xa, h_prev_all, to_array(w_ih), d_h_carry, (d_c,))


class GRUSequence(Function):
    """One GRU direction over x (T, B, I) from h0: returns h (T, B, H) in the input's time order."""

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        kernel = _ex11.gru_gates_forward
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, _ = xa.shape
        hidden = wh.shape[1]
        gx_all = matmuls((xa.reshape(steps * batch, -1), wi.T))[0].reshape(steps, batch, 3 * hidden)
        if b_ih is not None:
            gx_all += to_array(b_ih)
        bh = _optional(b_hh)
        wh_t = np.ascontiguousarray(wh.T)
        out = np.empty((steps, batch, hidden), dtype=gx_all.dtype)
        gh_all = np.empty_like(gx_all)
        gates_all = np.empty_like(gx_all)
        h_prev_all = np.empty_like(out)
        h = to_array(h0)
        for t in _time_order(steps, reverse):
            h_prev_all[t] = h
            gh = gh_all[t]
            np.matmul(h, wh_t, out=gh)
            if bh is not None:
                gh += bh
            kernel(gx_all[t], gh, h, gates_all[t], out[t])
            h = out[t]
        ctx.save_for_backward(w_ih, w_hh)
        ctx.arrays = (xa, gh_all, gates_all, h_prev_all)
        ctx.reverse = reverse
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        kernel = _ex11.gru_gates_backward
        w_ih, w_hh = ctx.saved_tensors
        xa, gh_all, gates_all, h_prev_all = ctx.arrays
        g = to_array(grad)
        steps = xa.shape[0]
        wh = to_array(w_hh)
        d_gx_all = np.empty_like(gates_all)
        d_gh_all = np.empty_like(gates_all)
        d_h_carry = np.zeros_like(h_prev_all[0])
        d_h = np.empty_like(d_h_carry)
        d_direct = np.empty_like(d_h_carry)
        for t in reversed(_time_order(steps, ctx.reverse)):
            np.add(g[t], d_h_carry, out=d_h)
            kernel(gates_all[t], gh_all[t], h_prev_all[t], d_h, d_gx_all[t], d_gh_all[t], d_direct)
            np.matmul(d_gh_all[t], wh, out=d_h_carry)
            d_h_carry += d_direct
        return _sequence_grads(ctx, d_gx_all, d_gh_all, xa, h_prev_all, to_array(w_ih), d_h_carry, ())


def _sequence_grads(ctx: TensorContext, d_x_side: np.ndarray, d_h_side: np.ndarray, xa: np.ndarray,
                    h_prev_all: np.ndarray, wi: np.ndarray, d_h0: np.ndarray,
                    extra: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
    """Gradients of (x, h0, *extra, w_ih, w_hh, b_ih, b_hh, reverse) with one matmul per weight."""
    steps, batch, _ = xa.shape
    dx_flat = d_x_side.reshape(steps * batch, -1)
    dh_flat = d_h_side.reshape(steps * batch, -1)
    d_x, d_w_ih, d_w_hh = matmuls((dx_flat, wi), (dx_flat.T, xa.reshape(steps * batch, -1)),
                                  (dh_flat.T, h_prev_all.reshape(steps * batch, -1)))
    grads: list[Any] = [_grad_or_none(ctx, 0, d_x.reshape(xa.shape)), _grad_or_none(ctx, 1, d_h0)]
    for k, value in enumerate(extra):
        grads.append(_grad_or_none(ctx, 2 + k, value))
    first = 2 + len(extra)
    grads.append(_grad_or_none(ctx, first, d_w_ih))
    grads.append(_grad_or_none(ctx, first + 1, d_w_hh))
    d_b_ih = dx_flat.sum(0)
    d_b_hh = d_b_ih.copy() if d_h_side is d_x_side else dh_flat.sum(0)  # the LSTM's two biases: one sum
    grads.append(_grad_or_none(ctx, first + 2, d_b_ih))
    grads.append(_grad_or_none(ctx, first + 3, d_b_hh))
    grads.append(None)
    return tuple(grads)
