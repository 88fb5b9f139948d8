"""`F.conv1d`, `F.conv2d`, `F.unfold`, `F.fold` with torch's signatures; the maths is ex10's.

This module checks the arguments (shapes, channels, groups, padding, dtypes, devices) and says what is wrong
in torch's words, accepts unbatched input as torch does, turns a 1-D convolution into a 2-D one on planes of
height 1, resolves padding='valid' / 'same', and builds the `Window` that ex10's kernels take. CPU tensors
go to ex10's Functions; cuda tensors to the framework's gather kernels and ex07's matmul (cuda_windows.py),
with the same Window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ShapeError
from ..tensor import Tensor
from .windows import Window, ex10_module

IntOrTuple = int | Sequence[int]


def expand_param(value: Any, dims: int, name: str, fn: str) -> tuple[int, ...]:
    """An int or a sequence of `dims` ints (torch's `_single` / `_pair`) as a tuple of `dims` ints."""
    if isinstance(value, bool):
        raise TypeError(f"{fn}(): {name} must be an int or a tuple of {dims} ints, got a bool")
    if isinstance(value, int):
        return (int(value),) * dims
    if isinstance(value, Sequence) and not isinstance(value, str):
        values = tuple(value)
        if len(values) == 1 and dims > 1:
            values = values * dims
        if len(values) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{fn}(): {name} must be an int or a tuple of {dims} ints, got {value!r}")
        return tuple(int(v) for v in values)
    raise TypeError(f"{fn}(): {name} must be an int or a tuple of {dims} ints, got {type(value).__name__}")


def to_plane(values: tuple[int, ...], fill: int) -> tuple[int, int]:
    """A 1-D parameter (v,) as the 2-D (fill, v) of a plane of height 1; a 2-D one unchanged."""
    return (fill, values[0]) if len(values) == 1 else (values[0], values[1])


def require_float(fn: str, **tensors: Tensor | None) -> str:
    """Tensors (None allowed) must be Tensors, floating point, of one dtype and on one device; returns the
    device ('cpu': ex10's kernels, 'cuda': the framework's gather kernels of cuda_windows.py)."""
    present = {k: v for k, v in tensors.items() if v is not None}
    for name, value in present.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be a Tensor, not {type(value).__name__}")
        if not value.dtype.is_floating_point:
            raise RuntimeError(
                f"{fn}(): expected a floating point {name}, got {value.dtype.name}; convert it with .float()"
            )
    devices = {v.device for v in present.values()}
    if len(devices) > 1:
        listing = ", ".join(f"{k} on {v.device}" for k, v in present.items())
        raise RuntimeError(
            f"{fn}(): expected all tensors to be on the same device, got {listing}; move them (and the model) "
            "with .to(device)"
        )
    dtypes = {v.dtype.name for v in present.values()}
    if len(dtypes) > 1:
        listing = ", ".join(f"{k} {v.dtype.name}" for k, v in present.items())
        raise RuntimeError(
            f"{fn}(): expected all tensors to have the same dtype, got {listing}; convert the input with "
            ".to(weight.dtype) or the model with .to(dtype)"
        )
    return devices.pop() if devices else "cpu"


def cuda_kernels() -> Any:
    """The module of cuda convolution and pooling kernels (imported on first use: it imports numba.cuda)."""
    from . import cuda_windows

    return cuda_windows


def _size(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _conv_padding(padding: Any, dims: int, kernel: tuple[int, ...], stride: tuple[int, ...],
                  dilation: tuple[int, ...], fn: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(before, after) zero padding per spatial dim, from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * dims, (0,) * dims
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}(): padding='same' is not supported for strided convolutions; use stride=1")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            before = tuple(t // 2 for t in total)
            return before, tuple(t - b for t, b in zip(total, before))
        raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    pad = expand_param(padding, dims, "padding", fn)
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{fn}(): negative padding is not supported, got padding={pad}")
    return pad, pad


def _conv(dims: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    fn = f"conv{dims}d"
    device = require_float(fn, input=input, weight=weight, bias=bias)
    if input.dim() not in (dims + 1, dims + 2):
        raise ShapeError(
            f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {fn}, but got input of size: "
            f"{_size(input.shape)}"
        )
    if weight.dim() != dims + 2:
        raise ShapeError(
            f"{fn}(): expected a {dims + 2}-D weight (out_channels, in_channels / groups, kernel...), got weight "
            f"of size {_size(weight.shape)}"
        )
    unbatched = input.dim() == dims + 1
    batched = input.unsqueeze(0) if unbatched else input
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise RuntimeError(f"{fn}(): non-positive groups is not supported, got groups={groups}")
    stride_t = expand_param(stride, dims, "stride", fn)
    dilation_t = expand_param(dilation, dims, "dilation", fn)
    if any(s <= 0 for s in stride_t):
        raise RuntimeError(f"{fn}(): non-positive stride is not supported, got stride={stride_t}")
    if any(d <= 0 for d in dilation_t):
        raise RuntimeError(f"{fn}(): dilation should be greater than zero, got dilation={dilation_t}")
    out_channels, per_group = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    if out_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight "
            f"of size {_size(weight.shape)} instead: out_channels must be a multiple of groups"
        )
    channels = batched.shape[1]
    if channels != per_group * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {_size(weight.shape)}, expected input{_size(batched.shape)} to "
            f"have {per_group * groups} channels, but got {channels} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(
            f"Given weight of size {_size(weight.shape)}, expected bias to be 1-dimensional with {out_channels} "
            f"elements, but got bias of size {_size(bias.shape)} instead"
        )
    before, after = _conv_padding(padding, dims, kernel, stride_t, dilation_t, fn)
    spatial = tuple(batched.shape[2:])
    padded = tuple(s + b + a for s, b, a in zip(spatial, before, after))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation_t, kernel))
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
            f"({' x '.join(map(str, span))}). Kernel size can't be greater than actual input size"
        )
    ex10 = ex10_module()
    out = tuple(ex10.output_size(s, k, st, b, a, d)
                for s, k, st, b, a, d in zip(spatial, kernel, stride_t, before, after, dilation_t))
    window = Window(to_plane(spatial, 1), to_plane(kernel, 1), to_plane(stride_t, 1), to_plane(before, 0),
                    to_plane(dilation_t, 1), to_plane(out, 1))
    x, w = batched, weight
    if dims == 1:
        x, w = batched.unsqueeze(2), weight.unsqueeze(2)
    if device == "cuda":
        result = cuda_kernels().conv2d_cuda(x, w, bias, window, groups)
    else:
        result = ex10.Conv2dFn.apply(x, w, bias, window, groups)
    if dims == 1:
        result = result.squeeze(2)
    return result.squeeze(0) if unbatched else result


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation, as torch) of input (N, C, L) or (C, L) with weight (O, C/groups, k)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """2-D convolution of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, kh, kw), bias (O,)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def _window_params(fn: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any
                   ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    kernel = expand_param(kernel_size, 2, "kernel_size", fn)
    dil = expand_param(dilation, 2, "dilation", fn)
    pad = expand_param(padding, 2, "padding", fn)
    st = expand_param(stride, 2, "stride", fn)
    if any(k <= 0 for k in kernel) or any(d <= 0 for d in dil) or any(s <= 0 for s in st) or any(p < 0 for p in pad):
        raise RuntimeError(
            f"{fn}(): kernel_size, dilation and stride must be positive and padding non-negative, got "
            f"kernel_size={kernel}, dilation={dil}, padding={pad}, stride={st}"
        )
    return kernel, dil, pad, st  # type: ignore[return-value]


def unfold(input: Tensor, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, padding: IntOrTuple = 0,
           stride: IntOrTuple = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C·kh·kw, L), one column per window position (torch's F.unfold)."""
    device = require_float("unfold", input=input)
    if input.dim() not in (3, 4):
        raise ShapeError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    kernel, dil, pad, st = _window_params("unfold", kernel_size, dilation, padding, stride)
    unbatched = input.dim() == 3
    batched = input.unsqueeze(0) if unbatched else input
    spatial = tuple(batched.shape[2:])
    ex10 = ex10_module()
    out = tuple(ex10.output_size(s, k, t, p, p, d) for s, k, t, p, d in zip(spatial, kernel, st, pad, dil))
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"unfold(): given input with spatial size {spatial}, kernel_size={kernel}, dilation={dil}, "
            f"padding={pad}, calculated shape of the array of sliding blocks as {out}, but its components must "
            "be at least one"
        )
    window = Window(spatial, kernel, st, pad, dil, out)  # type: ignore[arg-type]
    unfold_fn = cuda_kernels().UnfoldCuda if device == "cuda" else ex10.UnfoldFn
    result = unfold_fn.apply(batched, window)
    return result.squeeze(0) if unbatched else result


def fold(input: Tensor, output_size: IntOrTuple, kernel_size: IntOrTuple, dilation: IntOrTuple = 1,
         padding: IntOrTuple = 0, stride: IntOrTuple = 1) -> Tensor:
    """col2im: (N, C·kh·kw, L) -> (N, C, H, W) with (H, W) = output_size, overlaps summed (torch's F.fold)."""
    device = require_float("fold", input=input)
    if input.dim() not in (2, 3):
        raise ShapeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {input.dim()}D)")
    kernel, dil, pad, st = _window_params("fold", kernel_size, dilation, padding, stride)
    size = expand_param(output_size, 2, "output_size", "fold")
    unbatched = input.dim() == 2
    batched = input.unsqueeze(0) if unbatched else input
    rows, positions = batched.shape[1], batched.shape[2]
    if rows % (kernel[0] * kernel[1]):
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={rows} and kernel_size={kernel}"
        )
    ex10 = ex10_module()
    out = tuple(ex10.output_size(s, k, t, p, p, d) for s, k, t, p, d in zip(size, kernel, st, pad, dil))
    if out[0] * out[1] != positions or min(out) <= 0:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dil}, padding={pad}, stride={st}, "
            f"expected size of input's dimension 2 to match the calculated number of sliding blocks "
            f"{out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={positions}."
        )
    window = Window(size, kernel, st, pad, dil, out)  # type: ignore[arg-type]
    fold_fn = cuda_kernels().FoldCuda if device == "cuda" else ex10.FoldFn
    result = fold_fn.apply(batched, window)
    return result.squeeze(0) if unbatched else result
