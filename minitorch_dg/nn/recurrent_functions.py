"""Fused recurrent Functions: one graph node per cell step, or per layer direction over a whole sequence.

The gate maths and its hand-derived backward are ex11's Numba kernels (lstm_gates_forward/backward,
gru_gates_forward/backward, served by the course); around them these Functions do the matmuls:

    forward   pre = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh  (LSTM: one (B, 4H) block; GRU: gx and gh kept apart)
    backward  dx = d_pre W_ih,  dh = d_pre W_hh,  dW_ih = d_preᵀ x,  dW_hh = d_preᵀ h,  db = Σ_batch d_pre

The sequence Functions (LSTMSequence, GRUSequence) compute the input product x W_ihᵀ of every step at once,
then loop over time with one (B, H) x (H, kH) matmul and one gate kernel per step; in backward, the loop
writes the pre-activation gradients of every step, and dx, dW_ih, dW_hh follow in one product each. They
work on host numpy arrays: the CPU path. On cuda the layers use ex11's composed cells instead (see
minitorch_dg/nn/rnn.py).

Threads. The per-step matmuls are small ((32, 128) x (128, 512) in the char LM): a multi-threaded BLAS
spends more time waking and synchronising its threads than multiplying, and on a busy machine a spinning
BLAS thread costs up to 100x the work itself (measured: 520 ms against 6 ms of CPU for 50 steps on two
shared cores). So every BLAS call here runs on one thread (threadpoolctl), and the second core, when the
program allows two threads (fast/threads.py), gets half of the batch instead: the rows of a batch never
meet in a recurrence, so each half goes through every step and through its share of the weight gradients
on its own thread (the calling one and a helper Python thread), without waiting for the other once. numpy
releases the GIL inside BLAS, and ex11's kernels run as twins compiled to release it too (`_gil_free`), so
the two loops do not take turns at it. The helper waits on a lock between calls, where a BLAS thread would
spin and take a core from whatever runs next (torch, or the framework's Numba kernels: measured 2x slower
right after a two-thread OpenBLAS call).

Measured on the course VM (2 threads, float32, B=32, H=128, median of 80 calls in one process alternating
with the former design, a helper thread that ran the large products chunk by chunk beside one time loop):

    LSTM, T=32, I=32 (the char LM's)   forward 3.28 -> 2.41 ms   backward 3.60 -> 3.15 ms
    LSTM, T=50, I=128                  forward 5.16 -> 4.52 ms   backward 6.78 -> 6.53 ms
    GRU,  T=50, I=128                  forward 5.26 -> 4.02 ms   backward 5.90 -> 5.83 ms

Without the nogil twins the GRU backward was 0.9 ms slower than the former design: the two loops queued at
the GIL for every kernel call.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np
from numba.core.registry import CPUDispatcher as Dispatcher

from .. import course
from ..fast import threads
from ..function import Function, TensorContext
from ..kernels import host_array
from ..tensor import Tensor
from ..tensor_data import TensorData

_ex11 = course.ExerciseProxy("ex11")
R = TypeVar("R")


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

# Rows of a batch from which the sequence Functions cut it in two halves, one per thread (see batch_parts).
# Measured on the course VM, LSTM T=32, I=32, H=128, forward + backward, halves against one part: B=2 1.83
# against 1.10 ms, B=4 2.09 / 1.45, B=8 2.53 / 2.25, B=10 2.63 / 2.81, B=12 2.91 / 3.16, B=16 2.95 / 4.49.
SPLIT_MIN_ROWS = 10


def _helper_thread() -> ThreadPoolExecutor:
    """The one helper thread of these Functions (made at the first use)."""
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(1, thread_name_prefix="mtdg-recurrent")
    return _helper


_nogil_kernels: dict[str, tuple[Any, Any]] = {}


def _gil_free(name: str) -> Any:
    """ex11's kernel `name`, compiled to release the GIL while it runs (Numba's nogil), when it is a Numba
    function; as it is otherwise. With the batch in two halves on two threads, the time loops would
    otherwise take turns at the GIL for every kernel call. The twin is made once per kernel the course
    serves (a new submission, a new twin)."""
    kernel = getattr(_ex11, name)
    known = _nogil_kernels.get(name)
    if known is not None and known[0] is kernel:
        return known[1]
    if not isinstance(kernel, Dispatcher) or kernel.targetoptions.get("nogil"):
        return kernel
    free = threads.twin(kernel, "nogil", nogil=True)
    _nogil_kernels[name] = (kernel, free)
    return free


def batch_parts(batch: int) -> tuple[slice, ...]:
    """The rows of the batch that each thread runs through a sequence: two halves when the program allows two
    threads (fast/threads.py) and the batch has at least SPLIT_MIN_ROWS rows, else one part of all rows.

    The rows of a batch never meet in a recurrent layer: row b's h_t depends on row b's inputs and state
    only. So each half can go through every time step, and then through its share of the weight gradients,
    without waiting for the other half once."""
    if threads.allowed() < 2 or batch < SPLIT_MIN_ROWS:
        return (slice(0, batch),)
    half = (batch + 1) // 2
    return (slice(0, half), slice(half, batch))


def on_threads(work: Callable[[Any], R], parts: Sequence[Any]) -> list[R]:
    """[work(part) for part in parts], the first part on the calling thread while the helper thread runs the
    others. numpy releases the GIL inside BLAS, so the two threads multiply at the same time.

    Both are finished before this returns or raises (no work outlives the call); an exception of either is
    raised here. When no thread can be started (a process limit, the interpreter exiting), every part runs
    here, in order."""
    if len(parts) == 1:
        return [work(parts[0])]
    try:
        helper = _helper_thread()
        futures = [helper.submit(work, part) for part in parts[1:]]
    except RuntimeError:
        return [work(part) for part in parts]
    try:
        first = work(parts[0])
    except BaseException:
        wait(futures)
        raise
    return [first, *(future.result() for future in futures)]


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
        ctx.save_for_backward(x, h, c, w_ih, w_hh)  # xa, ha and ca are views of x, h and c: their versions are checked
        ctx.arrays = (xa, ha, ca, gates, out[1].copy())
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        *_, w_ih, w_hh = ctx.saved_tensors
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
        ctx.save_for_backward(x, h, w_ih, w_hh)  # xa and ha are views of x and h: their versions are checked
        ctx.arrays = (xa, ha, gh, gates)
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        *_, w_ih, w_hh = ctx.saved_tensors
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
    weight_grads = (d_x_side.T @ xa, d_h_side.T @ ha, d_x_side.sum(0), d_h_side.sum(0))
    return tuple(_input_grads(ctx, d_x_side @ wi, dh, extra, weight_grads))


def _input_grads(ctx: TensorContext, d_x: np.ndarray, d_h: np.ndarray, extra: tuple[np.ndarray, ...],
                 weight_grads: tuple[np.ndarray | None, ...]) -> list[Any]:
    """[dx, dh, *extra, dW_ih, dW_hh, db_ih, db_hh] as tensors for the inputs that need a gradient, None for
    the others (a weight gradient of None was not computed: its input needs none)."""
    grads: list[Any] = [_grad_or_none(ctx, 0, d_x), _grad_or_none(ctx, 1, d_h)]
    grads += [_grad_or_none(ctx, 2 + k, value) for k, value in enumerate(extra)]
    grads += [None if value is None else _grad_or_none(ctx, 2 + len(extra) + k, value)
              for k, value in enumerate(weight_grads)]
    return grads


# ---------------------------------------------------------------------------------------------------
# A whole sequence, one direction of one layer
# ---------------------------------------------------------------------------------------------------


def _time_order(steps: int, reverse: bool) -> range:
    """The time steps in the order a loop runs them: T−1 .. 0 for reverse, else 0 .. T−1."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _rows(a: np.ndarray) -> np.ndarray:
    """(S, B, N) -> (S·B, N), a view of a C-contiguous array (explicit sizes: N or B may be 0)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _input_product(x: np.ndarray, wi: np.ndarray, bias: np.ndarray | None, dtype: Any) -> np.ndarray:
    """x W_ihᵀ + bias for every step at once: x (T, B, I) C-contiguous -> (T, B, kH) of `dtype`."""
    out = np.empty((x.shape[0], x.shape[1], wi.shape[0]), dtype=dtype)
    np.matmul(_rows(x), wi.T, out=_rows(out))
    if bias is not None:
        out += bias
    return out


def _bias_sum(b_ih: Tensor | None, b_hh: Tensor | None) -> np.ndarray | None:
    """b_ih + b_hh (either alone when the other is None; None when both are)."""
    biases = [to_array(b) for b in (b_ih, b_hh) if b is not None]
    return biases[0] + biases[1] if len(biases) == 2 else (biases[0] if biases else None)


def _part_gradients(needs: tuple[bool, ...], shared: bool, d_x_side: np.ndarray, d_h_side: np.ndarray,
                    xs: np.ndarray, h_prev_all: np.ndarray, wi: np.ndarray, d_x: np.ndarray,
                    rows: slice) -> dict[str, np.ndarray]:
    """The products of one part of the batch, once its time loop has written its pre-activation gradients
    d_x_side, d_h_side (T, n, kH) (the LSTM passes one array as both sides, `shared`):

        d_x[:, rows] = d_x_side W_ih
        "w_ih": Σ_t d_x_side[t]ᵀ x[t],  "b_ih": Σ_t,rows d_x_side      (this part's share)
        "w_hh": Σ_t d_h_side[t]ᵀ h_prev[t],  "b_hh": Σ_t,rows d_h_side  (GRU only: the LSTM's biases share b_ih's)

    Only what an input needs is computed; `needs` is ctx.needs_input_grad."""
    first = 3 if shared else 2  # where w_ih is among the inputs: after (x, h0[, c0])
    dx_rows, dh_rows = _rows(d_x_side), _rows(d_h_side)
    sums: dict[str, np.ndarray] = {}
    if needs[0]:
        d_x[:, rows] = (dx_rows @ wi).reshape(d_x_side.shape[0], d_x_side.shape[1], wi.shape[1])
    if needs[first] or needs[first + 2] or (shared and needs[first + 3]):
        sums["w_ih"] = dx_rows.T @ _rows(xs)
        sums["b_ih"] = dx_rows.sum(0)
    if needs[first + 1] or (needs[first + 3] and not shared):
        sums["w_hh"] = dh_rows.T @ _rows(h_prev_all)
        if not shared:
            sums["b_hh"] = dh_rows.sum(0)
    return sums


def _summed(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The parts' sums added key by key, in the parts' order (the same result from run to run)."""
    total = dict(parts[0])
    for part in parts[1:]:
        for key, value in part.items():
            total[key] = total[key] + value
    return total


def _lstm_forward_part(kernel: Any, rows: slice, xa: np.ndarray, wi: np.ndarray, wh_t: np.ndarray,
                       bias: np.ndarray | None, h0: np.ndarray, c0: np.ndarray, out: np.ndarray,
                       reverse: bool) -> tuple[np.ndarray, ...]:
    """Rows `rows` of the batch through every step: writes out[:, rows] (h_t, then c_n in out[T]) and returns
    what their backward reads: (x, gates, c, h_prev, c_prev), each (T, n, ...) for these rows."""
    steps, hidden = xa.shape[0], wh_t.shape[0]
    xs = np.ascontiguousarray(xa[:, rows])
    pre_all = _input_product(xs, wi, bias, out.dtype)
    gates_all = np.empty_like(pre_all)
    cells = np.empty((steps, xs.shape[1], hidden), dtype=out.dtype)
    h_prev_all, c_prev_all = np.empty_like(cells), np.empty_like(cells)
    recurrent = np.empty(pre_all.shape[1:], dtype=out.dtype)
    h, c = h0[rows], c0[rows]
    for t in _time_order(steps, reverse):
        h_prev_all[t] = h
        c_prev_all[t] = c
        pre = pre_all[t]
        np.matmul(h, wh_t, out=recurrent)
        pre += recurrent
        h_out = out[t, rows]
        kernel(pre, c, gates_all[t], cells[t], h_out)
        h, c = h_out, cells[t]
    out[steps, rows] = c
    return xs, gates_all, cells, h_prev_all, c_prev_all


def _lstm_backward_part(kernel: Any, rows: slice, saved: tuple[np.ndarray, ...], g: np.ndarray,
                        wi: np.ndarray, wh: np.ndarray, d_x: np.ndarray, d_h0: np.ndarray, d_c0: np.ndarray,
                        reverse: bool, needs: tuple[bool, ...]) -> dict[str, np.ndarray]:
    """The backward of _lstm_forward_part for rows `rows`: writes d_x, d_h0 and d_c0 at those rows and returns
    their share of the weight and bias gradients. `reverse`: the order of the forward's loop."""
    xs, gates_all, cells, h_prev_all, c_prev_all = saved
    steps = gates_all.shape[0]
    d_pre_all = np.empty_like(gates_all)
    d_h_carry = np.zeros(d_h0[rows].shape, dtype=gates_all.dtype)
    d_h = np.empty_like(d_h_carry)
    d_c = g[steps, rows].copy()
    d_c_prev = np.empty_like(d_c)
    for t in _time_order(steps, not reverse):
        np.add(g[t, rows], d_h_carry, out=d_h)
        kernel(gates_all[t], c_prev_all[t], cells[t], d_h, d_c, d_pre_all[t], d_c_prev)
        np.matmul(d_pre_all[t], wh, out=d_h_carry)
        d_c, d_c_prev = d_c_prev, d_c
    d_h0[rows] = d_h_carry
    d_c0[rows] = d_c
    return _part_gradients(needs, True, d_pre_all, d_pre_all, xs, h_prev_all, wi, d_x, rows)


class LSTMSequence(Function):
    """One LSTM direction over x (T, B, I) from (h0, c0): returns (T + 1, B, H) = [h_0 .. h_{T-1}, c_n],
    h_t in the input's time order (also for reverse=True, which runs t = T−1 .. 0).

    forward   pre_t = x_t W_ihᵀ + (b_ih + b_hh) + h_{t−1} W_hhᵀ, then ex11's gate kernel; x W_ihᵀ for every step
              in one product first, the recurrent part step by step.
    backward  per step: d_h = g_t + d_pre_{t+1} W_hh, then ex11's backward gate kernel; then dx, dW_ih, dW_hh
              and the bias gradient in one product each.
    Both run each half of the batch on its own thread when two are allowed (batch_parts).
    """

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, _ = xa.shape
        out = np.empty((steps + 1, batch, wh.shape[1]), dtype=np.result_type(xa, wi))
        wh_t, bias = np.ascontiguousarray(wh.T), _bias_sum(b_ih, b_hh)
        h0a, c0a = to_array(h0), to_array(c0)
        ctx.parts = batch_parts(batch)
        kernel = _gil_free("lstm_gates_forward")
        ctx.arrays = on_threads(
            lambda rows: _lstm_forward_part(kernel, rows, xa, wi, wh_t, bias, h0a, c0a, out, reverse), ctx.parts)
        ctx.save_for_backward(x, w_ih, w_hh)  # forward read x: an in-place change before backward is refused
        ctx.reverse = reverse
        ctx.x_dtype = xa.dtype
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        _, w_ih, w_hh = ctx.saved_tensors
        g = to_array(grad)
        wi, wh = to_array(w_ih), to_array(w_hh)
        steps, batch, hidden = g.shape[0] - 1, g.shape[1], g.shape[2]
        d_x = np.empty((steps, batch, wi.shape[1]), dtype=ctx.x_dtype)
        d_h0, d_c0 = np.empty((batch, hidden), dtype=g.dtype), np.empty((batch, hidden), dtype=g.dtype)
        needs = ctx.needs_input_grad
        kernel = _gil_free("lstm_gates_backward")
        sums = _summed(on_threads(
            lambda part: _lstm_backward_part(kernel, *part, g, wi, wh, d_x, d_h0, d_c0, ctx.reverse, needs),
            list(zip(ctx.parts, ctx.arrays))))
        b_ih = sums.get("b_ih")
        return _sequence_grads(ctx, d_x, d_h0, (d_c0,), sums.get("w_ih"), sums.get("w_hh"), b_ih,
                               None if b_ih is None else b_ih.copy())


def _gru_forward_part(kernel: Any, rows: slice, xa: np.ndarray, wi: np.ndarray, wh_t: np.ndarray,
                      bx: np.ndarray | None, bh: np.ndarray | None, h0: np.ndarray, out: np.ndarray,
                      reverse: bool) -> tuple[np.ndarray, ...]:
    """Rows `rows` of the batch through every step: writes out[:, rows] and returns what their backward reads:
    (x, gh, gates, h_prev), each (T, n, ...) for these rows."""
    steps = xa.shape[0]
    xs = np.ascontiguousarray(xa[:, rows])
    gx_all = _input_product(xs, wi, bx, out.dtype)
    gh_all, gates_all = np.empty_like(gx_all), np.empty_like(gx_all)
    h_prev_all = np.empty((steps, xs.shape[1], out.shape[2]), dtype=out.dtype)
    h = h0[rows]
    for t in _time_order(steps, reverse):
        h_prev_all[t] = h
        gh = gh_all[t]
        np.matmul(h, wh_t, out=gh)
        if bh is not None:
            gh += bh
        h_out = out[t, rows]
        kernel(gx_all[t], gh, h, gates_all[t], h_out)
        h = h_out
    return xs, gh_all, gates_all, h_prev_all


def _gru_backward_part(kernel: Any, rows: slice, saved: tuple[np.ndarray, ...], g: np.ndarray,
                       wi: np.ndarray, wh: np.ndarray, d_x: np.ndarray, d_h0: np.ndarray, reverse: bool,
                       needs: tuple[bool, ...]) -> dict[str, np.ndarray]:
    """The backward of _gru_forward_part for rows `rows`: writes d_x and d_h0 at those rows and returns their
    share of the weight and bias gradients."""
    xs, gh_all, gates_all, h_prev_all = saved
    d_gx_all, d_gh_all = np.empty_like(gates_all), np.empty_like(gates_all)
    d_h_carry = np.zeros(d_h0[rows].shape, dtype=gates_all.dtype)
    d_h, d_direct = np.empty_like(d_h_carry), np.empty_like(d_h_carry)
    for t in _time_order(gates_all.shape[0], not reverse):
        np.add(g[t, rows], d_h_carry, out=d_h)
        kernel(gates_all[t], gh_all[t], h_prev_all[t], d_h, d_gx_all[t], d_gh_all[t], d_direct)
        np.matmul(d_gh_all[t], wh, out=d_h_carry)
        d_h_carry += d_direct
    d_h0[rows] = d_h_carry
    return _part_gradients(needs, False, d_gx_all, d_gh_all, xs, h_prev_all, wi, d_x, rows)


class GRUSequence(Function):
    """One GRU direction over x (T, B, I) from h0: returns h (T, B, H) in the input's time order.

    forward   gx_t = x_t W_ihᵀ + b_ih (every step in one product first) and gh_t = h_{t−1} W_hhᵀ + b_hh (per
              step), then ex11's gate kernel.
    backward  per step: d_h = g_t + d_gh_{t+1} W_hh + (the kernel's direct part), then ex11's backward gate
              kernel; then dx, the weight and the bias gradients in one product each.
    Both run each half of the batch on its own thread when two are allowed (batch_parts).
    """

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, _ = xa.shape
        out = np.empty((steps, batch, wh.shape[1]), dtype=np.result_type(xa, wi))
        wh_t, bx, bh = np.ascontiguousarray(wh.T), _optional(b_ih), _optional(b_hh)
        h0a = to_array(h0)
        ctx.parts = batch_parts(batch)
        kernel = _gil_free("gru_gates_forward")
        ctx.arrays = on_threads(
            lambda rows: _gru_forward_part(kernel, rows, xa, wi, wh_t, bx, bh, h0a, out, reverse), ctx.parts)
        ctx.save_for_backward(x, w_ih, w_hh)  # forward read x: an in-place change before backward is refused
        ctx.reverse = reverse
        ctx.x_dtype = xa.dtype
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        _, w_ih, w_hh = ctx.saved_tensors
        g = to_array(grad)
        wi, wh = to_array(w_ih), to_array(w_hh)
        steps, batch, hidden = g.shape
        d_x = np.empty((steps, batch, wi.shape[1]), dtype=ctx.x_dtype)
        d_h0 = np.empty((batch, hidden), dtype=g.dtype)
        needs = ctx.needs_input_grad
        kernel = _gil_free("gru_gates_backward")
        sums = _summed(on_threads(
            lambda part: _gru_backward_part(kernel, *part, g, wi, wh, d_x, d_h0, ctx.reverse, needs),
            list(zip(ctx.parts, ctx.arrays))))
        return _sequence_grads(ctx, d_x, d_h0, (), sums.get("w_ih"), sums.get("w_hh"), sums.get("b_ih"),
                               sums.get("b_hh"))


def _sequence_grads(ctx: TensorContext, d_x: np.ndarray, d_h0: np.ndarray, extra: tuple[np.ndarray, ...],
                    *weight_grads: np.ndarray | None) -> tuple[Any, ...]:
    """Gradients of (x, h0, *extra, w_ih, w_hh, b_ih, b_hh, reverse); a weight's None: not asked for."""
    return (*_input_grads(ctx, d_x, d_h0, extra, weight_grads), None)
