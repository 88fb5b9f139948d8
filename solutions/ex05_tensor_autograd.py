"""ex05 — tensor autograd: forward and backward of every differentiable tensor operation (reference solution).

Each class is a Function. `forward(ctx, ...)` computes the result with the raw kernels (`K.map`, `K.zip`,
`K.reduce`, `K.matmul`, and the view helpers `K.view`, `K.permute`, ...) — never with Tensor arithmetic,
which would call these very Functions again — and saves on `ctx` what backward needs.
`backward(ctx, grad)` runs with recording off and may use ordinary Tensor arithmetic; it returns one
gradient per argument of forward, shaped like that argument (None for arguments that are not tensors).

The framework's Tensor methods (x + y, x.sum(1), x[1:3], ...) call these classes; `Tensor.backward()`
hands the graph to ex02's backpropagate.
"""

from __future__ import annotations

from typing import Any

from minitorch_dg import kernels as K
from minitorch_dg.creation import arange, tensor
from minitorch_dg.errors import ShapeError
from minitorch_dg.function import Function
from minitorch_dg.function import TensorContext as Context
from minitorch_dg.tensor import Tensor

Shape = tuple[int, ...]


# ---------------------------------------------------------------------------------------------
# Part 1: undoing broadcasting
# ---------------------------------------------------------------------------------------------


def unbroadcast(grad: Tensor, shape: Shape) -> Tensor:
    """Sum `grad` back to `shape`, the shape of an input that forward broadcast.

    Broadcasting (ex03) right-aligns shapes, adds leading dims and stretches size-1 dims. Every element
    of the input was used once per copy, so its gradient is the sum over the copies: sum away the
    leading dims, and sum (keeping the dim) over each dim where `shape` has size 1 and grad does not.
    """
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    out = grad
    for _ in range(grad.dim() - len(shape)):
        out = K.reduce("sum", out, 0, keepdim=False)
    for d, size in enumerate(shape):
        if size == 1 and out.shape[d] != 1:
            out = K.reduce("sum", out, d, keepdim=True)
    return out


# ---------------------------------------------------------------------------------------------
# Part 2: element-wise functions
# ---------------------------------------------------------------------------------------------


class Add(Function):
    """a + b;  ∂/∂a = 1, ∂/∂b = 1 (each un-broadcast to its input's shape)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.shapes = (a.shape, b.shape)
        return K.zip("add", a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.shapes
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)


class Sub(Function):
    """a - b;  ∂/∂a = 1, ∂/∂b = -1"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.shapes = (a.shape, b.shape)
        return K.zip("sub", a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.shapes
        return unbroadcast(grad, a_shape), unbroadcast(-grad, b_shape)


class Mul(Function):
    """a * b;  ∂/∂a = b, ∂/∂b = a"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return K.zip("mul", a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        a, b = ctx.saved_tensors
        return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)


class Div(Function):
    """a / b;  ∂/∂a = 1/b, ∂/∂b = -a/b²"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return K.zip("div", a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        a, b = ctx.saved_tensors
        return unbroadcast(grad / b, a.shape), unbroadcast(-grad * ((a / b) / b), b.shape)


class Neg(Function):
    """-a;  ∂/∂a = -1"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return K.map("neg", a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        return -grad


class Pow(Function):
    """a ** p for a number p;  ∂/∂a = p * a^(p-1), and 0 when p == 0 (torch's rule, also at a = 0)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, p: float) -> Tensor:
        ctx.save_for_backward(a)
        ctx.p = p
        return K.zip("pow", a, tensor(p, dtype=a.dtype, device=a.device))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        (a,) = ctx.saved_tensors
        if ctx.p == 0:
            return K.zeros(tuple(a.shape), grad.dtype, grad.device), None
        return grad * ctx.p * a ** (ctx.p - 1.0), None


class Exp(Function):
    """e^a;  ∂/∂a = e^a (the saved output)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        out = K.map("exp", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """ln a;  ∂/∂a = 1/a"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return K.map("log", a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_tensors
        return K.zip("log_back", a, grad)


class Sigmoid(Function):
    """σ(a);  ∂/∂a = σ(a)(1 − σ(a)) (from the saved output)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        out = K.map("sigmoid", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return K.zip("sigmoid_back", out, grad)


class ReLU(Function):
    """max(a, 0);  ∂/∂a = 1 where a > 0, else 0"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return K.map("relu", a)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (a,) = ctx.saved_tensors
        return K.zip("relu_back", a, grad)


class Tanh(Function):
    """tanh a;  ∂/∂a = 1 − tanh² a (from the saved output)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        out = K.map("tanh", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return K.zip("tanh_back", out, grad)


# ---------------------------------------------------------------------------------------------
# Part 3: reductions. `dims` are non-negative and distinct; keepdim says whether they stay (size 1).
# ---------------------------------------------------------------------------------------------


def _keepdim_shape(shape: Shape, dims: tuple[int, ...]) -> Shape:
    return tuple(1 if d in dims else s for d, s in enumerate(shape))


def _reduce(op: str, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    out = a
    for d in sorted(dims, reverse=True):  # from the last dim, so that earlier dim numbers stay valid
        out = K.reduce(op, out, d, keepdim=keepdim)
    return out if dims else K.contiguous(a)


class Sum(Function):
    """Sum over `dims`;  every input element gets the gradient of the sum it went into."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        ctx.shape, ctx.dims = a.shape, dims
        return _reduce("sum", a, dims, keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        kept = grad.reshape(_keepdim_shape(ctx.shape, ctx.dims))
        return kept.expand(ctx.shape), None, None


class Mean(Function):
    """Mean over `dims`;  every input element gets the gradient divided by the count n."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        n = 1
        for d in dims:
            n *= a.shape[d] if a.dim() else 1  # a 0-d tensor reduces to itself (torch allows dim 0)
        ctx.shape, ctx.dims, ctx.n = a.shape, dims, n
        total = _reduce("sum", a, dims, keepdim)
        return K.zip("div", total, tensor(float(n), dtype=total.dtype, device=a.device))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        kept = grad.reshape(_keepdim_shape(ctx.shape, ctx.dims)) / float(ctx.n)
        return kept.expand(ctx.shape), None, None


class Max(Function):
    """Max along one dim (the `values` of torch's x.max(dim));  the gradient goes to the first maximum only."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int, keepdim: bool) -> Tensor:
        indices = K.argmax(a, dim, keepdim=True)
        ctx.save_for_backward(indices)
        ctx.shape, ctx.dim = a.shape, dim
        return K.reduce("max", a, dim, keepdim=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        (indices,) = ctx.saved_tensors
        if not ctx.shape:  # a 0-d tensor is its own maximum
            return grad, None, None
        positions = arange(ctx.shape[ctx.dim], device=grad.device)
        positions = positions.reshape(tuple(-1 if d == ctx.dim else 1 for d in range(len(ctx.shape))))
        chosen = positions == indices  # one-hot along dim, shape of the input
        kept = grad.reshape(_keepdim_shape(ctx.shape, (ctx.dim,)))
        return K.select(chosen, kept, K.zeros((), grad.dtype, grad.device)), None, None


class Amax(Function):
    """Max over `dims` (torch's amax, and max() of all elements);  ties share the gradient equally."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        kept = _reduce("max", a, dims, True)
        ctx.save_for_backward(a, kept)
        ctx.dims = dims
        return kept if keepdim else K.view(kept, tuple(s for d, s in enumerate(kept.shape) if d not in dims))

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        a, kept = ctx.saved_tensors
        winners = (a == kept).to(grad.dtype)
        count = winners.sum(ctx.dims, keepdim=True)
        return winners * grad.reshape(kept.shape) / count, None, None


# ---------------------------------------------------------------------------------------------
# Part 4: matrix product
# ---------------------------------------------------------------------------------------------


class MatMul(Function):
    """a @ b for a (..., n, k), b (..., k, m);  ∂/∂a = grad @ bᵀ, ∂/∂b = aᵀ @ grad, each un-broadcast over the batch."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return K.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        a, b = ctx.saved_tensors
        grad_a = grad @ b.transpose(-2, -1)
        if b.dim() == 2 and a.dim() > 2:
            # one matrix b for a whole batch (a Linear layer on a sequence): Σ over the batch of aᵀ @ grad is one
            # product of all the rows, (k, rows) @ (rows, m), instead of a batch of products summed afterwards
            rows = a.reshape(-1, a.shape[-1])
            return unbroadcast(grad_a, a.shape), rows.transpose(0, 1) @ grad.reshape(-1, grad.shape[-1])
        grad_b = a.transpose(-2, -1) @ grad
        return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


# ---------------------------------------------------------------------------------------------
# Part 5: views. Forward moves no data; backward puts the gradient back into the input's shape.
# ---------------------------------------------------------------------------------------------


class Permute(Function):
    """Reorder dims;  the gradient is permuted back by the inverse order."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, order: tuple[int, ...]) -> Tensor:
        ctx.order = order
        return K.permute(a, order)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        inverse = [0] * len(ctx.order)
        for position, d in enumerate(ctx.order):
            inverse[d] = position
        return grad.permute(*inverse), None


class View(Function):
    """The same elements with another shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Shape) -> Tensor:
        ctx.shape = a.shape
        return K.view(a, shape)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        return grad.reshape(ctx.shape), None


class Expand(Function):
    """Broadcast to a larger shape without copying;  the gradient is un-broadcast."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Shape) -> Tensor:
        ctx.shape = a.shape
        return K.expand(a, shape)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        return unbroadcast(grad, ctx.shape), None


class Unsqueeze(Function):
    """Insert a dim of size 1 at `dim`;  the gradient loses it again."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        shape = tuple(a.shape)
        return K.view(a, shape[:dim] + (1,) + shape[dim:])

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        return grad.squeeze(ctx.dim), None


class Squeeze(Function):
    """Remove the size-1 dim `dim`;  the gradient gets it back."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        shape = tuple(a.shape)
        return K.view(a, shape[:dim] + shape[dim + 1:])

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        return grad.unsqueeze(ctx.dim), None


class Index(Function):
    """Basic indexing a[key] (ints, slices, None; key already normalized): a view;  the gradient is
    written into zeros of the input's shape at the same positions."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, key: tuple[Any, ...]) -> Tensor:
        ctx.shape, ctx.key = a.shape, key
        return K.basic_index(a, key)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        full = K.zeros(ctx.shape, grad.dtype, grad.device)
        K.copy_into(K.basic_index(full, ctx.key), grad)
        return full, None


class Cat(Function):
    """Concatenate tensors along `dim` (all other sizes equal);  each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx: Context, dim: int, *tensors: Tensor) -> Tensor:
        first = tuple(tensors[0].shape)
        for t in tensors[1:]:
            other = tuple(t.shape)
            if len(other) != len(first) or any(x != y for d, (x, y) in enumerate(zip(first, other)) if d != dim):
                raise ShapeError(
                    f"cat: sizes of tensors must match except in dimension {dim}; got shapes {first} and {other}"
                )
        sizes = [t.shape[dim] for t in tensors]
        ctx.dim, ctx.sizes = dim, sizes
        dtype = tensors[0].dtype
        for t in tensors[1:]:
            dtype = K.result_type(K.zeros((1,), dtype, t.device), t)
        shape = first[:dim] + (sum(sizes),) + first[dim + 1:]
        out = K.zeros(shape, dtype, tensors[0].device)
        start = 0
        for t, size in zip(tensors, sizes):
            K.copy_into(K.narrow(out, dim, start, size), t)
            start += size
        return out

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        grads: list[Any] = [None]
        start = 0
        for size in ctx.sizes:
            grads.append(K.narrow(grad, ctx.dim, start, size))
            start += size
        return tuple(grads)
