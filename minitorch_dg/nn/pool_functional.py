"""`F.max_pool1d/2d`, `F.avg_pool1d/2d`, `F.adaptive_avg_pool1d/2d` with torch's signatures; the maths is ex10's.

Arguments are checked here with torch's rules (kernel and stride positive, padding at most half the
effective kernel, an output of at least one element, 2-D/3-D input for 1-D pooling and 3-D/4-D for 2-D);
unbatched input is accepted; 1-D pooling runs as 2-D pooling on planes of height 1. CPU tensors go to
ex10's kernels, cuda tensors to the framework's (cuda_windows.py).
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError
from ..tensor import Tensor
from .conv_functional import IntOrTuple, cuda_kernels, expand_param, require_float, to_plane
from .windows import Window, ex10_module


def _batched(fn: str, input: Tensor, dims: int) -> tuple[Tensor, bool]:
    """input as (N, C, H, W) (a 1-D pooling's (N, C, L) gets H = 1), and whether it had no batch dim."""
    require_float(fn, input=input)
    if input.dim() not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{fn}(): expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input, but got input of size: "
            f"{list(input.shape)}"
        )
    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    if dims == 1:
        x = x.unsqueeze(2)
    return x, unbatched


def _restore(result: Tensor, dims: int, unbatched: bool) -> Tensor:
    if dims == 1:
        result = result.squeeze(2)
    return result.squeeze(0) if unbatched else result


def _pool_window(fn: str, dims: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, half_rule: str) -> Window:
    kernel = expand_param(kernel_size, dims, "kernel_size", fn)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        step = kernel
    else:
        step = expand_param(stride, dims, "stride", fn)
    pad = expand_param(padding, dims, "padding", fn)
    dil = expand_param(dilation, dims, "dilation", fn)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{fn}(): kernel_size must be greater than zero, but got {kernel}")
    if any(s <= 0 for s in step):
        raise RuntimeError(f"{fn}(): stride must be greater than zero, but got {step}")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"{fn}(): dilation must be greater than zero, but got {dil}")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{fn}(): pad must be non-negative, but got {pad}")
    for p, k, d in zip(pad, kernel, dil):  # torch checks both: the dilated kernel, then the kernel itself
        if half_rule == "effective" and p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"{fn}(): pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} "
                f"and dilation={d}"
            )
        if p > k // 2:
            raise RuntimeError(
                f"{fn}(): pad should be smaller than or equal to half of kernel size, but got pad={p} and "
                f"kernel_size={k}"
            )
    spatial = tuple(x.shape[2:]) if dims == 2 else (x.shape[3],)
    ex10 = ex10_module()
    out = tuple(ex10.output_size(s, k, t, p, p, d, bool(ceil_mode))
                for s, k, t, p, d in zip(spatial, kernel, step, pad, dil))
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"{fn}(): Given input size: ({'x'.join(map(str, (x.shape[1], *spatial)))}). Calculated output size: "
            f"({'x'.join(map(str, (x.shape[1], *out)))}). Output size is too small: use a smaller kernel, "
            "more padding or a larger input"
        )
    return Window(to_plane(spatial, 1), to_plane(kernel, 1), to_plane(step, 1), to_plane(pad, 0),
                  to_plane(dil, 1), to_plane(out, 1))


def _max_pool(fn: str, dims: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool) -> Any:
    x, unbatched = _batched(fn, input, dims)
    window = _pool_window(fn, dims, x, kernel_size, stride, padding, dilation, ceil_mode, "effective")
    if x.device == "cuda":
        values, indices = cuda_kernels().max_pool2d_cuda(x, window)
    else:
        values, indices = ex10_module().max_pool2d(x, window)
    values = _restore(values, dims, unbatched)
    if not return_indices:
        return values
    return values, _restore(indices, dims, unbatched)


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Maximum over windows of input (N, C, L) or (C, L); with return_indices also the int64 positions in L."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Maximum over windows of input (N, C, H, W) or (C, H, W); indices are positions in the H·W plane."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(fn: str, dims: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool) -> Tensor:
    x, unbatched = _batched(fn, input, dims)
    window = _pool_window(fn, dims, x, kernel_size, stride, padding, 1, ceil_mode, "half")
    pool = cuda_kernels().AvgPool2dCuda if x.device == "cuda" else ex10_module().AvgPool2dFn
    return _restore(pool.apply(x, window, bool(count_include_pad)), dims, unbatched)


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over windows of input (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over windows of input (N, C, H, W) or (C, H, W)."""
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d(): minitorch-dg has no divisor_override; leave it None")
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def _adaptive(fn: str, dims: int, input: Tensor, output_size: Any) -> Tensor:
    x, unbatched = _batched(fn, input, dims)
    spatial = tuple(x.shape[2:]) if dims == 2 else (x.shape[3],)
    if isinstance(output_size, int) or output_size is None:
        wanted = (output_size,) * dims
    else:
        wanted = tuple(output_size)
        if len(wanted) != dims:
            raise ValueError(f"{fn}(): output_size must be an int or a tuple of {dims} ints, got {output_size!r}")
    size = tuple(s if w is None else int(w) for s, w in zip(spatial, wanted))
    if any(s < 0 for s in size):
        raise RuntimeError(f"{fn}(): elements of output_size must be greater than or equal to 0 but got {size}")
    if any(s == 0 for s in spatial) and x.numel():
        raise RuntimeError(f"{fn}(): expected a non-empty input plane, got input of size {list(input.shape)}")
    pool = cuda_kernels().AdaptiveAvgPool2dCuda if x.device == "cuda" else ex10_module().AdaptiveAvgPool2dFn
    result = pool.apply(x, to_plane(size, 1))
    return _restore(result, dims, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:
    """Mean over L_out windows of input (N, C, L) or (C, L) whose bounds adapt to L."""
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over oh x ow windows whose bounds adapt to the input's (H, W); None keeps that input size."""
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size)
