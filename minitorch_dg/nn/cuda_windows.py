"""Convolution and pooling of cuda tensors: gather kernels in numba.cuda, and ex07's matmul for the product.

On the CPU the maths is the students' (ex10). On cuda the framework runs these kernels instead; the window
geometry (a `Window`) still comes from ex10's `output_size`, and every product goes through the CUDA
backend (ex07's tiled matmul), so that a convolution is

    cols = unfold(x)                 (N, C·kh·kw, L), torch's F.unfold layout: one gather kernel
    out  = W (G, Og, Cg·kh·kw) @ cols viewed as (N, G, Cg·kh·kw, L)   ex07's batched matmul
    out  = out viewed as (N, O, oh, ow) + bias

and its backward is autograd's: the matmul's (ex05 on ex07's kernels) and unfold's own, a fold.

Every kernel is a *gather*: one GPU thread per element of its output, which reads everything that element
depends on and writes it once. Fold (col2im) and the backward of pooling, which on the CPU add each window
into the input, here let every input element find the windows that contain it and sum them. No two threads
write the same element, so there are no atomics and the result does not depend on the schedule. The loops
are grid-stride loops (up to 256 threads per block, at most 2048 blocks), like ex07's map.

Index conventions are ex10's (exercises/ex10_conv.md): window (y, z) reads input row y·sh − ph + i·dh and
column z·sw − pw + j·dw; max pooling takes a value when it is greater than the best so far or NaN (the first
maximum wins ties, the last NaN wins); average pooling divides by torch's count (count_include_pad);
adaptive window y covers [⌊y·H/oh⌋, ⌈(y + 1)·H/oh⌉).

Tensors reach the kernels as the flat storage of a contiguous tensor (`_flat`), with the sizes as ints.
Importing this module imports numba.cuda: the framework imports it only for cuda tensors (the backend has
then checked that a GPU or the simulator is there).
"""

from __future__ import annotations

import math
from typing import Any

from numba import cuda

from .. import kernels as K
from ..dtypes import int64
from ..function import Function, TensorContext
from ..tensor import Tensor
from .windows import Window

THREADS = 256  # threads per block (fewer, in whole warps, for a smaller output)
WARP = 32
MAX_BLOCKS = 2048  # the grid-stride loops cover what more blocks would


def _launch(kernel: Any, size: int, *args: Any) -> None:
    """kernel(*args) over `size` output elements (size > 0): one thread per element, in blocks of at most
    THREADS threads, and at most MAX_BLOCKS blocks (grid-stride loops do the rest). A small output gets one
    block of as many whole warps as it needs, which also keeps the simulator's thread count down."""
    threads = min(THREADS, -(-size // WARP) * WARP)
    kernel[max(1, min(MAX_BLOCKS, -(-size // threads))), threads](*args)


def _flat(t: Tensor) -> Any:
    """The storage of a contiguous cuda tensor: element k (row-major) at position k."""
    if t.device != "cuda":
        raise RuntimeError(f"the cuda convolution kernels were handed a tensor on {t.device!r}")
    return t.contiguous()._data.storage


def _output(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """A fresh contiguous cuda tensor of `like`'s dtype for a kernel to overwrite completely."""
    return Tensor._from_data(K.output(tuple(shape), like.dtype, "cuda"))


# ---------------------------------------------------------------------------------------------------
# im2col / col2im
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def im2col_kernel(cols, x, size, channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """cols[n, (c, i, j), (y, z)] = x[n, c, y·sh − ph + i·dh, z·sw − pw + j·dw], 0 on the padding.

    cols is (N, C·kh·kw, oh·ow) (torch's unfold layout), `size` its number of elements; x is (N, C, H, W)."""
    positions = oh * ow
    rows = channels * kh * kw
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        p = e % positions
        r = (e // positions) % rows
        n = e // (positions * rows)
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        iy = (p // ow) * sh - ph + i * dh
        ix = (p % ow) * sw - pw + j * dw
        if 0 <= iy < height and 0 <= ix < width:
            cols[e] = x[((n * channels + c) * height + iy) * width + ix]
        else:
            cols[e] = 0


@cuda.jit(cache=True)
def col2im_kernel(x, cols, size, channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """x[n, c, a, b] = Σ cols[n, (c, i, j), (y, z)] over the taps (i, j) and windows (y, z) with
    y·sh − ph + i·dh = a and z·sw − pw + j·dw = b: for each tap the window is fixed (if there is one), so
    each thread sums at most kh·kw entries."""
    positions = oh * ow
    rows = channels * kh * kw
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        b = e % width
        a = (e // width) % height
        c = (e // (width * height)) % channels
        n = e // (width * height * channels)
        total = 0.0
        for i in range(kh):
            t = a + ph - i * dh  # = y·sh for the window that reads row a with tap i
            if t < 0:
                break
            if t % sh != 0 or t // sh >= oh:
                continue
            y = t // sh
            for j in range(kw):
                u = b + pw - j * dw
                if u < 0:
                    break
                if u % sw != 0 or u // sw >= ow:
                    continue
                total += cols[(n * rows + (c * kh + i) * kw + j) * positions + y * ow + u // sw]
        x[e] = total


def unfold_cuda(x: Tensor, window: Window) -> Tensor:
    """im2col of a (N, C, H, W) cuda tensor into a fresh (N, C·kh·kw, L) tensor."""
    n_batch, channels = x.shape[0], x.shape[1]
    cols = _output((n_batch, channels * window.kernel[0] * window.kernel[1], window.positions), x)
    if cols.numel():
        _launch(im2col_kernel, cols.numel(), _flat(cols), _flat(x), cols.numel(), channels, *window.args())
    return cols


def fold_cuda(cols: Tensor, channels: int, window: Window) -> Tensor:
    """col2im of a (N, C·kh·kw, L) cuda tensor into a fresh (N, C, H, W) tensor (overlaps summed)."""
    x = _output((cols.shape[0], channels, *window.size), cols)
    if x.numel():
        _launch(col2im_kernel, x.numel(), _flat(x), _flat(cols), x.numel(), channels, *window.args())
    return x


class UnfoldCuda(Function):
    """F.unfold on cuda: (N, C, H, W) -> (N, C·kh·kw, L); backward: fold (its adjoint)."""

    @staticmethod
    def forward(ctx: TensorContext, input: Tensor, window: Window) -> Tensor:
        ctx.window, ctx.channels = window, input.shape[1]
        return unfold_cuda(input, window)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        return fold_cuda(grad, ctx.channels, ctx.window), None


class FoldCuda(Function):
    """F.fold on cuda: (N, C·kh·kw, L) -> (N, C, H, W), overlapping entries summed; backward: unfold."""

    @staticmethod
    def forward(ctx: TensorContext, input: Tensor, window: Window) -> Tensor:
        ctx.window = window
        return fold_cuda(input, input.shape[1] // (window.kernel[0] * window.kernel[1]), window)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        return unfold_cuda(grad, ctx.window), None


def conv2d_cuda(input: Tensor, weight: Tensor, bias: Tensor | None, window: Window, groups: int) -> Tensor:
    """out[n, o] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · x_pad[n, g·Cg + c, ...] on cuda: unfold, then
    one batched matmul (W of each group times that group's rows of every sample's columns), differentiable
    through autograd (the matmul's backward and unfold's)."""
    n_batch = input.shape[0]
    out_channels = weight.shape[0]
    rows = weight.shape[1] * window.kernel[0] * window.kernel[1]  # Cg·kh·kw
    cols = UnfoldCuda.apply(input, window).view(n_batch, groups, rows, window.positions)
    w = weight.reshape(groups, out_channels // groups, rows)
    out = (w @ cols).view(n_batch, out_channels, *window.out)  # (N, G, Og, L) -> (N, O, oh, ow)
    if bias is not None:
        out = out + bias.view(1, out_channels, 1, 1)
    return out


# ---------------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def max_pool_kernel(values, indices, x, size, height, width, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """For output (n·C + c, y, z): indices = a·W + b of the window's maximum (the first on ties, the last NaN
    if there is one; padding never wins), values = x at that position."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        z = e % ow
        y = (e // ow) % oh
        plane = (e // (ow * oh)) * height * width
        top = y * sh - ph
        bottom = min(top + (kh - 1) * dh + 1, height)
        while top < 0:
            top += dh
        left = z * sw - pw
        right = min(left + (kw - 1) * dw + 1, width)
        while left < 0:
            left += dw
        best = -math.inf
        where = top * width + left
        for a in range(top, bottom, dh):
            for b in range(left, right, dw):
                value = x[plane + a * width + b]
                if value > best or math.isnan(value):
                    best = value
                    where = a * width + b
        indices[e] = where
        values[e] = x[plane + where]


@cuda.jit(cache=True)
def max_pool_backward_kernel(grad_x, grad_out, indices, size, height, width, kh, kw, sh, sw, ph, pw, dh, dw,
                             oh, ow):
    """grad_x[n, c, a, b] = Σ grad_out[n, c, y, z] over the windows (y, z) whose maximum is (a, b): only the
    windows whose span covers row a and column b can have it, and those are checked."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        b = e % width
        a = (e // width) % height
        plane = e // (width * height)
        here = a * width + b
        first_y = a + ph - (kh - 1) * dh  # window y covers row a when first_y <= y·sh <= a + ph
        y_lo = 0 if first_y <= 0 else (first_y + sh - 1) // sh
        y_hi = min(oh - 1, (a + ph) // sh)
        first_z = b + pw - (kw - 1) * dw
        z_lo = 0 if first_z <= 0 else (first_z + sw - 1) // sw
        z_hi = min(ow - 1, (b + pw) // sw)
        total = 0.0
        for y in range(y_lo, y_hi + 1):
            for z in range(z_lo, z_hi + 1):
                at = (plane * oh + y) * ow + z
                if indices[at] == here:
                    total += grad_out[at]
        grad_x[e] = total


def max_pool2d_cuda(input: Tensor, window: Window) -> tuple[Tensor, Tensor]:
    """(values, int64 indices) of 2-D max pooling of a (N, C, H, W) cuda tensor; values are differentiable."""
    n_batch, channels = input.shape[0], input.shape[1]
    shape = (n_batch, channels, *window.out)
    values = _output(shape, input)
    indices = Tensor._from_data(K.output(shape, int64, "cuda"))
    if values.numel():
        _launch(max_pool_kernel, values.numel(), _flat(values), _flat(indices), _flat(input), values.numel(),
                *window.args())
    return MaxPool2dCuda.apply(input, values, indices, window), indices


class MaxPool2dCuda(Function):
    """Max pooling of cuda tensors: forward takes the values and indices that max_pool_kernel computed
    together (one kernel for both); backward sends each window's gradient to its maximum."""

    @staticmethod
    def forward(ctx: TensorContext, input: Tensor, values: Tensor, indices: Tensor, window: Window) -> Tensor:
        ctx.indices, ctx.window, ctx.input_shape = indices, window, tuple(input.shape)
        return values

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None, None]:
        grad_x = _output(ctx.input_shape, grad)
        if grad_x.numel():
            _launch(max_pool_backward_kernel, grad_x.numel(), _flat(grad_x), _flat(grad), _flat(ctx.indices),
                    grad_x.numel(), *ctx.window.args())
        return grad_x, None, None, None


# ---------------------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------------------


@cuda.jit(device=True)
def _divisor(top, left, kh, kw, height, width, ph, pw, count_include_pad):
    """torch's divisor of window (top, left): its area clipped to the padded plane, or (without
    count_include_pad) the number of real inputs in it."""
    bottom = min(top + kh, height + ph)
    right = min(left + kw, width + pw)
    if count_include_pad:
        return (bottom - top) * (right - left)
    return (min(bottom, height) - max(top, 0)) * (min(right, width) - max(left, 0))


@cuda.jit(cache=True)
def avg_pool_kernel(out, x, size, height, width, kh, kw, sh, sw, ph, pw, oh, ow, count_include_pad):
    """out[n, c, y, z] = (Σ of the real inputs of window (y, z)) / torch's divisor."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        z = e % ow
        y = (e // ow) % oh
        plane = (e // (ow * oh)) * height * width
        top = y * sh - ph
        left = z * sw - pw
        total = 0.0
        for a in range(max(top, 0), min(top + kh, height)):
            for b in range(max(left, 0), min(left + kw, width)):
                total += x[plane + a * width + b]
        out[e] = total / _divisor(top, left, kh, kw, height, width, ph, pw, count_include_pad)


@cuda.jit(cache=True)
def avg_pool_backward_kernel(grad_x, grad_out, size, height, width, kh, kw, sh, sw, ph, pw, oh, ow,
                             count_include_pad):
    """grad_x[n, c, a, b] = Σ grad_out[n, c, y, z] / divisor(y, z) over the windows that contain (a, b):
    those with y·sh − ph <= a < y·sh − ph + kh (likewise z)."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        b = e % width
        a = (e // width) % height
        plane = e // (width * height)
        low_y = a + ph - kh  # window y contains row a when low_y < y·sh <= a + ph
        y_lo = 0 if low_y < 0 else low_y // sh + 1
        y_hi = min(oh - 1, (a + ph) // sh)
        low_z = b + pw - kw
        z_lo = 0 if low_z < 0 else low_z // sw + 1
        z_hi = min(ow - 1, (b + pw) // sw)
        total = 0.0
        for y in range(y_lo, y_hi + 1):
            for z in range(z_lo, z_hi + 1):
                divisor = _divisor(y * sh - ph, z * sw - pw, kh, kw, height, width, ph, pw, count_include_pad)
                total += grad_out[(plane * oh + y) * ow + z] / divisor
        grad_x[e] = total


class AvgPool2dCuda(Function):
    """2-D average pooling of cuda tensors (no dilation, as torch)."""

    @staticmethod
    def forward(ctx: TensorContext, input: Tensor, window: Window, count_include_pad: bool) -> Tensor:
        ctx.window, ctx.count_include_pad, ctx.input_shape = window, count_include_pad, tuple(input.shape)
        out = _output((input.shape[0], input.shape[1], *window.out), input)
        if out.numel():
            _launch(avg_pool_kernel, out.numel(), _flat(out), _flat(input), out.numel(), *_pool_args(window),
                    count_include_pad)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None, None]:
        grad_x = _output(ctx.input_shape, grad)
        if grad_x.numel():
            _launch(avg_pool_backward_kernel, grad_x.numel(), _flat(grad_x), _flat(grad), grad_x.numel(),
                    *_pool_args(ctx.window), ctx.count_include_pad)
        return grad_x, None, None


def _pool_args(window: Window) -> tuple[int, ...]:
    """H, W, kh, kw, sh, sw, ph, pw, oh, ow (average pooling has no dilation)."""
    return (*window.size, *window.kernel, *window.stride, *window.padding, *window.out)


# ---------------------------------------------------------------------------------------------------
# Adaptive average pooling
# ---------------------------------------------------------------------------------------------------


@cuda.jit(cache=True)
def adaptive_avg_pool_kernel(out, x, size, height, width, oh, ow):
    """out[n, c, y, z] = mean of x over rows [⌊y·H/oh⌋, ⌈(y + 1)·H/oh⌉) and the columns likewise."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        z = e % ow
        y = (e // ow) % oh
        plane = (e // (ow * oh)) * height * width
        top = (y * height) // oh
        bottom = ((y + 1) * height + oh - 1) // oh
        left = (z * width) // ow
        right = ((z + 1) * width + ow - 1) // ow
        total = 0.0
        for a in range(top, bottom):
            for b in range(left, right):
                total += x[plane + a * width + b]
        out[e] = total / ((bottom - top) * (right - left))


@cuda.jit(cache=True)
def adaptive_avg_pool_backward_kernel(grad_x, grad_out, size, height, width, oh, ow):
    """grad_x[n, c, a, b] = Σ grad_out[n, c, y, z] / (area of window (y, z)) over the windows containing
    (a, b): y from ⌊a·oh/H⌋ (the first window that ends after a) while the window starts at or before a."""
    for e in range(cuda.grid(1), size, cuda.gridsize(1)):
        b = e % width
        a = (e // width) % height
        plane = e // (width * height)
        total = 0.0
        y = (a * oh) // height
        while y < oh and (y * height) // oh <= a:
            top = (y * height) // oh
            bottom = ((y + 1) * height + oh - 1) // oh
            z = (b * ow) // width
            while z < ow and (z * width) // ow <= b:
                left = (z * width) // ow
                right = ((z + 1) * width + ow - 1) // ow
                total += grad_out[(plane * oh + y) * ow + z] / ((bottom - top) * (right - left))
                z += 1
            y += 1
        grad_x[e] = total


class AdaptiveAvgPool2dCuda(Function):
    """Average pooling of a cuda tensor into a fixed output size (oh, ow)."""

    @staticmethod
    def forward(ctx: TensorContext, input: Tensor, output_size: tuple[int, int]) -> Tensor:
        ctx.input_shape, ctx.output_size = tuple(input.shape), output_size
        out = _output((input.shape[0], input.shape[1], *output_size), input)
        if out.numel():
            _launch(adaptive_avg_pool_kernel, out.numel(), _flat(out), _flat(input), out.numel(), *input.shape[2:],
                    *output_size)
        return out

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        grad_x = _output(ctx.input_shape, grad)
        if grad_x.numel():
            _launch(adaptive_avg_pool_backward_kernel, grad_x.numel(), _flat(grad_x), _flat(grad), grad_x.numel(),
                    *ctx.input_shape[2:], *ctx.output_size)
        return grad_x, None
