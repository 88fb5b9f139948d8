"""More of torch's tensor functions, computed on the host with numpy: sin/cos/log1p/expm1/floor/round/sign,
isnan/isinf/isfinite/nan_to_num, cumsum, flip, sort/topk, movedim, // and %.

They are not exercises (the course's kernels are map/zip/reduce/matmul); each is a Function whose forward
runs numpy on the tensor's values (copied from a device and back when the tensor is not on the CPU) and
whose backward states torch's derivative. tensor.py binds them as Tensor methods (x.sin(), x // 2, ...);
`minitorch_dg` exports them as `mt.xxx` functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import kernels as K
from .dtypes import bool_, get_default_dtype, int64
from .function import Function, TensorContext
from .tensor_functions import _sum_to

if TYPE_CHECKING:
    from .tensor import Tensor

Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _host(t: Tensor) -> np.ndarray:
    return np.array(K.host_array(t))


class Elementwise(Function):
    """out = f(a) element-wise on the host; backward g * f'(a) (f' from the input and the output)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, f: Callable[[np.ndarray], np.ndarray], df: Derivative | None,
                float_result: bool) -> Tensor:
        source = a if a.dtype.is_floating_point or not float_result else a.to(get_default_dtype())
        values = _host(source)
        with np.errstate(all="ignore"):
            out = np.asarray(f(values))
        ctx.values, ctx.out, ctx.df = values, out, df
        return K.from_host(out.astype(source.dtype.numpy if out.dtype != np.bool_ else np.bool_), a.device)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        if ctx.df is None:
            return K.zeros(tuple(grad.shape), grad.dtype, grad.device), None, None, None
        with np.errstate(all="ignore"):
            g = _host(grad) * ctx.df(ctx.values, ctx.out)
        return K.from_host(g, grad.device, grad.dtype), None, None, None


def _unary(name: str, f: Callable[[np.ndarray], np.ndarray], df: Derivative | None,
           float_result: bool = True) -> Callable[[Tensor], Tensor]:
    def op(x: Tensor) -> Tensor:
        if x.dtype is bool_ and name == "sign":  # sign of True is True (1), of False False
            return x.clone()
        if x.dtype is bool_ and name in ("floor", "round"):
            raise RuntimeError(f"{name} is not implemented for bool tensors (torch refuses it too)")
        if not float_result and not x.dtype.is_floating_point:
            return x.clone() if name in ("floor", "round") else K.from_host(f(_host(x)), x.device, x.dtype)
        return Elementwise.apply(x, f, df, float_result)

    op.__name__ = name
    op.__doc__ = f"torch.{name}(x), element-wise."
    return op


sin = _unary("sin", np.sin, lambda x, y: np.cos(x))
cos = _unary("cos", np.cos, lambda x, y: -np.sin(x))
log1p = _unary("log1p", np.log1p, lambda x, y: 1.0 / (1.0 + x))
expm1 = _unary("expm1", np.expm1, lambda x, y: y + 1.0)
# floor, sign and round have no slope: their gradient is exactly 0 (df None), also where the incoming one is inf
# or nan, as torch's zeros_like
floor = _unary("floor", np.floor, None, float_result=False)
sign = _unary("sign", lambda v: np.where(v != v, 0, np.sign(v)), None, float_result=False)  # sign(nan) = 0


def round(x: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """torch.round: halves go to the even neighbour (as numpy's rint); the gradient is 0."""
    if x.dtype is bool_:
        raise RuntimeError("round is not implemented for bool tensors (torch refuses it too)")
    if not x.dtype.is_floating_point:
        return x.clone()
    scale = 10.0 ** decimals
    return Elementwise.apply(x, lambda v: np.round(v * scale) / scale if decimals else np.rint(v), None, True)


def isnan(x: Tensor) -> Tensor:
    return K.from_host(np.isnan(_host(x)) if x.dtype.is_floating_point else np.zeros(tuple(x.shape), bool), x.device)


def isinf(x: Tensor) -> Tensor:
    return K.from_host(np.isinf(_host(x)) if x.dtype.is_floating_point else np.zeros(tuple(x.shape), bool), x.device)


def isfinite(x: Tensor) -> Tensor:
    return K.from_host(np.isfinite(_host(x)) if x.dtype.is_floating_point else np.ones(tuple(x.shape), bool), x.device)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """nan -> `nan`, +inf -> `posinf` (the dtype's largest), -inf -> `neginf`; the gradient passes where
    the value was kept and is 0 where it was replaced."""
    if not x.dtype.is_floating_point:
        return x.clone()
    info = np.finfo(x.dtype.numpy)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    return Elementwise.apply(x, lambda v: np.nan_to_num(v, nan=nan, posinf=high, neginf=low),
                        lambda v, y: np.isfinite(v).astype(v.dtype), True)


class Cumsum(Function):
    """Running sum along dim; backward: the reversed running sum of g."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        dtype = a.dtype if a.dtype.is_floating_point else int64
        values = _host(a)
        out = np.cumsum(values, axis=dim) if values.ndim else values
        return K.from_host(out, a.device, dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        g = _host(grad)
        if g.ndim:
            g = np.flip(np.cumsum(np.flip(g, ctx.dim), axis=ctx.dim), ctx.dim)
        return K.from_host(g, grad.device, grad.dtype), None


def cumsum(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """torch.cumsum: out_i = x_0 + ... + x_i along dim (bool and int64 sum in int64)."""
    source = x if dtype is None else x.to(dtype)
    return Cumsum.apply(source, K.normalize_dim(dim, x.dim()))


class Flip(Function):
    """Reverse the order along dims; backward flips the gradient back."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, dims: tuple[int, ...]) -> Tensor:
        ctx.dims = dims
        values = _host(a)
        return K.from_host(np.flip(values, dims) if dims else values, a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, None]:
        g = _host(grad)
        return K.from_host(np.flip(g, ctx.dims) if ctx.dims else g, grad.device, grad.dtype), None


def flip(input: Tensor, dims: Any) -> Tensor:
    """torch.flip(input, dims): dims is a tuple or list of ints, each at most once (torch refuses a bare int
    here; the method takes one: Tensor.flip)."""
    if isinstance(dims, (int, np.integer)) or not isinstance(dims, (tuple, list)):
        raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not {type(dims).__name__}")
    for d in dims:
        if not isinstance(d, (int, np.integer)) and not (K.is_tensor(d) and d.numel() == 1
                                                          and not d.dtype.is_floating_point):
            raise TypeError(f"flip(): argument 'dims' must be tuple of ints, but found element of type "
                            f"{type(d).__name__}")
    normalized = tuple(K.normalize_dim(int(d), input.dim()) for d in dims)
    for d in normalized:
        if normalized.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, normalized if input.dim() else ())


def flip_method(self: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """Tensor.flip as torch has it: x.flip(0, 1), x.flip((0, 1)), x.flip([0, 1]) or x.flip(dims=(0, 1))."""
    if set(kwargs) - {"dims"}:
        raise TypeError(f"flip() got an unexpected keyword argument '{sorted(set(kwargs) - {'dims'})[0]}'")
    if "dims" in kwargs:
        if dims:
            raise TypeError("flip() got multiple values for argument 'dims'")
        return flip(self, kwargs["dims"])
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return flip(self, dims[0])
    return flip(self, list(dims))


class SortResult(NamedTuple):
    values: Tensor
    indices: Tensor


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """torch.sort: values along dim in order (nan counts as the largest) and where they came from; the
    values are a gather, so their gradient goes back to the positions they came from."""
    d = K.normalize_dim(dim, x.dim())
    if x.dim() == 0:
        return SortResult(x.clone(), K.zeros((), int64, x.device))
    values = _host(x)
    keys = values.astype(np.float64) if values.dtype != np.bool_ else values.astype(np.int64)
    if descending:  # reverse a stable ascending sort of the reversed input: ties keep their order
        n = keys.shape[d]
        order = np.flip(np.argsort(np.flip(keys, d), axis=d, kind="stable"), d)
        order = n - 1 - order
    else:
        order = np.argsort(keys, axis=d, kind="stable")
    indices = K.from_host(order.astype(np.int64), x.device)
    return SortResult(x.gather(d, indices) if x.numel() else x.clone(), indices)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> SortResult:  # noqa: A002
    """torch.topk: the k largest (or smallest) values along dim, in order, and their indices."""
    d = K.normalize_dim(dim, x.dim())
    if x.dtype is bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU (as in torch; convert with .long())")
    size = x.shape[d] if x.dim() else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range: k={k} for a dim of size {size}")
    ordered = sort(x, d, descending=largest, stable=True)
    if x.dim() == 0:
        return ordered
    return SortResult(ordered.values.narrow(d, 0, k), ordered.indices.narrow(d, 0, k))


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """torch.movedim: put dims `source` at positions `destination`, the others keep their order."""
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
                           f"the same number of dims as destination ({list(dst)} dims)")
    n = x.dim()
    src = tuple(K.normalize_dim(d, n) for d in src)
    dst = tuple(K.normalize_dim(d, n) for d in dst)
    order: list[int | None] = [None] * max(n, 1)
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(d for d in range(n) if d not in src)
    full = [o if o is not None else next(rest) for o in order[:n]]
    return x.permute(*full) if n else x.clone()


def _integer_zero_divisor(a: Tensor, b: Tensor) -> bool:
    """An integer division that divides something by 0 (torch raises; an empty result divides nothing)."""
    if a.dtype.is_floating_point or 0 in np.broadcast_shapes(tuple(a.shape), tuple(b.shape)):
        return False
    return bool((_host(b) == 0).any())


def _no_derivative(op: str) -> RuntimeError:
    return RuntimeError(f"derivative for aten::{op} is not implemented (as in torch: detach the operands, or "
                        "leave this op out of what you differentiate)")


class FloorDivide(Function):
    """a // b rounded toward -inf (torch's floor_divide). torch has no derivative for it: a backward pass
    through it raises (the forward does not)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, b: Tensor) -> Tensor:
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        with np.errstate(all="ignore"):
            if _integer_zero_divisor(a, b):
                raise RuntimeError("ZeroDivisionError: integer division by zero")
            out = np.floor_divide(_host(a), _host(b))
        return K.from_host(out, a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise _no_derivative("floor_divide")


class Remainder(Function):
    """a % b with the sign of b (torch's remainder, Python's %); d/da = 1, d/db = -floor(a / b)."""

    @staticmethod
    def forward(ctx: TensorContext, a: Tensor, b: Tensor, number_dividend: bool) -> Tensor:
        ctx.number_dividend = number_dividend
        with np.errstate(all="ignore"):
            if _integer_zero_divisor(a, b):
                raise RuntimeError("ZeroDivisionError: integer modulo by zero")
            ctx.quotient = np.floor_divide(_host(a), _host(b))
            out = np.mod(_host(a), _host(b))
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        return K.from_host(out, a.device, a.dtype)

    @staticmethod
    def backward(ctx: TensorContext, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        if ctx.number_dividend:  # torch's remainder(Scalar, Tensor) has no derivative
            raise _no_derivative("remainder")
        a_shape, b_shape = ctx.shapes
        g = _host(grad)
        with np.errstate(all="ignore"):
            gb = K.from_host(-g * ctx.quotient, grad.device, grad.dtype)
        return _sum_to(grad, a_shape), _sum_to(gb, b_shape), None


def _promoted(a: Tensor, b: Any, kernel: str) -> tuple[Tensor, Tensor]:
    b_t = a._other(b)
    dtype = K.result_type(a, b_t)
    if dtype is bool_:  # bool // bool, bool % True: torch has no kernel for bool (bool // 2 is int64: fine)
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\' (as in torch; convert with .long())')
    return a.to(dtype), b_t.to(dtype)


def floor_divide(a: Tensor, b: Any) -> Tensor:
    return FloorDivide.apply(*_promoted(a, b, "div_floor_cpu"))


def remainder(a: Tensor, b: Any) -> Tensor:
    return Remainder.apply(*_promoted(a, b, "remainder_cpu"), False)


def rremainder(a: Tensor, number: Any) -> Tensor:
    """number % a (torch's remainder(Scalar, Tensor)): torch has no derivative for it."""
    return Remainder.apply(*_promoted(a._other(number), a, "remainder_cpu"), True)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(v: np.ndarray) -> np.ndarray:
    return 0.5 * v * (1.0 + _erf(v / math.sqrt(2.0)))


def _gelu_derivative(v: np.ndarray, out: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(v / math.sqrt(2.0))) + v * np.exp(-0.5 * v * v) / math.sqrt(2.0 * math.pi)


def gelu_exact(x: Tensor) -> Tensor:
    """x · Φ(x) with Φ the standard normal CDF, Φ(x) = (1 + erf(x / √2)) / 2 (torch's default gelu)."""
    return Elementwise.apply(x, _gelu, _gelu_derivative, True)


# The other activations with torch's own formulas for the value and the derivative (not composed of
# tensor ops): a composition's chain rule turns an infinite upstream gradient times a zero factor into nan
# where torch's fused derivative gives inf (silu and gelu at 0), and a clamp hides a nan input's gradient.
_GELU_BETA, _GELU_KAPPA = math.sqrt(2.0 / math.pi), 0.044715


def _gelu_tanh(v: np.ndarray) -> np.ndarray:
    return 0.5 * v * (1.0 + np.tanh(_GELU_BETA * (v + _GELU_KAPPA * v * v * v)))


def _gelu_tanh_derivative(v: np.ndarray, out: np.ndarray) -> np.ndarray:
    t = np.tanh(_GELU_BETA * (v + _GELU_KAPPA * v * v * v))
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _GELU_BETA * (1.0 + 3.0 * _GELU_KAPPA * v * v)


def gelu_tanh(x: Tensor) -> Tensor:
    """0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))): gelu(approximate='tanh')."""
    return Elementwise.apply(x, _gelu_tanh, _gelu_tanh_derivative, True)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def silu(x: Tensor) -> Tensor:
    """x σ(x), computed as x / (1 + e^-x); the derivative σ(x) (1 + x (1 − σ(x)))."""
    return Elementwise.apply(x, lambda v: v / (1.0 + np.exp(-v)),
                             lambda v, y: _sigmoid(v) * (1.0 + v * (1.0 - _sigmoid(v))), True)


def elu(x: Tensor, alpha: float) -> Tensor:
    """x where x > 0, alpha (eˣ − 1) elsewhere; a nan takes the x > 0 side of the derivative (1), as torch's
    scalar loop does (its vectorized loop, on blocks of 8 float64 / 16 float32, gives nan there)."""
    return Elementwise.apply(x, lambda v: np.where(v <= 0, np.expm1(v) * alpha, v),
                             lambda v, y: np.where(v <= 0, alpha * np.exp(v), 1.0), True)


def softplus(x: Tensor, beta: float, threshold: float) -> Tensor:
    """log(1 + e^(βx)) / β, and x itself where βx > threshold; the derivative z / (z + 1), z = e^(βx)."""
    def value(v: np.ndarray) -> np.ndarray:
        return np.where(v * beta > threshold, v, np.log1p(np.exp(v * beta)) / beta)

    def derivative(v: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = np.exp(v * beta)
        return np.where(v * beta > threshold, 1.0, z / (z + 1.0))

    return Elementwise.apply(x, value, derivative, True)
