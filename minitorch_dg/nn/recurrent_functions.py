"""Fused recurrent Functions: one graph node per cell step, or per layer direction over a whole sequence.

The gate maths and its hand-derived backward are ex11's Numba kernels (lstm_gates_forward/backward,
gru_gates_forward/backward, served by the course); around them these Functions do the matmuls:

    forward   pre = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh  (LSTM: one (B, 4H) block; GRU: gx and gh kept apart)
    backward  dx = d_pre W_ih,  dh = d_pre W_hh,  dW_ih = d_preᵀ x,  dW_hh = d_preᵀ h,  db = Σ_batch d_pre

The sequence Functions (LSTMSequence, GRUSequence) loop over time with one (B, H) x (H, kH) matmul and one
gate kernel per step; the large products (the input matmul x W_ihᵀ of every step, and in backward dx, dW_ih,
dW_hh) are done by chunks of time steps. They work on host numpy arrays: the CPU path. On cuda the layers
use ex11's composed cells instead (see minitorch_dg/nn/rnn.py).

The per-step matmuls are small ((32, 128) x (128, 512) in the benchmark): a multi-threaded BLAS spends
more time waking and synchronising its threads than multiplying, and on a busy machine a spinning BLAS
thread costs up to 100x the work itself (measured: 520 ms against 6 ms of CPU for 50 steps on two shared
cores). The Functions therefore run their BLAS calls on one thread (threadpoolctl). The second core, when
the program allows two threads (fast/threads.py), works beside the time loop instead: a helper Python thread
computes the chunks of the large products (a `Backlog`) while the calling thread runs the steps (numpy
releases the GIL inside BLAS), the input product of the chunks the loop will reach next in forward, dx and
the weight gradients of the chunks it has passed in backward. That thread waits on a lock between tasks,
where a BLAS thread would spin and take a core from whatever runs next (torch, or the framework's Numba
kernels: measured 2x slower right after a two-thread OpenBLAS call). Measured on the course VM (T=50, B=32,
I=H=128, float32, 2 threads, best of 20 in one process alternating with the former code, which ran the
large products before and after the loops in two halves): LSTM forward 7.5 -> 5.9 ms, backward 8.4 ->
7.7 ms (torch 3.6 and 5.8 ms); GRU forward 6.1 -> 5.4 ms, backward 7.6 -> 6.3 ms.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Callable, Iterator
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

# Multiply-adds per task of a Backlog (about 0.3 ms of one core; 8 steps of the benchmark's LSTM): see
# chunk_steps. Measured against 2^22 (backward 1 ms slower: three times the tasks, each a thread hand-over),
# 2^23 (the same within noise) and 2^25 (forward 0.5 ms slower: the loop waits longer for its first chunks).
CHUNK_WORK = 1 << 24


def _helper_thread() -> ThreadPoolExecutor:
    """The one helper thread of these Functions (made at the first use)."""
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(1, thread_name_prefix="mtdg-recurrent")
    return _helper


def chunk_steps(steps: int, step_work: int) -> int:
    """How many time steps one task of a Backlog covers: about CHUNK_WORK multiply-adds of `step_work` each.

    All `steps` (one task, nothing to share) when the program allows one thread or the sequence is too short
    to make two tasks: a single product is then as fast as any split of it."""
    per_task = max(1, -(-CHUNK_WORK // max(step_work, 1)))
    return per_task if threads.allowed() >= 2 and steps > per_task else steps


def time_chunks(steps: int, per_task: int, reverse: bool, grow: bool = False) -> list[slice]:
    """Slices of [0, steps) of `per_task` steps each, in the order the time loop reaches them (for reverse:
    from the end). With `grow`, the one reached first is one step long and each next one twice as long as the
    one before, up to `per_task`: the forward waits for a chunk's input product before the chunk's first step,
    so a short first chunk lets the loop start at once, and the helper, which computes a step's input product
    several times faster than the loop runs a step, stays ahead of the loop with few tasks."""
    chunks, done, size = [], 0, 1 if grow else per_task
    while done < steps:
        n = min(size, per_task, steps - done)
        chunks.append(slice(steps - done - n, steps - done) if reverse else slice(done, done + n))
        done += n
        size *= 2
    return chunks


class _Task:
    """One piece of work of a Backlog: `work()`, run once by whichever thread takes it first."""

    __slots__ = ("work", "after", "taken", "done", "error")

    def __init__(self, work: Callable[[], None], after: _Task | None) -> None:
        self.work, self.after = work, after
        self.taken = False
        self.done = threading.Event()
        self.error: BaseException | None = None


class Backlog:
    """Products that the time loop does not wait for, run beside it on the helper thread.

    A sequence Function's time loop is serial: each step needs the step before. Its large products are
    not: the input product of steps the loop has not reached yet (forward), and dx, dW_ih, dW_hh of steps
    the loop has passed (backward). The loop `add`s them as tasks, a chunk of time steps each, as soon as
    their operands are ready; the helper thread runs the tasks in order while the calling thread goes on
    with the loop, so the two cores of the course machine both work. A task the helper has not started
    when the caller needs its result (`wait`), or when the loop has ended (`finish`), runs on the calling
    thread instead: the work never waits for a helper that does not get a core, and at the end both threads
    share what is left.

    A task may name another that must be done before it starts (`after`): the chunks of one weight
    gradient add into one array in time order, one chunk at a time, so the sum does not depend on which
    thread ran which chunk (the results are the same from run to run). A task only ever waits for tasks
    added before it, which are done or running, so the two threads never wait for each other in a circle.

    With `helper=False` (one thread allowed, or one task in all), or when no thread can be started, every
    task runs on the calling thread.
    Used as a context manager: leaving the block normally finishes the backlog; leaving it by an exception
    drops the tasks nobody started and waits for the one the helper runs, so that no task outlives it.
    """

    def __init__(self, helper: bool) -> None:
        self._lock = threading.Lock()
        self._tasks: list[_Task] = []
        self._queue: queue.SimpleQueue[_Task | None] | None = None
        if helper:
            tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
            try:
                _helper_thread().submit(self._serve, tasks)
            except RuntimeError:  # no thread to be had (a process limit, or the interpreter exiting)
                tasks.put(None)  # should the executor start its thread later, that loop returns at once
            else:
                self._queue = tasks

    def add(self, work: Callable[[], None], after: _Task | None = None) -> _Task:
        """Queue `work` (run after `after` is done); returns its task."""
        task = _Task(work, after)
        self._tasks.append(task)
        if self._queue is not None:
            self._queue.put(task)
        return task

    def wait(self, task: _Task) -> None:
        """Return when `task` is done: run it here if no thread has taken it."""
        if self._take(task):
            self._run(task)
        else:
            task.done.wait()
        if task.error is not None:
            raise task.error

    def finish(self) -> None:
        """Run here every task the helper has not taken, then wait until the helper's are done too."""
        try:
            for task in self._tasks:
                if self._take(task):
                    self._run(task)
        finally:
            self._stop()
        for task in self._tasks:
            if task.error is not None:
                raise task.error

    def __enter__(self) -> Backlog:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.finish()
        else:
            self._stop()

    def _take(self, task: _Task) -> bool:
        with self._lock:
            free = not task.taken
            task.taken = True
        return free

    def _run(self, task: _Task) -> None:
        try:
            if task.after is not None:
                self.wait(task.after)
            task.work()
        except BaseException as error:  # handed to the thread that waits for it
            task.error = error
        finally:
            task.done.set()

    def _serve(self, tasks: queue.SimpleQueue[_Task | None]) -> None:
        """The helper thread's loop: the queued tasks in order, until the None that `_stop` sends."""
        while (task := tasks.get()) is not None:
            if self._take(task):
                self._run(task)

    def _stop(self) -> None:
        """Let nobody start a task any more, wait for those running, and end the helper's loop.

        The helper's loop is not waited for: once every task is done it only reads the None and returns
        (waiting for that costs a thread wake-up, measured 0.1-0.2 ms), and the next Backlog's loop queues
        behind it on the helper thread."""
        for task in self._tasks:
            if self._take(task):
                task.done.set()  # dropped: never runs
        for task in self._tasks:
            task.done.wait()
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None


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


def _steps_of(chunk: slice, reverse: bool) -> range:
    """The time steps of `chunk` in the loop's order."""
    return range(chunk.stop - 1, chunk.start - 1, -1) if reverse else range(chunk.start, chunk.stop)


def _rows(a: np.ndarray) -> np.ndarray:
    """(S, B, N) -> (S·B, N), a view of a C-contiguous array (explicit sizes: N or B may be 0)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _input_product(x: np.ndarray, wi: np.ndarray, bias: np.ndarray | None, out: np.ndarray) -> None:
    """out = x W_ihᵀ + bias for a chunk of steps: x (S, B, I), out (S, B, kH)."""
    np.matmul(_rows(x), wi.T, out=_rows(out))
    if bias is not None:
        out += bias


def _forward_chunks(steps: int, step_work: int, reverse: bool) -> list[slice]:
    """The chunks of a forward's time loop, `step_work` multiply-adds per step: growing from one step up to
    `chunk_steps` (time_chunks), or one chunk of all steps when the program allows one thread.

    The char LM's LSTM (T=32, B=32, I=32, H=128) used to make one chunk of all 32 steps, and its loop waited
    for the whole input product (0.5 ms) before its first step: forward 3.79 -> 3.67 ms (median of 6 x 30 calls,
    alternated in one process; the helper's hand-overs take back most of the 0.5 ms)."""
    if threads.allowed() < 2 or steps < 2:
        return [slice(0, steps)]
    per_task = max(1, -(-CHUNK_WORK // max(step_work, 1)))
    return time_chunks(steps, per_task, reverse, grow=True)


def _queue_input_products(backlog: Backlog, chunks: list[slice], xa: np.ndarray, wi: np.ndarray,
                          bias: np.ndarray | None, out: np.ndarray) -> list[_Task]:
    """Queue out[chunk] = x[chunk] W_ihᵀ + bias for every chunk, in the loop's order; their tasks."""
    return [backlog.add(functools.partial(_input_product, xa[chunk], wi, bias, out[chunk])) for chunk in chunks]


def _add_into(sums: dict[str, np.ndarray], key: str, value: np.ndarray) -> None:
    """sums[key] += value (sums[key] = value the first time)."""
    if key in sums:
        sums[key] += value
    else:
        sums[key] = value


class _BackwardLoop:
    """The time loop of a sequence Function's backward: the forward's steps in the opposite order, in chunks,
    with the large products of each chunk queued on a Backlog (`_queue_products`) once the loop body has
    written that chunk's pre-activation gradients. `sums` holds the weight and bias gradients at the end.

        loop = _BackwardLoop(ctx, steps, step_work)
        for t in loop.steps(d_x_side, d_h_side, xa, h_prev_all, wi, d_x):
            ...  # the step's gate kernel: writes d_x_side[t] and d_h_side[t]
    """

    def __init__(self, ctx: TensorContext, steps: int, step_work: int) -> None:
        self.ctx = ctx
        self.order = not ctx.reverse  # backward runs the forward's steps in the opposite order
        self.chunks = time_chunks(steps, chunk_steps(steps, step_work), self.order)
        self.sums: dict[str, np.ndarray] = {}

    def steps(self, d_x_side: np.ndarray, d_h_side: np.ndarray, xa: np.ndarray, h_prev_all: np.ndarray,
              wi: np.ndarray, d_x: np.ndarray) -> Iterator[int]:
        """Yield the time steps in the loop's order; when the caller's loop ends, every product is done."""
        chains: dict[str, _Task] = {}
        with Backlog(helper=len(self.chunks) > 1) as backlog:
            for chunk in self.chunks:
                yield from _steps_of(chunk, self.order)
                self._queue_products(backlog, chains, chunk, d_x_side, d_h_side, xa, h_prev_all, wi, d_x)

    def _queue_products(self, backlog: Backlog, chains: dict[str, _Task], chunk: slice, d_x_side: np.ndarray,
                        d_h_side: np.ndarray, xa: np.ndarray, h_prev_all: np.ndarray, wi: np.ndarray,
                        d_x: np.ndarray) -> None:
        """Queue the products of one chunk of steps whose pre-activation gradients the loop has just written:

            d_x[chunk] = d_x_side[chunk] W_ih
            W_ih chain:  sums["w_ih"] += d_x_side[chunk]ᵀ x[chunk],       sums["b_ih"] += Σ_rows d_x_side[chunk]
            W_hh chain:  sums["w_hh"] += d_h_side[chunk]ᵀ h_prev[chunk],  sums["b_hh"] += Σ_rows d_h_side[chunk]

        (the LSTM passes one array as both sides). Each chain's tasks run one after another in the loop's
        order, so each sum is the same whichever thread ran which chunk. Only the gradients an input needs
        are queued."""
        needs, sums = self.ctx.needs_input_grad, self.sums
        dx_rows, dh_rows = _rows(d_x_side[chunk]), _rows(d_h_side[chunk])
        shared = d_x_side is d_h_side  # the LSTM: one pre-activation gradient, one bias gradient
        first = 3 if shared else 2  # where w_ih is among the inputs: after (x, h0[, c0])
        if needs[0]:
            backlog.add(lambda: np.matmul(dx_rows, wi, out=_rows(d_x[chunk])))
        if needs[first] or needs[first + 2] or (shared and needs[first + 3]):
            def input_side() -> None:
                _add_into(sums, "w_ih", dx_rows.T @ _rows(xa[chunk]))
                _add_into(sums, "b_ih", dx_rows.sum(0))

            chains["ih"] = backlog.add(input_side, after=chains.get("ih"))
        if needs[first + 1] or (needs[first + 3] and not shared):
            def hidden_side() -> None:
                _add_into(sums, "w_hh", dh_rows.T @ _rows(h_prev_all[chunk]))
                if not shared:  # the LSTM's two biases have one gradient: b_ih's
                    _add_into(sums, "b_hh", dh_rows.sum(0))

            chains["hh"] = backlog.add(hidden_side, after=chains.get("hh"))


def _bias_sum(b_ih: Tensor | None, b_hh: Tensor | None) -> np.ndarray | None:
    """b_ih + b_hh (either alone when the other is None; None when both are)."""
    biases = [to_array(b) for b in (b_ih, b_hh) if b is not None]
    return biases[0] + biases[1] if len(biases) == 2 else (biases[0] if biases else None)


class LSTMSequence(Function):
    """One LSTM direction over x (T, B, I) from (h0, c0): returns (T + 1, B, H) = [h_0 .. h_{T-1}, c_n],
    h_t in the input's time order (also for reverse=True, which runs t = T−1 .. 0).

    forward   pre_t = x_t W_ihᵀ + (b_ih + b_hh) + h_{t−1} W_hhᵀ, then ex11's gate kernel. The input part is
              computed by chunks of steps ahead of the loop (a Backlog), the recurrent part step by step.
    backward  per step: d_h = g_t + d_pre_{t+1} W_hh, then ex11's backward gate kernel; dx, dW_ih, dW_hh
              and the bias gradient of each chunk of steps as soon as the loop has passed it (a Backlog).
    """

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        kernel = _ex11.lstm_gates_forward
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, inputs = xa.shape
        hidden = wh.shape[1]
        dtype = np.result_type(xa, wi)
        pre_all = np.empty((steps, batch, 4 * hidden), dtype=dtype)
        wh_t = np.ascontiguousarray(wh.T)
        out = np.empty((steps + 1, batch, hidden), dtype=dtype)
        cells = np.empty((steps, batch, hidden), dtype=dtype)
        gates_all = np.empty_like(pre_all)
        h_prev_all = np.empty_like(cells)
        c_prev_all = np.empty_like(cells)
        recurrent = np.empty((batch, 4 * hidden), dtype=dtype)
        bias = _bias_sum(b_ih, b_hh)
        chunks = _forward_chunks(steps, batch * inputs * 4 * hidden, reverse)
        h, c = to_array(h0), to_array(c0)
        with Backlog(helper=len(chunks) > 1) as backlog:
            for chunk, ready in zip(chunks, _queue_input_products(backlog, chunks, xa, wi, bias, pre_all)):
                backlog.wait(ready)
                for t in _steps_of(chunk, reverse):
                    h_prev_all[t] = h
                    c_prev_all[t] = c
                    pre = pre_all[t]
                    np.matmul(h, wh_t, out=recurrent)
                    pre += recurrent
                    kernel(pre, c, gates_all[t], cells[t], out[t])
                    h, c = out[t], cells[t]
        out[steps] = c
        ctx.save_for_backward(x, w_ih, w_hh)  # xa is a view of x: its version is checked (h0 and c0 were copied)
        ctx.arrays = (xa, gates_all, cells, h_prev_all, c_prev_all)
        ctx.reverse = reverse
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        kernel = _ex11.lstm_gates_backward
        _, w_ih, w_hh = ctx.saved_tensors
        xa, gates_all, cells, h_prev_all, c_prev_all = ctx.arrays
        g = to_array(grad)
        steps, batch, inputs = xa.shape
        wi, wh = to_array(w_ih), to_array(w_hh)
        d_pre_all = np.empty_like(gates_all)
        d_x = np.empty_like(xa)
        d_h_carry = np.zeros_like(cells[0])
        d_h = np.empty_like(d_h_carry)
        d_c = g[steps].copy()
        d_c_prev = np.empty_like(d_c)
        loop = _BackwardLoop(ctx, steps, batch * gates_all.shape[2] * max(inputs, wh.shape[1]))
        for t in loop.steps(d_pre_all, d_pre_all, xa, h_prev_all, wi, d_x):
            np.add(g[t], d_h_carry, out=d_h)
            kernel(gates_all[t], c_prev_all[t], cells[t], d_h, d_c, d_pre_all[t], d_c_prev)
            np.matmul(d_pre_all[t], wh, out=d_h_carry)
            d_c, d_c_prev = d_c_prev, d_c
        b_ih = loop.sums.get("b_ih")
        return _sequence_grads(ctx, d_x, d_h_carry, (d_c,), loop.sums.get("w_ih"), loop.sums.get("w_hh"), b_ih,
                               None if b_ih is None else b_ih.copy())


class GRUSequence(Function):
    """One GRU direction over x (T, B, I) from h0: returns h (T, B, H) in the input's time order.

    forward   gx_t = x_t W_ihᵀ + b_ih (by chunks of steps ahead of the loop, a Backlog) and gh_t = h_{t−1} W_hhᵀ
              + b_hh (per step), then ex11's gate kernel.
    backward  per step: d_h = g_t + d_gh_{t+1} W_hh + (the kernel's direct part), then ex11's backward gate
              kernel; dx, the weight and bias gradients by chunks as soon as the loop has passed them.
    """

    @staticmethod
    @_on_one_blas_thread
    def forward(ctx: TensorContext, x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
                b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool) -> Tensor:
        kernel = _ex11.gru_gates_forward
        xa, wi, wh = to_array(x), to_array(w_ih), to_array(w_hh)
        steps, batch, inputs = xa.shape
        hidden = wh.shape[1]
        dtype = np.result_type(xa, wi)
        gx_all = np.empty((steps, batch, 3 * hidden), dtype=dtype)
        bx, bh = _optional(b_ih), _optional(b_hh)
        wh_t = np.ascontiguousarray(wh.T)
        out = np.empty((steps, batch, hidden), dtype=dtype)
        gh_all = np.empty_like(gx_all)
        gates_all = np.empty_like(gx_all)
        h_prev_all = np.empty_like(out)
        chunks = _forward_chunks(steps, batch * inputs * 3 * hidden, reverse)
        h = to_array(h0)
        with Backlog(helper=len(chunks) > 1) as backlog:
            for chunk, ready in zip(chunks, _queue_input_products(backlog, chunks, xa, wi, bx, gx_all)):
                backlog.wait(ready)
                for t in _steps_of(chunk, reverse):
                    h_prev_all[t] = h
                    gh = gh_all[t]
                    np.matmul(h, wh_t, out=gh)
                    if bh is not None:
                        gh += bh
                    kernel(gx_all[t], gh, h, gates_all[t], out[t])
                    h = out[t]
        ctx.save_for_backward(x, w_ih, w_hh)  # xa is a view of x: its version is checked (h0 was copied)
        ctx.arrays = (xa, gh_all, gates_all, h_prev_all)
        ctx.reverse = reverse
        return from_array(out)

    @staticmethod
    @_on_one_blas_thread
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Any, ...]:
        kernel = _ex11.gru_gates_backward
        _, w_ih, w_hh = ctx.saved_tensors
        xa, gh_all, gates_all, h_prev_all = ctx.arrays
        g = to_array(grad)
        steps, batch, inputs = xa.shape
        wi, wh = to_array(w_ih), to_array(w_hh)
        d_gx_all = np.empty_like(gates_all)
        d_gh_all = np.empty_like(gates_all)
        d_x = np.empty_like(xa)
        d_h_carry = np.zeros_like(h_prev_all[0])
        d_h = np.empty_like(d_h_carry)
        d_direct = np.empty_like(d_h_carry)
        loop = _BackwardLoop(ctx, steps, batch * gates_all.shape[2] * max(inputs, wh.shape[1]))
        for t in loop.steps(d_gx_all, d_gh_all, xa, h_prev_all, wi, d_x):
            np.add(g[t], d_h_carry, out=d_h)
            kernel(gates_all[t], gh_all[t], h_prev_all[t], d_h, d_gx_all[t], d_gh_all[t], d_direct)
            np.matmul(d_gh_all[t], wh, out=d_h_carry)
            d_h_carry += d_direct
        return _sequence_grads(ctx, d_x, d_h_carry, (), loop.sums.get("w_ih"), loop.sums.get("w_hh"),
                               loop.sums.get("b_ih"), loop.sums.get("b_hh"))


def _sequence_grads(ctx: TensorContext, d_x: np.ndarray, d_h0: np.ndarray, extra: tuple[np.ndarray, ...],
                    *weight_grads: np.ndarray | None) -> tuple[Any, ...]:
    """Gradients of (x, h0, *extra, w_ih, w_hh, b_ih, b_hh, reverse); a weight's None: not asked for."""
    return (*_input_grads(ctx, d_x, d_h0, extra, weight_grads), None)
