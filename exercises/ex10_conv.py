"""ex10 — convolution and pooling: im2col / col2im, conv as a matmul, max / average pooling.

Read exercises/ex10_conv.md first (pictures of im2col, the index formulas, the backward derivation).
Replace each `raise NotImplementedYet(...)` with your code, then run `mtdg check ex10`. Keep the names and
parameters: `mt.nn.functional.conv2d`, `mt.nn.MaxPool2d`, ... call them.

The framework (`mt.nn.functional`, `mt.nn.Conv2d`, ...) checks the arguments, turns every 1-D operation
into a 2-D one on planes of height 1, computes the output size with `output_size` below, and hands over:

    input     a 4-D tensor (N, C, H, W) on the CPU (any strides; batch N may be 0)
    weight    (O, C / groups, kh, kw);  bias (O,) or None
    window    a `Window` (minitorch_dg/nn/windows.py): size (H, W), kernel (kh, kw), stride (sh, sw),
              padding *before* the plane (top, left), dilation (dh, dw), out (oh, ow)

Numba kernels work on C-contiguous numpy arrays (`as_array(tensor)`, `from_array(array)` go back and
forth); each has one `prange` loop over independent work and is compiled with cache=True. Call them with
`launch(kernel, *args)`, which runs small ones on one thread. Matrix products
go through the framework's backend (`K.matmul`: ex06's blocked matmul on the fast backend).
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (you will need it)
from numba import njit, prange  # noqa: F401  (you will need them)

from minitorch_dg import Tensor
from minitorch_dg import kernels as K  # noqa: F401  (K.matmul, K.permute)
from minitorch_dg.autograd import Function, FunctionCtx
from minitorch_dg.errors import NotImplementedYet
from minitorch_dg.nn.windows import Window, as_array, from_array, launch

Array = Any  # a C-contiguous numpy array

# ---------------------------------------------------------------------------------------------------
# Part 1: where the windows go
# ---------------------------------------------------------------------------------------------------


def output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int,
                ceil_mode: bool = False) -> int:
    """How many windows fit along one axis.

    A window spans dilation·(kernel − 1) + 1 inputs. On the padded axis of size + pad_before + pad_after
    inputs the windows start at 0, stride, 2·stride, ...:

        out = ⌊(size + pad_before + pad_after − span) / stride⌋ + 1        (⌈...⌉ with ceil_mode)

    With ceil_mode the last window may hang over the end, but it must start inside the input or the
    padding before it: if (out − 1)·stride ≥ size + pad_before, drop it. A span longer than the padded
    axis gives 0.
    """
    raise NotImplementedYet("ex10", "output_size")


# ---------------------------------------------------------------------------------------------------
# Part 2: im2col and its adjoint col2im
# ---------------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def im2col(cols: Array, x: Array, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> None:
    """cols[c, i, j, n, y, z] = x[n, c, y·sh − ph + i·dh, z·sw − pw + j·dw], and 0 where that is padding.

    x is (N, C, H, W); cols is (C, kh, kw, N, oh, ow). Parallel over the C·kh·kw rows of cols.
    """
    raise NotImplementedYet("ex10", "im2col")


@njit(parallel=True, cache=True)
def col2im(x: Array, cols: Array, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> None:
    """The adjoint of im2col: x[n, c, a, b] = Σ cols[c, i, j, n, y, z] over every (i, j, y, z) with
    y·sh − ph + i·dh = a and z·sw − pw + j·dw = b (entries that fall on the padding are dropped).

    x (N, C, H, W) is overwritten. Parallel over the N·C planes of x: each plane is written by one
    thread only, so the sums need no atomics.
    """
    raise NotImplementedYet("ex10", "col2im")


def _cols_shape(channels: int, n_batch: int, window: Window) -> tuple[int, ...]:
    return (channels, *window.kernel, n_batch, *window.out)


def unfold_array(x: Array, window: Window) -> Array:
    """im2col into a fresh (C, kh, kw, N, oh, ow) array."""
    cols = np.empty(_cols_shape(x.shape[1], x.shape[0], window), dtype=x.dtype)
    launch(im2col, cols, x, *window.stride, *window.padding, *window.dilation)
    return cols


def fold_array(cols: Array, window: Window) -> Array:
    """col2im of a (C, kh, kw, N, oh, ow) array into a fresh (N, C, H, W) array."""
    x = np.empty((cols.shape[3], cols.shape[0], *window.size), dtype=cols.dtype)
    launch(col2im, x, cols, *window.stride, *window.padding, *window.dilation)
    return x


class UnfoldFn(Function):
    """torch's F.unfold: (N, C, H, W) -> (N, C·kh·kw, L); row (c, i, j) of sample n holds the window
    element (i, j) of channel c at each of the L = oh·ow positions. Backward: fold (its adjoint)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window) -> Tensor:
        raise NotImplementedYet("ex10", "UnfoldFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex10", "UnfoldFn.backward")


class FoldFn(Function):
    """torch's F.fold: (N, C·kh·kw, L) -> (N, C, H, W), summing overlapping window entries.
    Backward: unfold (fold's adjoint)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window) -> Tensor:
        raise NotImplementedYet("ex10", "FoldFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex10", "FoldFn.backward")


# ---------------------------------------------------------------------------------------------------
# Part 3: convolution = im2col + one matmul per group
# ---------------------------------------------------------------------------------------------------


class Conv2dFn(Function):
    """out[n, o, y, z] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · x_pad[n, g·Cg + c, y·sh + i·dh, z·sw + j·dw]
    for o in group g (Cg = C / groups input channels per group, Og = O / groups outputs per group).

    As matrices, per group g:  Out_g (Og, N·L) = W_g (Og, Cg·kh·kw) @ Cols_g (Cg·kh·kw, N·L).
    Backward:  dW_g = dOut_g @ Cols_gᵀ,  dCols_g = W_gᵀ @ dOut_g, dx = col2im(dCols),  dbias[o] = Σ_{n,y,z} dOut.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, weight: Tensor, bias: Tensor | None, window: Window,
                groups: int) -> Tensor:
        raise NotImplementedYet("ex10", "Conv2dFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        raise NotImplementedYet("ex10", "Conv2dFn.backward")


# ---------------------------------------------------------------------------------------------------
# Part 4: max pooling
# ---------------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def max_pool2d_argmax(indices: Array, x: Array, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                      dh: int, dw: int) -> None:
    """indices[n, c, y, z] = a·W + b, the position in its (H, W) plane of the maximum of window (y, z).

    The window covers rows y·sh − ph + i·dh (i < kh) and columns z·sw − pw + j·dw (j < kw); rows and
    columns outside the plane are skipped (padding never wins). Visit the window row by row, left to right,
    and take a value when it is greater than the best so far or NaN: on ties the first maximum wins, a NaN
    beats everything (the last NaN), exactly like torch's CPU kernel. Parallel over the N·C planes.
    """
    raise NotImplementedYet("ex10", "max_pool2d_argmax")


@njit(parallel=True, cache=True)
def max_pool2d_scatter(grad_x: Array, grad_out: Array, indices: Array) -> None:
    """grad_x[n, c] = 0, then grad_x[n, c].flat[indices[n, c, y, z]] += grad_out[n, c, y, z] for every (y, z)
    (windows overlap when stride < kernel: one input can be the maximum of several). Parallel over planes."""
    raise NotImplementedYet("ex10", "max_pool2d_scatter")


class MaxPool2dFn(Function):
    """out[n, c, y, z] = x[n, c].flat[indices[n, c, y, z]] (the maxima found by max_pool2d_argmax);
    backward: each window's gradient goes to its maximum only (max_pool2d_scatter)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, indices: Tensor) -> Tensor:
        raise NotImplementedYet("ex10", "MaxPool2dFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex10", "MaxPool2dFn.backward")


def max_pool2d(input: Tensor, window: Window) -> tuple[Tensor, Tensor]:
    """(values, indices) of 2-D max pooling: indices (int64, as torch's return_indices) from
    max_pool2d_argmax, values through MaxPool2dFn so that they are differentiable."""
    x = as_array(input)
    indices = np.empty((x.shape[0], x.shape[1], *window.out), dtype=np.int64)
    launch(max_pool2d_argmax, indices, x, *window.kernel, *window.stride, *window.padding, *window.dilation)
    index_tensor = from_array(indices)
    return MaxPool2dFn.apply(input, index_tensor), index_tensor


# ---------------------------------------------------------------------------------------------------
# Part 5: average pooling, fixed and adaptive
# ---------------------------------------------------------------------------------------------------


@njit(cache=True)
def avg_pool_divisor(top: int, left: int, kh: int, kw: int, height: int, width: int, ph: int, pw: int,
                 count_include_pad: bool) -> int:
    """How many inputs window (top, left) is divided by (see avg_pool2d_forward)."""
    raise NotImplementedYet("ex10", "avg_pool_divisor")


@njit(parallel=True, cache=True)
def avg_pool2d_forward(out: Array, x: Array, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                       count_include_pad: bool) -> None:
    """out[n, c, y, z] = (Σ of the inputs of window (y, z)) / divisor.

    The window starts at (top, left) = (y·sh − ph, z·sw − pw) and is clipped to the padded plane
    (bottom = min(top + kh, H + ph), likewise right). divisor = its clipped area when count_include_pad,
    else the number of real inputs in it (padding clipped off too). Parallel over planes.
    """
    raise NotImplementedYet("ex10", "avg_pool2d_forward")


@njit(parallel=True, cache=True)
def avg_pool2d_backward(grad_x: Array, grad_out: Array, kh: int, kw: int, sh: int, sw: int, ph: int,
                        pw: int, count_include_pad: bool) -> None:
    """grad_x[n, c, a, b] = Σ over the windows (y, z) that contain (a, b) of grad_out[n, c, y, z] / divisor."""
    raise NotImplementedYet("ex10", "avg_pool2d_backward")


class AvgPool2dFn(Function):
    """2-D average pooling (no dilation, as torch): avg_pool2d_forward / avg_pool2d_backward."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window, count_include_pad: bool) -> Tensor:
        raise NotImplementedYet("ex10", "AvgPool2dFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedYet("ex10", "AvgPool2dFn.backward")


@njit(cache=True)
def adaptive_range(index: int, out_size: int, in_size: int) -> tuple[int, int]:
    """The inputs [start, end) of adaptive window `index`: start = ⌊index·in/out⌋, end = ⌈(index + 1)·in/out⌉."""
    raise NotImplementedYet("ex10", "adaptive_range")


@njit(parallel=True, cache=True)
def adaptive_avg_pool2d_forward(out: Array, x: Array) -> None:
    """out[n, c, y, z] = mean of x[n, c, rows of window y, columns of window z] (adaptive_range per axis)."""
    raise NotImplementedYet("ex10", "adaptive_avg_pool2d_forward")


@njit(parallel=True, cache=True)
def adaptive_avg_pool2d_backward(grad_x: Array, grad_out: Array) -> None:
    """Each window's gradient, divided by its size, added to every input of the window."""
    raise NotImplementedYet("ex10", "adaptive_avg_pool2d_backward")


class AdaptiveAvgPool2dFn(Function):
    """Average pooling into a fixed output size (oh, ow), whatever the input size."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, output_size: tuple[int, int]) -> Tensor:
        raise NotImplementedYet("ex10", "AdaptiveAvgPool2dFn.forward")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex10", "AdaptiveAvgPool2dFn.backward")

