"""Plumbing for ex10 (convolution and pooling): window geometry and host arrays.

A sliding window over a 2-D plane of size (H, W) is described by one `Window`: kernel (kh, kw), stride,
the zero padding *before* the plane on each axis (top, left), dilation, and the output size (oh, ow)
that the framework computed with ex10's `output_size` (so asymmetric padding, torch's padding='same'
with an even kernel, needs nothing more: the padding after the plane only enters the output size).
1-D operations are the 2-D ones on planes of height 1.

`as_array` and `from_array` move between tensors and contiguous numpy arrays without surprises: the
Numba kernels of ex10 read and write plain C-ordered arrays, and `from_array` wraps one without a copy.
`launch(kernel, *args)` runs a parallel kernel on all threads, or, when its arrays are small, a serial twin
of it (as the fast backend does: waking the other threads costs more than a small kernel's work, and far
more on a busy machine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import course
from .. import kernels as K
from ..tensor import Tensor
from ..tensor_data import TensorData


@dataclass(frozen=True)
class Window:
    """Where the windows of a 2-D sliding-window operation sit on an (H, W) plane."""

    size: tuple[int, int]  # the input plane (H, W)
    kernel: tuple[int, int]  # (kh, kw)
    stride: tuple[int, int]  # (sh, sw)
    padding: tuple[int, int]  # zeros before the plane: (top, left)
    dilation: tuple[int, int]  # (dh, dw)
    out: tuple[int, int]  # output positions (oh, ow)

    @property
    def positions(self) -> int:
        """L = oh · ow, the number of window positions per plane."""
        return self.out[0] * self.out[1]

    def args(self) -> tuple[int, ...]:
        """The geometry as the flat ints a Numba kernel takes: H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow."""
        return (*self.size, *self.kernel, *self.stride, *self.padding, *self.dilation, *self.out)


PARALLEL_MIN = 1 << 18  # elements: a kernel whose largest array is smaller runs on one thread (as fast/threads.py)

_serial_twins: dict[Any, Any] = {}  # parallel kernel -> its serial twin (for the course generation below)
_twins_generation = -1


def launch(kernel: Callable[..., None], *args: Any) -> None:
    """kernel(*args) on every thread the program allows when the largest array argument has PARALLEL_MIN
    elements or more; otherwise its serial twin (the same loop compiled without parallel=True: a parallel
    kernel costs microseconds to enter even on one thread, more than a small window loop's work)."""
    work = max((a.size for a in args if isinstance(a, np.ndarray)), default=0)
    if work >= PARALLEL_MIN:
        from ..fast import threads  # (imports Numba: not at the framework's import)

        threads.parallel()  # the fast backend may have left Numba on one thread after a small op
        kernel(*args)
    else:
        _serial(kernel)(*args)


def _serial(kernel: Callable[..., None]) -> Callable[..., None]:
    """The serial twin of an ex10 kernel, made once per kernel (and cached by Numba where ex10's kernels are)."""
    global _twins_generation
    if _twins_generation != course.generation():
        _serial_twins.clear()
        _twins_generation = course.generation()
    twin = _serial_twins.get(kernel)
    if twin is None:
        if not hasattr(kernel, "py_func") or not kernel.targetoptions.get("parallel"):
            twin = kernel  # not a parallel Numba kernel (or plain Python in a test): run it as it is
        else:
            from ..fast import caching, threads

            with caching.kernel_cache():
                twin = threads.serial_twin(kernel)
        _serial_twins[kernel] = twin
    return twin


def as_array(tensor: Tensor) -> np.ndarray:
    """The values of a CPU tensor as a C-contiguous numpy array (no copy when the tensor is contiguous)."""
    if tensor.device != "cpu":
        raise RuntimeError(
            f"ex10's kernels run on the CPU; got a tensor on {tensor.device!r}. Move it with .cpu() first."
        )
    return np.ascontiguousarray(K.host_array(tensor))


def from_array(array: np.ndarray) -> Tensor:
    """A tensor over a C-contiguous numpy array (float32 / float64 / int64), sharing its memory."""
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous or array.ndim == 0:
        array = np.ascontiguousarray(array)  # (which also makes a 0-d array 1-d, as it always did here)
    shape = array.shape  # a tuple of ints already: TensorData.fresh skips the constructor's conversions
    if array.size:
        itemsize = array.itemsize
        strides = tuple([s // itemsize for s in array.strides])
    else:
        strides = _strides(shape)
    return Tensor._from_data(TensorData.fresh(array.reshape(-1), shape, strides, "cpu"))


def _strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


_ex10: tuple[int, Any] | None = None  # (course generation, the ex10 module then in force)


def ex10_module() -> Any:
    """The ex10 module in force, imported with Numba's cache in the course's cache folder (see fast/caching.py);
    kept for the course generation, so that an operation does not pay for the cache folder's set-up."""
    global _ex10
    found = _ex10
    if found is not None and found[0] == course.generation():
        return found[1]
    from ..fast import caching  # lazy: minitorch_dg.fast loads numba

    with caching.kernel_cache():
        module = course.load("ex10")
    _ex10 = (course.generation(), module)
    return module
