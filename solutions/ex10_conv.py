"""ex10 — convolution and pooling: im2col / col2im, conv as a matmul, max / average pooling (reference solution).

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

import numpy as np
from numba import njit, prange

from minitorch_dg import Tensor
from minitorch_dg import kernels as K
from minitorch_dg.autograd import Function, FunctionCtx
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
    span = dilation * (kernel - 1) + 1
    room = size + pad_before + pad_after - span
    if room < 0:
        return 0
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


# ---------------------------------------------------------------------------------------------------
# Part 2: im2col and its adjoint col2im
# ---------------------------------------------------------------------------------------------------


@njit(cache=True)
def _tap_sources(height: int, width: int, kh: int, kw: int, oh: int, ow: int, sh: int, sw: int, ph: int, pw: int,
                dh: int, dw: int) -> Array:
    """sources[i, j, y·ow + z] = a·W + b, the place in an (H, W) plane that tap (i, j) of window (y, z) reads
    (a = y·sh − ph + i·dh, b = z·sw − pw + j·dw), or −1 where that is padding.

    The window geometry is the same for every sample and channel: im2col and col2im work it out once here,
    and their loops over N·C planes only look it up (no index arithmetic, no bounds test per element).
    """
    sources = np.empty((kh, kw, oh * ow), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            for y in range(oh):
                iy = y * sh - ph + i * dh
                for z in range(ow):
                    ix = z * sw - pw + j * dw
                    if 0 <= iy < height and 0 <= ix < width:
                        sources[i, j, y * ow + z] = iy * width + ix
                    else:
                        sources[i, j, y * ow + z] = -1
    return sources


@njit(parallel=True, cache=True)
def im2col(cols: Array, x: Array, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> None:
    """cols[c, i, j, n, y, z] = x[n, c, y·sh − ph + i·dh, z·sw − pw + j·dw], and 0 where that is padding.

    x is (N, C, H, W); cols is (C, kh, kw, N, oh, ow). Parallel over the C·kh·kw rows of cols; each row
    copies, for every sample, the oh·ow inputs that _tap_sources lists for its tap (i, j).
    """
    n_batch, channels, height, width = x.shape
    _, kh, kw, _, oh, ow = cols.shape
    sources = _tap_sources(height, width, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw)
    planes = x.reshape(n_batch, channels, height * width)
    rows = cols.reshape(channels, kh, kw, n_batch, oh * ow)
    for row in prange(channels * kh * kw):
        c = row // (kh * kw)
        i = (row // kw) % kh
        j = row % kw
        tap = sources[i, j]
        for n in range(n_batch):
            plane = planes[n, c]
            out = rows[c, i, j, n]
            for p in range(oh * ow):
                at = tap[p]
                out[p] = plane[at] if at >= 0 else 0


@njit(parallel=True, cache=True)
def col2im(x: Array, cols: Array, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> None:
    """The adjoint of im2col: x[n, c, a, b] = Σ cols[c, i, j, n, y, z] over every (i, j, y, z) with
    y·sh − ph + i·dh = a and z·sw − pw + j·dw = b (entries that fall on the padding are dropped).

    x (N, C, H, W) is overwritten. Parallel over the N·C planes of x: each plane is written by one
    thread only, so the sums need no atomics.
    """
    n_batch, channels, height, width = x.shape
    _, kh, kw, _, oh, ow = cols.shape
    sources = _tap_sources(height, width, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw)
    planes = x.reshape(n_batch, channels, height * width)
    rows = cols.reshape(channels, kh, kw, n_batch, oh * ow)
    for index in prange(n_batch * channels):
        n = index // channels
        c = index % channels
        plane = planes[n, c]
        for a in range(height * width):
            plane[a] = 0
        for i in range(kh):
            for j in range(kw):
                tap = sources[i, j]
                entries = rows[c, i, j, n]
                for p in range(oh * ow):
                    at = tap[p]
                    if at >= 0:
                        plane[at] += entries[p]


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
    _fold_into(x, cols, window)
    return x


def _fold_into(x: Array, cols: Array, window: Window) -> None:
    """col2im of a (C, kh, kw, N, oh, ow) array into x (N, C, H, W), whose values it replaces."""
    launch(col2im, x, cols, *window.stride, *window.padding, *window.dilation)


class UnfoldFn(Function):
    """torch's F.unfold: (N, C, H, W) -> (N, C·kh·kw, L); row (c, i, j) of sample n holds the window
    element (i, j) of channel c at each of the L = oh·ow positions. Backward: fold (its adjoint)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window) -> Tensor:
        ctx.window = window
        ctx.channels = input.shape[1]
        cols = unfold_array(as_array(input), window)
        n_batch = input.shape[0]
        rows = cols.reshape(ctx.channels * window.kernel[0] * window.kernel[1], n_batch, window.positions)
        return from_array(rows.transpose(1, 0, 2))

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        window = ctx.window
        g = as_array(grad)  # (N, C·kh·kw, L)
        cols = np.ascontiguousarray(g.transpose(1, 0, 2)).reshape(_cols_shape(ctx.channels, g.shape[0], window))
        return from_array(fold_array(cols, window)), None


class FoldFn(Function):
    """torch's F.fold: (N, C·kh·kw, L) -> (N, C, H, W), summing overlapping window entries.
    Backward: unfold (fold's adjoint)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window) -> Tensor:
        ctx.window = window
        kh, kw = window.kernel
        v = as_array(input)
        channels = v.shape[1] // (kh * kw)
        cols = np.ascontiguousarray(v.transpose(1, 0, 2)).reshape(_cols_shape(channels, v.shape[0], window))
        return from_array(fold_array(cols, window))

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        window = ctx.window
        g = as_array(grad)
        cols = unfold_array(g, window).reshape(g.shape[1] * window.kernel[0] * window.kernel[1], g.shape[0],
                                               window.positions)
        return from_array(cols.transpose(1, 0, 2)), None


# ---------------------------------------------------------------------------------------------------
# Part 3: convolution = im2col + one matmul per group
# ---------------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _move_to_samples(out: Array, product: Array, bias: Array) -> None:
    """out[n, g, o, l] = product[g, n, l, o] + bias[g·Og + o]: Outᵀ's (G, N, L, Og) values moved to the output's
    (N, G, Og, L) layout, the bias added on the way (numpy's strided copy of the transposed view took 2.8 ms on
    the benchmark's 1.6 million values, this loop 0.8 ms on 2 threads). Parallel over samples."""
    n_batch, groups, per_group, positions = out.shape
    for n in prange(n_batch):
        for g in range(groups):
            values = product[g, n]
            for o in range(per_group):
                row = out[n, g, o]
                shift = bias[g * per_group + o]
                for position in range(positions):
                    row[position] = values[position, o] + shift


DEPTH_PARTS = 4  # the weight gradient's sum over N·L positions is split in this many products ...
DEPTH_PART_MIN = 4096  # ... when every part still has this many positions


def _depth_parts(span: int) -> int:
    """How many equal stretches the N·L = `span` positions of the weight gradient's product are cut into."""
    return DEPTH_PARTS if span % DEPTH_PARTS == 0 and span // DEPTH_PARTS >= DEPTH_PART_MIN else 1


INPUT_CHUNK_BYTES = 4 << 20  # ∂ℓ/∂Cols is made and folded a chunk of samples at a time, about this large


def _input_gradient(w: Array, g_rows: Array, channels: int, n_batch: int, window: Window) -> Array:
    """dx (N, C, H, W) = col2im(∂ℓ/∂Cols), ∂ℓ/∂Cols_g = W_gᵀ @ dOut_g, a chunk of samples at a time.

    w is (G, Og, Cg·kh·kw), g_rows (G, Og, N·L). All of ∂ℓ/∂Cols is as large as Cols (29 MB in the conv2d
    benchmark): written by the product and read back by col2im, it would go to main memory and back, and
    a product of depth Og (64) spends more time writing its output than multiplying. A chunk of about
    INPUT_CHUNK_BYTES stays in the cache between the product and col2im."""
    groups, rows = w.shape[0], w.shape[2]
    positions = window.positions
    per_sample = groups * rows * positions * w.itemsize
    chunk = max(1, min(n_batch, INPUT_CHUNK_BYTES // max(per_sample, 1)))
    w_t = K.permute(from_array(w), (0, 2, 1))  # (G, Cg·kh·kw, Og)
    g_all = from_array(g_rows)
    x = np.empty((n_batch, channels, *window.size), dtype=g_rows.dtype)
    for start in range(0, n_batch, chunk):
        stop = min(n_batch, start + chunk)
        part = g_all[:, :, start * positions : stop * positions]  # a view: the product reads it through strides
        d_cols = as_array(K.matmul(w_t, part)).reshape(_cols_shape(channels, stop - start, window))
        _fold_into(x[start:stop], d_cols, window)
    return x


class Conv2dFn(Function):
    """out[n, o, y, z] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · x_pad[n, g·Cg + c, y·sh + i·dh, z·sw + j·dw]
    for o in group g (Cg = C / groups input channels per group, Og = O / groups outputs per group).

    As matrices, per group g:  Out_g (Og, N·L) = W_g (Og, Cg·kh·kw) @ Cols_g (Cg·kh·kw, N·L).
    Backward:  dW_g = dOut_g @ Cols_gᵀ,  dCols_g = W_gᵀ @ dOut_g, dx = col2im(dCols),  dbias[o] = Σ_{n,y,z} dOut.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, weight: Tensor, bias: Tensor | None, window: Window,
                groups: int) -> Tensor:
        x = as_array(input)
        n_batch, channels = x.shape[0], x.shape[1]
        out_channels = weight.shape[0]
        oh, ow = window.out
        rows = channels // groups * window.kernel[0] * window.kernel[1]
        cols = unfold_array(x, window).reshape(groups, rows, n_batch * window.positions)
        w = as_array(weight).reshape(groups, out_channels // groups, rows)
        # Outᵀ (G, N·L, Og) = Colsᵀ @ Wᵀ: ex06 packs Colsᵀ a block of rows at a time, while it is in cache
        # (as B, all of Cols would be copied into panels first), and has N·L rows to share among its threads.
        per_group = out_channels // groups
        product = as_array(K.matmul(K.permute(from_array(cols), (0, 2, 1)), K.permute(from_array(w), (0, 2, 1))))
        out = np.empty((n_batch, groups, per_group, window.positions), dtype=x.dtype)
        shift = as_array(bias) if bias is not None else np.zeros(out_channels, dtype=x.dtype)
        launch(_move_to_samples, out, product.reshape(groups, n_batch, window.positions, per_group), shift)
        ctx.save_for_backward(input, weight)
        ctx.cols, ctx.w, ctx.window, ctx.groups, ctx.channels = cols, w, window, groups, channels
        ctx.has_bias = bias is not None
        return from_array(out.reshape(n_batch, out_channels, oh, ow))

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        input, weight = ctx.saved_tensors
        window, groups = ctx.window, ctx.groups
        g = as_array(grad)  # (N, O, oh, ow)
        n_batch, out_channels = g.shape[0], g.shape[1]
        positions = window.positions
        g_rows = np.ascontiguousarray(g.reshape(n_batch, out_channels, positions).transpose(1, 0, 2))
        g_rows = g_rows.reshape(groups, out_channels // groups, n_batch * positions)  # (G, Og, N·L)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[1]:
            # dWᵀ = Cols @ dOutᵀ (Cg·kh·kw rows, not Og), a sum over N·L: cut into `parts` stretches of the
            # N·L columns, one product each in a batch (more work items for ex06's threads), then added up.
            rows, span = ctx.cols.shape[1], n_batch * positions
            parts = _depth_parts(span)
            cols_parts = K.permute(from_array(ctx.cols.reshape(groups, rows, parts, span // parts)), (0, 2, 1, 3))
            g_parts = K.permute(from_array(g_rows.reshape(groups, g_rows.shape[1], parts, span // parts)),
                                (0, 2, 3, 1))  # (G, parts, N·L / parts, Og)
            d_w_t = as_array(K.matmul(cols_parts, g_parts)).sum(axis=1)  # (G, Cg·kh·kw, Og)
            d_w = np.ascontiguousarray(d_w_t.transpose(0, 2, 1))  # (G, Og, Cg·kh·kw)
            grad_weight = from_array(d_w.reshape(tuple(weight.shape)))
        ctx.cols = cols_parts = None  # the column matrix is done with: let ∂ℓ/∂Cols reuse its memory
        if ctx.needs_input_grad[0]:
            grad_input = from_array(_input_gradient(ctx.w, g_rows, ctx.channels, n_batch, window))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = from_array(g.sum(axis=(0, 2, 3)))
        return grad_input, grad_weight, grad_bias, None, None


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

    The NaN test costs more than the rest of the loop (its branch is taken at random), so the scan takes
    `value > best` alone and sums the window on the side; only a window whose sum is NaN (it holds a NaN,
    or both infinities) is scanned again with the NaN rule.
    """
    n_batch, channels, height, width = x.shape
    oh, ow = indices.shape[2], indices.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        xp = x[n, c]
        for y in range(oh):
            top = y * sh - ph
            bottom = min(top + (kh - 1) * dh + 1, height)
            while top < 0:
                top += dh
            for z in range(ow):
                left = z * sw - pw
                right = min(left + (kw - 1) * dw + 1, width)
                while left < 0:
                    left += dw
                best = -np.inf
                where = top * width + left
                total = 0.0
                a = top
                while a < bottom:  # (while loops: a range with a step divides to count its iterations)
                    row = xp[a]
                    b = left
                    while b < right:
                        value = row[b]
                        total += value
                        if value > best:
                            best = value
                            where = a * width + b
                        b += dw
                    a += dh
                if total != total:  # a NaN in the window: scan it again, taking every NaN
                    best = -np.inf
                    a = top
                    while a < bottom:
                        row = xp[a]
                        b = left
                        while b < right:
                            value = row[b]
                            if value > best or np.isnan(value):
                                best = value
                                where = a * width + b
                            b += dw
                        a += dh
                indices[n, c, y, z] = where


@njit(parallel=True, cache=True)
def max_pool2d_scatter(grad_x: Array, grad_out: Array, indices: Array) -> None:
    """grad_x[n, c] = 0, then grad_x[n, c].flat[indices[n, c, y, z]] += grad_out[n, c, y, z] for every (y, z)
    (windows overlap when stride < kernel: one input can be the maximum of several). Parallel over planes."""
    n_batch, channels, height, width = grad_x.shape
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        for a in range(height):
            for b in range(width):
                grad_x[n, c, a, b] = 0
        for y in range(oh):
            for z in range(ow):
                where = indices[n, c, y, z]
                grad_x[n, c, where // width, where % width] += grad_out[n, c, y, z]


@njit(cache=True)
def _take_in_planes(out: Array, x: Array, where: Array) -> None:
    """out[n, c, y, z] = x[n, c].flat[where[n, c, y, z]] (np.take_along_axis over the flattened planes, without
    the index arrays numpy builds for it)."""
    n_batch, channels, height, width = x.shape
    planes = x.reshape(n_batch * channels, height * width)
    picked = out.reshape(n_batch * channels, out.shape[2] * out.shape[3])
    chosen = where.reshape(n_batch * channels, out.shape[2] * out.shape[3])
    for p in range(n_batch * channels):
        for q in range(picked.shape[1]):
            picked[p, q] = planes[p, chosen[p, q]]


class MaxPool2dFn(Function):
    """out[n, c, y, z] = x[n, c].flat[indices[n, c, y, z]] (the maxima found by max_pool2d_argmax);
    backward: each window's gradient goes to its maximum only (max_pool2d_scatter)."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, indices: Tensor) -> Tensor:
        x = as_array(input)
        where = as_array(indices)
        out = np.empty(where.shape, dtype=x.dtype)
        _take_in_planes(out, x, where)
        ctx.indices = where
        ctx.input_shape = x.shape
        return from_array(out.reshape(where.shape))

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        g = as_array(grad)
        grad_x = np.empty(ctx.input_shape, dtype=g.dtype)
        launch(max_pool2d_scatter, grad_x, g, ctx.indices)
        return from_array(grad_x), None


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
    bottom = min(top + kh, height + ph)
    right = min(left + kw, width + pw)
    if count_include_pad:
        return (bottom - top) * (right - left)
    return (min(bottom, height) - max(top, 0)) * (min(right, width) - max(left, 0))


@njit(parallel=True, cache=True)
def avg_pool2d_forward(out: Array, x: Array, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                       count_include_pad: bool) -> None:
    """out[n, c, y, z] = (Σ of the inputs of window (y, z)) / divisor.

    The window starts at (top, left) = (y·sh − ph, z·sw − pw) and is clipped to the padded plane
    (bottom = min(top + kh, H + ph), likewise right). divisor = its clipped area when count_include_pad,
    else the number of real inputs in it (padding clipped off too). Parallel over planes.
    """
    n_batch, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        for y in range(oh):
            top = y * sh - ph
            for z in range(ow):
                left = z * sw - pw
                divisor = avg_pool_divisor(top, left, kh, kw, height, width, ph, pw, count_include_pad)
                total = 0.0
                for a in range(max(top, 0), min(top + kh, height)):
                    for b in range(max(left, 0), min(left + kw, width)):
                        total += x[n, c, a, b]
                out[n, c, y, z] = total / divisor


@njit(parallel=True, cache=True)
def avg_pool2d_backward(grad_x: Array, grad_out: Array, kh: int, kw: int, sh: int, sw: int, ph: int,
                        pw: int, count_include_pad: bool) -> None:
    """grad_x[n, c, a, b] = Σ over the windows (y, z) that contain (a, b) of grad_out[n, c, y, z] / divisor."""
    n_batch, channels, height, width = grad_x.shape
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        for a in range(height):
            for b in range(width):
                grad_x[n, c, a, b] = 0
        for y in range(oh):
            top = y * sh - ph
            for z in range(ow):
                left = z * sw - pw
                share = grad_out[n, c, y, z] / avg_pool_divisor(top, left, kh, kw, height, width, ph, pw,
                                                            count_include_pad)
                for a in range(max(top, 0), min(top + kh, height)):
                    for b in range(max(left, 0), min(left + kw, width)):
                        grad_x[n, c, a, b] += share


class AvgPool2dFn(Function):
    """2-D average pooling (no dilation, as torch): avg_pool2d_forward / avg_pool2d_backward."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, window: Window, count_include_pad: bool) -> Tensor:
        x = as_array(input)
        out = np.empty((x.shape[0], x.shape[1], *window.out), dtype=x.dtype)
        launch(avg_pool2d_forward, out, x, *window.kernel, *window.stride, *window.padding, count_include_pad)
        ctx.window, ctx.count_include_pad, ctx.input_shape = window, count_include_pad, x.shape
        return from_array(out)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None, None]:
        g = as_array(grad)
        window = ctx.window
        grad_x = np.empty(ctx.input_shape, dtype=g.dtype)
        launch(avg_pool2d_backward, grad_x, g, *window.kernel, *window.stride, *window.padding, ctx.count_include_pad)
        return from_array(grad_x), None, None


@njit(cache=True)
def adaptive_range(index: int, out_size: int, in_size: int) -> tuple[int, int]:
    """The inputs [start, end) of adaptive window `index`: start = ⌊index·in/out⌋, end = ⌈(index + 1)·in/out⌉."""
    start = (index * in_size) // out_size
    end = ((index + 1) * in_size + out_size - 1) // out_size
    return start, end


@njit(parallel=True, cache=True)
def adaptive_avg_pool2d_forward(out: Array, x: Array) -> None:
    """out[n, c, y, z] = mean of x[n, c, rows of window y, columns of window z] (adaptive_range per axis)."""
    n_batch, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        for y in range(oh):
            top, bottom = adaptive_range(y, oh, height)
            for z in range(ow):
                left, right = adaptive_range(z, ow, width)
                total = 0.0
                for a in range(top, bottom):
                    for b in range(left, right):
                        total += x[n, c, a, b]
                out[n, c, y, z] = total / ((bottom - top) * (right - left))


@njit(parallel=True, cache=True)
def adaptive_avg_pool2d_backward(grad_x: Array, grad_out: Array) -> None:
    """Each window's gradient, divided by its size, added to every input of the window."""
    n_batch, channels, height, width = grad_x.shape
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(n_batch * channels):
        n = plane // channels
        c = plane % channels
        for a in range(height):
            for b in range(width):
                grad_x[n, c, a, b] = 0
        for y in range(oh):
            top, bottom = adaptive_range(y, oh, height)
            for z in range(ow):
                left, right = adaptive_range(z, ow, width)
                share = grad_out[n, c, y, z] / ((bottom - top) * (right - left))
                for a in range(top, bottom):
                    for b in range(left, right):
                        grad_x[n, c, a, b] += share


class AdaptiveAvgPool2dFn(Function):
    """Average pooling into a fixed output size (oh, ow), whatever the input size."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, output_size: tuple[int, int]) -> Tensor:
        x = as_array(input)
        out = np.empty((x.shape[0], x.shape[1], *output_size), dtype=x.dtype)
        launch(adaptive_avg_pool2d_forward, out, x)
        ctx.input_shape = x.shape
        return from_array(out)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        g = as_array(grad)
        grad_x = np.empty(ctx.input_shape, dtype=g.dtype)
        launch(adaptive_avg_pool2d_backward, grad_x, g)
        return from_array(grad_x), None

