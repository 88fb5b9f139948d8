"""ex05 — tensor autograd: forward and backward of every differentiable tensor operation.

Read exercises/ex05_tensor_autograd.md first. Replace each `raise NotImplementedYet(...)` with your code,
then run `mtdg check ex05`. Keep the names and parameters: the framework's Tensor methods call them.

Each class is a Function. The framework turns `x * y` into `Mul.apply(x, y)`, which runs your `forward`
with graph recording off and records the result on the graph (minitorch_dg/function.py).

- `forward(ctx, ...)` computes the result with the RAW kernels only — `K.map`, `K.zip`, `K.reduce`,
  `K.matmul` and the view helpers `K.view`, `K.permute`, `K.expand`, `K.basic_index`, `K.narrow`,
  `K.zeros`, `K.copy_into` (see minitorch_dg/kernels.py). Never Tensor arithmetic: `a * b` inside
  Mul.forward would call Mul.apply, which calls Mul.forward, ... forever.
- `forward` keeps what backward needs: tensors with `ctx.save_for_backward(a, b)`, everything else
  (shapes, dims, numbers) as plain attributes, `ctx.shape = a.shape`.
- `backward(ctx, grad)` gets grad = dL/d(output), shaped like the output, and returns dL/d(input) for
  every argument of forward, in order, each shaped like its input (None for arguments that are not
  tensors). It runs with recording off, so it MAY use ordinary Tensor arithmetic (`grad * b`, `.sum`,
  `.reshape`, `.permute`, ...), which calls these same Functions one level deep.

`Tensor.backward()` hands the graph to your ex02 `backpropagate`, unchanged: a tensor is a Node.
"""

from __future__ import annotations

from typing import Any

from minitorch_dg import kernels as K
from minitorch_dg.creation import arange, tensor  # noqa: F401  (mt.arange, mt.tensor: handy in backward)
from minitorch_dg.errors import NotImplementedYet, ShapeError  # noqa: F401
from minitorch_dg.function import Function
from minitorch_dg.function import TensorContext as Context
from minitorch_dg.tensor import Tensor

Shape = tuple[int, ...]


# ---------------------------------------------------------------------------------------------
# Part 1: undoing broadcasting
# ---------------------------------------------------------------------------------------------


def unbroadcast(grad: Tensor, shape: Shape) -> Tensor:
    """Sum `grad` back to `shape`, the shape of an input that forward broadcast.

    Broadcasting right-aligns the shapes, prepends dims to the shorter one and stretches its size-1
    dims. Each input element was used once per copy, so its gradient is the SUM over its copies:

    - sum away the extra leading dims of grad (grad.dim() - len(shape) of them), and
    - sum, keeping the dim, over every dim d where shape[d] == 1 but grad has a larger size.

    Example: shape (3, 1) and grad of shape (2, 3, 4)  ->  sum dim 0 -> (3, 4)  ->  sum dim 1 keeping
    it -> (3, 1). When grad already has `shape`, return it as is. Use `K.reduce("sum", t, dim, keepdim)`.
    """
    raise NotImplementedYet("ex05", "unbroadcast")


# ---------------------------------------------------------------------------------------------
# Part 2: element-wise functions. Binary ones broadcast: un-broadcast each gradient to its input.
# ---------------------------------------------------------------------------------------------


class Add(Function):
    """a + b;  ∂/∂a = 1, ∂/∂b = 1 (each un-broadcast to its input's shape)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Add.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedYet("ex05", "Add.backward")


class Sub(Function):
    """a - b;  ∂/∂a = 1, ∂/∂b = -1"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Sub.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedYet("ex05", "Sub.backward")


class Mul(Function):
    """a * b;  ∂/∂a = b, ∂/∂b = a   (save a and b)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Mul.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedYet("ex05", "Mul.backward")


class Div(Function):
    """a / b;  ∂/∂a = 1/b, ∂/∂b = -a/b²"""

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Div.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedYet("ex05", "Div.backward")


class Neg(Function):
    """-a;  ∂/∂a = -1"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Neg.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Neg.backward")


class Pow(Function):
    """a ** p for a Python number p;  ∂/∂a = p · a^(p−1), and 0 everywhere when p == 0 (torch's rule,
    which also holds at a = 0, where p · a^(p−1) would be 0 · ∞ = nan).

    forward: `K.zip("pow", a, tensor(p, dtype=a.dtype, device=a.device))`. backward returns
    (gradient of a, None): p is a number, not a tensor.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, p: float) -> Tensor:
        raise NotImplementedYet("ex05", "Pow.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Pow.backward")


class Exp(Function):
    """e^a;  ∂/∂a = e^a   (save the OUTPUT: it is the derivative)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Exp.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Exp.backward")


class Log(Function):
    """ln a;  ∂/∂a = 1/a   (K.zip("log_back", a, grad) computes grad / a)"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Log.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Log.backward")


class Sigmoid(Function):
    """σ(a) = 1/(1 + e^−a);  ∂/∂a = σ(a)(1 − σ(a))   (save the output s; K.zip("sigmoid_back", s, grad))"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Sigmoid.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Sigmoid.backward")


class ReLU(Function):
    """max(a, 0);  ∂/∂a = 1 where a > 0, else 0 (0 at a = 0, as torch)   (K.zip("relu_back", a, grad))"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "ReLU.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "ReLU.backward")


class Tanh(Function):
    """tanh a;  ∂/∂a = 1 − tanh² a   (save the output t; K.zip("tanh_back", t, grad))"""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Tanh.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Tanh.backward")


# ---------------------------------------------------------------------------------------------
# Part 3: reductions. `dims` arrive non-negative and distinct (the framework normalizes x.sum(-1));
# keepdim says whether the reduced dims stay in the result with size 1.
#
# The two helpers below are given, ready-made: reducing several dims one at a time (from the last,
# so that earlier dim numbers stay valid) and computing the keepdim shape are bookkeeping you did in
# ex04. This exercise is about the gradients; use the helpers in forward and backward.
# ---------------------------------------------------------------------------------------------


def _keepdim_shape(shape: Shape, dims: tuple[int, ...]) -> Shape:
    """`shape` with every dim in `dims` set to 1: the shape of the result of a keepdim=True reduction.

    _keepdim_shape((2, 3, 4), (0, 2)) == (1, 3, 1)
    """
    return tuple(1 if d in dims else s for d, s in enumerate(shape))


def _reduce(op: str, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """K.reduce(op, ...) over every dim in `dims` (a new tensor; a copy of `a` when dims is empty)."""
    out = a
    for d in sorted(dims, reverse=True):  # from the last dim, so that earlier dim numbers stay valid
        out = K.reduce(op, out, d, keepdim=keepdim)
    return out if dims else K.contiguous(a)


class Sum(Function):
    """Σ over `dims`;  every input element receives the gradient of the sum it went into.

    backward: reshape grad to the keepdim shape, then expand it to the input's shape. Example: a of
    shape (2, 3), dims (1,), keepdim False: grad (2,) -> (2, 1) -> expanded to (2, 3).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        raise NotImplementedYet("ex05", "Sum.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedYet("ex05", "Sum.backward")


class Mean(Function):
    """Σ / n over `dims`, n = the number of elements in each sum (the product of the reduced sizes;
    n = 1 for a 0-d input);  every input element receives grad / n."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        raise NotImplementedYet("ex05", "Mean.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedYet("ex05", "Mean.backward")


class Max(Function):
    """The largest value along ONE dim (the `values` of torch's `x.max(dim)`; the framework computes
    the indices itself).  The whole gradient goes to the FIRST maximal element of each slice — the one
    argmax (`K.argmax(a, dim, keepdim=True)`) points at — and 0 to every other element, ties included.
    A 0-d input is its own maximum: its gradient is grad.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int, keepdim: bool) -> Tensor:
        raise NotImplementedYet("ex05", "Max.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedYet("ex05", "Max.backward")


class Amax(Function):
    """The largest value over `dims` (torch's `amax`, and `x.max()` of all elements).  Ties SHARE the
    gradient equally: with k maximal elements in a reduced slice, each receives grad / k.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
        raise NotImplementedYet("ex05", "Amax.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedYet("ex05", "Amax.backward")


# ---------------------------------------------------------------------------------------------
# Part 4: matrix product
# ---------------------------------------------------------------------------------------------


class MatMul(Function):
    """a @ b for a of shape (..., n, k) and b of shape (..., k, m), batch dims broadcast -> (..., n, m).

    ∂/∂a = grad @ bᵀ and ∂/∂b = aᵀ @ grad, where ᵀ swaps the LAST TWO dims only
    (`t.transpose(-2, -1)`); then un-broadcast each to its input's shape (batch dims may have been
    broadcast). Both inputs have >= 2 dims here: the framework turns 1-D operands into matrices.
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "MatMul.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedYet("ex05", "MatMul.backward")


# ---------------------------------------------------------------------------------------------
# Part 5: views. Forward moves no data (K.permute, K.view, K.expand, K.basic_index return views);
# backward puts the gradient back into the input's shape.
# ---------------------------------------------------------------------------------------------


class Permute(Function):
    """Dim d of the result is dim order[d] of a.  The gradient is permuted back with the INVERSE order:
    inverse[order[d]] = d. Example: order (1, 2, 0) has inverse (2, 0, 1)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, order: tuple[int, ...]) -> Tensor:
        raise NotImplementedYet("ex05", "Permute.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Permute.backward")


class View(Function):
    """The same elements in row-major order with another `shape` (fully resolved: no -1).  The gradient
    is reshaped back to a's shape (`grad.reshape`, not `grad.view`: grad need not be contiguous)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Shape) -> Tensor:
        raise NotImplementedYet("ex05", "View.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "View.backward")


class Expand(Function):
    """a broadcast to the larger `shape` without copying (stride 0 on stretched dims; -1 keeps a dim).
    It is broadcasting made explicit, so the gradient is un-broadcast."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: Shape) -> Tensor:
        raise NotImplementedYet("ex05", "Expand.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Expand.backward")


class Unsqueeze(Function):
    """Insert a dim of size 1 at position `dim` (0 <= dim <= a.dim()), a view (`K.view`).
    The gradient loses that dim again."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        raise NotImplementedYet("ex05", "Unsqueeze.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Unsqueeze.backward")


class Squeeze(Function):
    """Remove dim `dim`, which has size 1 (the framework only calls it then), a view (`K.view`).
    The gradient gets that dim back."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        raise NotImplementedYet("ex05", "Squeeze.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Squeeze.backward")


class Index(Function):
    """Basic indexing a[key]: `key` is already normalized by the framework — a tuple of non-negative
    ints, slices with a positive step and None, no Ellipsis — and `K.basic_index(a, key)` is its view.

    backward: every selected element gets its gradient back at the position it came from; every other
    element gets 0. Make zeros of a's shape (`K.zeros(shape, grad.dtype, grad.device)`), take the same
    view of them (`K.basic_index(zeros, key)`) and write grad into that view (`K.copy_into(view, grad)`).
    """

    @staticmethod
    def forward(ctx: Context, a: Tensor, key: tuple[Any, ...]) -> Tensor:
        raise NotImplementedYet("ex05", "Index.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedYet("ex05", "Index.backward")


def _cat_shape_and_dtype(dim: int, tensors: tuple[Tensor, ...]) -> tuple[Shape, Any]:
    """Given, ready-made (bookkeeping, not autograd): the shape and dtype of the concatenation, with
    torch's checks. All sizes must agree except along `dim`; the dtype is promoted as torch.cat does."""
    first = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], start=1):
        other = tuple(t.shape)
        if len(other) != len(first) or any(x != y for d, (x, y) in enumerate(zip(first, other)) if d != dim):
            raise ShapeError(
                f"cat: sizes of tensors must match except in dimension {dim}; got shapes {first} and {other} "
                f"(tensor number {i} in the list)"
            )
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = K.result_type(K.zeros((1,), dtype, t.device), t)
    size = sum(t.shape[dim] for t in tensors)
    return first[:dim] + (size,) + first[dim + 1:], dtype


class Cat(Function):
    """Concatenate `tensors` along `dim` (non-negative). Note the order of the arguments: dim first,
    then the tensors (`Cat.apply(dim, *tensors)`), so backward returns (None, grad_0, grad_1, ...).

    forward: `shape, dtype = _cat_shape_and_dtype(dim, tensors)`, `out = K.zeros(shape, dtype, device)`,
    then copy each tensor into its slice `K.narrow(out, dim, start, size)` with `K.copy_into`.
    backward: tensor i gets the slice of grad where it was written (`K.narrow` of grad, same starts).
    """

    @staticmethod
    def forward(ctx: Context, dim: int, *tensors: Tensor) -> Tensor:
        raise NotImplementedYet("ex05", "Cat.forward")

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Any, ...]:
        raise NotImplementedYet("ex05", "Cat.backward")
