"""`Tensor`: an n-dimensional array on a dynamic computation graph, with PyTorch's names and meaning.

Every differentiable method records one Function (ex05's, served by the course) and returns a new
tensor whose history points back at its inputs; `backward()` hands the graph to ex02's
`backpropagate`, which walks it through the Node protocol (`parents`, `chain_rule`, `accumulate_grad`).

Where a method's work is done: imports in the framework's core point down only (docs/design.md draws
the layers), and this module sits above everything its methods need. Every method is written in the
class below; what it calls lies in a module under this one, imported at the top of this file and named
where it is called:

    _ex05.Add, ...     ex05's Functions (served by the course); K: the raw kernels, no graph (kernels.py)
    tensor_functions   the framework's own Functions: casts, abs, clamp, where, gathers, var, ...
    host_ops           sin, cos, cumsum, sort, ... computed with numpy on the host
    softmax_ops        softmax, log_softmax, logsumexp (ex08's maths; nn.functional re-exports them)
    creation           tensor(), ones_like, rand, ...
    indexing           the keys of x[...]
    printing           repr(x)

None of those modules imports this one: the class is handed down to them once, at the end of this file
(`K.register_tensor_class(Tensor)`), and they recognise tensors with `K.is_tensor(x)`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from numbers import Number
from typing import Any, NamedTuple

import numpy as np

from . import course
from . import kernels as K
from .autodiff import is_grad_enabled, next_node_id, no_grad
from .dtypes import DType, bool_, float32, float64, int64, promote_with_scalar, resolve
from .errors import ShapeError
from .function import History
from .tensor_data import TensorData, prod, shape_args

# what the methods call, all of it below this module (see the docstring)
from . import creation, host_ops, indexing, printing, softmax_ops, tensor_functions

_ex02 = course.ExerciseProxy("ex02")
_ex05 = course.ExerciseProxy("ex05")
_next_id = next_node_id  # a module global: one lookup fewer for every tensor made

_retain_graph = False


@contextlib.contextmanager
def _retaining(flag: bool) -> Iterator[None]:
    global _retain_graph
    previous = _retain_graph
    _retain_graph = flag
    try:
        yield
    finally:
        _retain_graph = previous


# The 0-d tensors that Python numbers in arithmetic become (`x * 0.9`), kept per (type, value, dtype, device):
# an optimizer step multiplies by the same few constants thousands of times. They never reach user code
# except as saved inputs of a backward, and nothing writes into them.
_SCALARS: dict[tuple[Any, ...], Tensor] = {}
_SCALARS_KEPT = 256
_BINARY_PYTHON: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
}


def _scaled(fresh: Tensor, value: Any) -> Tensor:
    """fresh · value, where `fresh` is a temporary that nobody else holds: scaled in place when that keeps
    its dtype (one kernel and no new tensor), else out of place (an integer temporary and a float value)."""
    if isinstance(value, (int, float)) and value == 1:
        return fresh
    if fresh.dtype.is_floating_point and _is_number(value):
        return fresh.mul_(value)  # mul_ checks itself whether it can write in place
    return fresh * value


class Size(tuple):  # type: ignore[type-arg]
    """A shape: a tuple of ints that prints like torch.Size."""

    def numel(self) -> int:
        return prod(tuple(self))

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class MaxResult(NamedTuple):
    values: Tensor
    indices: Tensor


def _is_number(value: Any) -> bool:
    return isinstance(value, (Number, np.number)) and not isinstance(value, complex)


class Tensor:
    """An n-dimensional array that can record the operations applied to it."""

    __slots__ = ("_data", "_history", "requires_grad", "grad", "node_id", "_retains_grad", "name", "__weakref__",
                 "_post_accumulate_grad_hooks")  # set only by register_post_accumulate_grad_hook

    def __init__(self, data: Any = None, *, dtype: Any = None, device: str | None = None,
                 requires_grad: bool = False) -> None:
        source = creation.tensor([] if data is None else data, dtype=dtype, device=device)
        self._init(source._data, None, False)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, data: TensorData, history: History | None, requires_grad: bool) -> None:
        self._data = data
        self._history = history
        self.requires_grad = requires_grad or history is not None
        self.grad: Tensor | None = None
        self.node_id = _next_id()
        self._retains_grad = False
        self.name: str | None = None

    @classmethod
    def _from_data(cls, data: TensorData, history: History | None = None, requires_grad: bool = False) -> Tensor:
        t = cls.__new__(cls)
        t._init(data, history, requires_grad)
        return t

    # ------------------------------------------------------------------------------------------------
    # Facts
    # ------------------------------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        return self._data.shape[K.normalize_dim(dim, self.dim())]

    def dim(self) -> int:
        return len(self._data.shape)

    @property
    def ndim(self) -> int:
        return self.dim()

    def numel(self) -> int:
        return self._data.size

    def stride(self, dim: int | None = None) -> Any:
        if dim is None:
            return tuple(self._data.strides)
        return self._data.strides[K.normalize_dim(dim, self.dim())]

    @property
    def dtype(self) -> DType:
        return self._data.dtype

    @property
    def device(self) -> str:
        return self._data.device

    @property
    def is_leaf(self) -> bool:
        """True for tensors you made (and results of operations that record nothing)."""
        return self._history is None

    @property
    def grad_fn(self) -> History | None:
        """How this tensor was made (None for a leaf); `.grad_fn.name` is e.g. 'MulBackward'."""
        return self._history

    def is_contiguous(self) -> bool:
        return self._data.is_contiguous()

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def _version(self) -> int:
        return self._data.version.value

    # ------------------------------------------------------------------------------------------------
    # The Node protocol (used by ex02's topological_sort and backpropagate)
    # ------------------------------------------------------------------------------------------------

    @property
    def parents(self) -> tuple[Tensor, ...]:
        if self._history is None:
            return ()
        return tuple(x for x in self._history.inputs if isinstance(x, Tensor) and x.requires_grad)

    def chain_rule(self, d_output: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Run the backward of the Function that made this tensor; check and return (input, gradient) pairs."""
        history = self._history
        if history is None:
            return []
        if self._retains_grad:
            self.accumulate_grad(d_output)
        raw = history.fn.backward(history.ctx, d_output)
        grads = raw if isinstance(raw, tuple) else (raw,)
        if len(grads) != len(history.inputs):
            raise TypeError(
                f"{_fn_label(history.fn)}.backward returned {len(grads)} gradient(s) for {len(history.inputs)} "
                "input(s) of forward; return one per input, in order (None for inputs that are not tensors)"
            )
        pairs = []
        for i, (inp, g) in enumerate(zip(history.inputs, grads)):
            if not (isinstance(inp, Tensor) and inp.requires_grad) or g is None:
                continue
            pairs.append((inp, _checked_grad(history.fn, i, inp, g)))
        if not _retain_graph:
            history.ctx.free()
        return pairs

    def accumulate_grad(self, d: Tensor) -> None:
        """Add d into `.grad` (a fresh tensor the first time, as torch)."""
        with no_grad():
            if self.grad is None:
                self.grad = K.contiguous(d) if d.dtype is self.dtype else K.cast(d, self.dtype)
            else:
                self.grad = self.grad + d
        hooks = getattr(self, "_post_accumulate_grad_hooks", None)
        if hooks:
            for hook in list(hooks.values()):
                hook(self)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call `hook(self)` each time backward has accumulated this leaf's gradient into `.grad`.

        ex02's backpropagate accumulates into a leaf once per backward, after every path into it is
        summed, so the hook sees the leaf's final gradient of that backward (DDP starts averaging there).
        Returns a handle whose `remove()` unregisters the hook.
        """
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = getattr(self, "_post_accumulate_grad_hooks", None)
        if hooks is None:
            hooks = self._post_accumulate_grad_hooks = {}
        return RemovableHandle(hooks, hook)

    # ------------------------------------------------------------------------------------------------
    # Autograd API
    # ------------------------------------------------------------------------------------------------

    def backward(self, gradient: Tensor | None = None, retain_graph: bool = False) -> None:
        """Fill the `.grad` of every leaf this tensor depends on (ex02's backpropagate)."""
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: nothing to differentiate. "
                "Did you create the inputs with requires_grad=True, and compute outside mt.no_grad()?"
            )
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, and this tensor has shape "
                    f"{tuple(self.shape)}. Reduce it first (loss = y.sum()) or pass a gradient: "
                    "y.backward(mt.ones_like(y))"
                )
            gradient = creation.ones_like(self)
        elif not isinstance(gradient, Tensor):
            gradient = creation.tensor(gradient, dtype=self.dtype, device=self.device)
        if tuple(gradient.shape) != tuple(self.shape):
            raise ShapeError(
                f"Mismatch in shape: the gradient has shape {tuple(gradient.shape)} and the output has shape "
                f"{tuple(self.shape)}"
            )
        if gradient.device != self.device:
            raise RuntimeError(
                f"invalid gradient: expected device {self.device} but got {gradient.device}; make the gradient on "
                f"the output's device (device={self.device!r}) or move it with .to({self.device!r})"
            )
        with no_grad(), _retaining(retain_graph):
            _ex02.backpropagate(self, gradient)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, and this one is {self.dtype.name}; "
                "convert it with .float() first"
            )
        if not requires_grad and not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep `.grad` for this non-leaf tensor too after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        if not self.is_leaf:
            self._retains_grad = True
        return self

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Tensor:
        """The same data (shared, no copy) off the graph."""
        return Tensor._from_data(self._data)

    def detach_(self) -> Tensor:
        self._history = None
        self.requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """A detached tensor sharing this tensor's storage (assigning to it replaces the storage)."""
        return Tensor._from_data(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"assigned data must be a Tensor, not {type(value).__name__}")
        self._data = value._data

    def zero_grad_(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------------------------------------
    # Conversion
    # ------------------------------------------------------------------------------------------------

    def item(self) -> Any:
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to a Python number")
        value = K.host_array(self).reshape(-1)[0]
        return value.item()

    def numpy(self) -> np.ndarray:
        """The values as a numpy array sharing memory on the CPU (torch refuses this for tensors that require grad)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device != "cpu":
            raise TypeError(f"can't convert {self.device} tensor to numpy. Use .cpu() to copy it to the host first.")
        return K.host_array(self)

    def to_numpy(self) -> np.ndarray:
        """A copy of the values as a numpy array, whatever the device and grad state (used by tests)."""
        return np.array(K.host_array(self))

    def tolist(self) -> Any:
        return self.to_numpy().tolist()

    def to(self, *args: Any, dtype: Any = None, device: str | None = None, copy: bool = False) -> Tensor:
        """`.to(dtype)`, `.to(device)`, `.to(other_tensor)` or both keywords; differentiable."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda"):
                device = arg
            else:
                dtype = arg
        result = self
        if device is not None:
            device = K.device_name(device)
            if device != result.device:
                result = tensor_functions.ToDevice.apply(result, device)
        if dtype is not None:
            target = resolve(dtype)
            if target is not result.dtype:
                result = tensor_functions.Cast.apply(result, target)
        if copy and result is self:
            result = self.clone()
        return result

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    # ------------------------------------------------------------------------------------------------
    # Arithmetic (recorded through ex05)
    # ------------------------------------------------------------------------------------------------

    def _other(self, value: Any) -> Tensor:
        """A Python number as a 0-d tensor of the dtype torch's promotion gives, on this tensor's device."""
        if isinstance(value, Tensor):
            return value
        if _is_number(value):
            number = value.item() if isinstance(value, np.generic) else value
            key = (number.__class__, number, self._data.dtype, self._data.device)
            found = _SCALARS.get(key) if number == number and number != 0 else None
            if found is None:
                found = creation.tensor(number, dtype=promote_with_scalar(self.dtype, number), device=self.device)
                if number == number and number != 0:  # nan never equals a key; 0.0 and -0.0 would share one
                    if len(_SCALARS) >= _SCALARS_KEPT:
                        _SCALARS.clear()
                    _SCALARS[key] = found
            return found
        if isinstance(value, (list, tuple, np.ndarray)):
            return creation.tensor(value, device=self.device)
        raise TypeError(f"unsupported operand type for a Tensor: {type(value).__name__}")

    def __add__(self, other: Any) -> Tensor:
        return _ex05.Add.apply(self, self._other(other))

    def __radd__(self, other: Any) -> Tensor:
        return _ex05.Add.apply(self._other(other), self)

    def __sub__(self, other: Any) -> Tensor:
        other = self._other(other)
        _no_bool("Subtraction, the `-` operator,", self, other)
        return _ex05.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        other = self._other(other)
        _no_bool("Subtraction, the `-` operator,", self, other)
        return _ex05.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ex05.Mul.apply(self, self._other(other))

    def __rmul__(self, other: Any) -> Tensor:
        return _ex05.Mul.apply(self._other(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ex05.Div.apply(self, self._other(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        if _is_number(other):  # torch computes number / x as x.reciprocal() * number (0 / 1e-310 is nan there)
            return self.reciprocal() * other
        return _ex05.Div.apply(self._other(other), self)

    def __neg__(self) -> Tensor:
        _no_bool("Negation, the `-` operator,", self)
        return _ex05.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):
            if exponent.numel() == 1 and not exponent.requires_grad:
                exponent = exponent.item()
            else:
                raise TypeError("minitorch-dg supports powers with a scalar exponent only: x ** 2, x ** 0.5")
        if not _is_number(exponent):
            raise TypeError(f"unsupported exponent type {type(exponent).__name__}")
        exponent = exponent.item() if isinstance(exponent, np.generic) else exponent
        dtype = promote_with_scalar(self.dtype, exponent)
        if dtype is bool_ and not isinstance(exponent, bool):
            dtype = int64
        if not dtype.is_floating_point and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        base = self if dtype is self.dtype else self.to(dtype)
        if exponent in (0.5, -0.5):  # torch computes these as sqrt / rsqrt: (-inf) ** 0.5 is nan, not inf
            root = base.sqrt()
            return root if exponent > 0 else root.reciprocal()
        return _ex05.Pow.apply(base, float(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        if not _is_number(base):
            raise TypeError(f"unsupported base type {type(base).__name__} for base ** tensor")
        return tensor_functions.rpow(self, base.item() if isinstance(base, np.generic) else base)

    def __matmul__(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return matmul(self._other(other), self)

    def __abs__(self) -> Tensor:
        return self.abs()

    # in-place arithmetic: x += y
    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # comparisons: bool tensors, never recorded
    def _compare(self, op: str, other: Any) -> Tensor:
        return K.zip(op, self, self._other(other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare("ge", other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("eq", other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("ne", other)

    __hash__ = object.__hash__

    def eq(self, other: Any) -> Tensor:
        return self._compare("eq", other)

    def ne(self, other: Any) -> Tensor:
        return self._compare("ne", other)

    def lt(self, other: Any) -> Tensor:
        return self._compare("lt", other)

    def le(self, other: Any) -> Tensor:
        return self._compare("le", other)

    def gt(self, other: Any) -> Tensor:
        return self._compare("gt", other)

    def ge(self, other: Any) -> Tensor:
        return self._compare("ge", other)

    def logical_not(self) -> Tensor:
        return K.map("logical_not", self)

    def __invert__(self) -> Tensor:
        if self.dtype is not bool_:
            raise TypeError("~ is defined for bool tensors only")
        return self.logical_not()

    def __and__(self, other: Any) -> Tensor:
        return K.zip("mul", self, self._other(other)).bool()

    def __or__(self, other: Any) -> Tensor:
        return K.zip("maximum", self, self._other(other)).bool()

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {tuple(self.shape)}); "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype is not int64 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield self[i]

    # ------------------------------------------------------------------------------------------------
    # Element-wise functions
    # ------------------------------------------------------------------------------------------------

    def exp(self) -> Tensor:
        return _ex05.Exp.apply(self)

    def log(self) -> Tensor:
        return _ex05.Log.apply(self)

    def sigmoid(self) -> Tensor:
        return _ex05.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        if self.dtype is bool_:
            raise RuntimeError("Boolean inputs not supported for relu (as in torch); convert with .float() or .long()")
        return _ex05.ReLU.apply(self)

    def tanh(self) -> Tensor:
        return _ex05.Tanh.apply(self)

    def neg(self) -> Tensor:
        return -self

    def pow(self, exponent: Any) -> Tensor:
        return self.__pow__(exponent)

    def _scaled(self, other: Any, alpha: Any) -> Any:
        """alpha * other for add/sub(alpha=): between bool tensors alpha acts as a bool, as in torch."""
        if alpha == 1:
            return other
        other = self._other(other)
        if K.result_type(self, other) is bool_ and not isinstance(alpha, float):
            return other if alpha else other & False
        if not K.result_type(self, other).is_floating_point and isinstance(alpha, float):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
        return other * alpha

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return self + self._scaled(other, alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return self - self._scaled(other, alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def abs(self) -> Tensor:
        if self.dtype is bool_:
            raise NotImplementedError("abs is not implemented for bool tensors (torch: \"abs_cpu\" not implemented "
                                      "for 'Bool'); a bool is its own absolute value")
        return tensor_functions.Abs.apply(self)

    def sqrt(self) -> Tensor:
        return tensor_functions.Sqrt.apply(self)

    def square(self) -> Tensor:
        x = self.to(int64) if self.dtype is bool_ else self  # torch: bool squared is int64
        return x * x

    def reciprocal(self) -> Tensor:
        return tensor_functions.Reciprocal.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return tensor_functions.clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Tensor) -> Tensor:
        return tensor_functions.maximum(self, other, larger=True)

    def minimum(self, other: Tensor) -> Tensor:
        return tensor_functions.maximum(self, other, larger=False)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return tensor_functions.gather(self, dim, index)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return tensor_functions.index_select(self, dim, index)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return tensor_functions.masked_fill(self, mask, value)

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._inplace("masked_fill_", lambda: tensor_functions.masked_fill(self, mask, value), sources=(value,))

    def where(self, condition: Tensor, other: Any) -> Tensor:
        """x.where(cond, y) is torch.where(cond, x, y)."""
        return tensor_functions.where(condition, self, other)

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    # ------------------------------------------------------------------------------------------------
    # Reductions
    # ------------------------------------------------------------------------------------------------

    def _dims(self, dim: Any) -> tuple[int, ...]:
        """The dims a reduction folds: None and () mean all of them (as torch), an int or a tuple those."""
        if dim is None:
            return tuple(range(self.dim()))
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if not dims:
            return tuple(range(self.dim()))
        normalized = tuple(K.normalize_dim(d, self.dim()) for d in dims)
        if len(set(normalized)) != len(normalized):
            raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
        return normalized

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(resolve(dtype))
        if not source.dtype.is_floating_point and source.dtype is not int64:
            source = source.to(int64)  # sums of bools count (int64), as torch
        return _ex05.Sum.apply(source, source._dims(dim), keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        if dtype is not None:
            return self.to(resolve(dtype)).mean(dim, keepdim)
        if not self.dtype.is_floating_point:
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be floating point, got {self.dtype.name}; "
                "call .float() first"
            )
        return _ex05.Mean.apply(self, self._dims(dim), keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _ex05.Amax.apply(self, self._dims(dim), keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        if self.dtype is bool_:  # the smallest of bools: not the largest of their negations
            return self.logical_not().amax(dim, keepdim).logical_not()
        return -((-self).amax(dim, keepdim))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices), as torch."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return tensor_functions.Extreme.apply(self, True)
        d = K.normalize_dim(dim, self.dim())
        values = _ex05.Max.apply(self, d, keepdim)
        return MaxResult(values, K.argmax(self, d, keepdim))

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return tensor_functions.Extreme.apply(self, False)
        if self.dtype is bool_:
            flipped = self.logical_not().max(dim, keepdim)
            return MaxResult(flipped.values.logical_not(), flipped.indices)
        result = (-self).max(dim, keepdim)
        return MaxResult(-result.values, result.indices)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if self.dtype is bool_:
            raise RuntimeError("argmax(): does not support bool input (as torch); convert with .long() first")
        if dim is None:
            return K.argmax(self.detach().reshape(-1), 0)
        return K.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if self.dtype is bool_:
            raise RuntimeError("argmin(): does not support bool input (as torch); convert with .long() first")
        return (-self.detach()).argmax(dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(resolve(dtype))
        if not source.dtype.is_floating_point and source.dtype is not int64:
            source = source.to(int64)
        return tensor_functions.Prod.apply(source, source._dims(dim), keepdim)

    def var(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        """Σ (x - mean)² / (n - correction) over `dim` (correction 1 by default, 0 when unbiased=False);
        nan when n <= correction (one element, or none), as torch."""
        wide = self._wide_var(dim, unbiased, keepdim, correction)
        return wide if wide.dtype is self.dtype else wide.to(self.dtype)

    def std(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        """sqrt(var), taken before the result goes back to float32 (so std of 1e30s is finite, as torch's)."""
        wide = tensor_functions.StdFromVar.apply(self._wide_var(dim, unbiased, keepdim, correction))
        return wide if wide.dtype is self.dtype else wide.to(self.dtype)

    def _wide_var(self, dim: Any, unbiased: bool, keepdim: bool, correction: Any) -> Tensor:
        """var in the precision torch's CPU kernel accumulates in: float32 in float64 (x² of 1e20 overflows
        float32), float64 as it is. The caller casts back, after the sqrt for std."""
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"std and var only support floating point and complex dtypes, got {self.dtype.name}")
        dims = self._dims(dim)
        n = prod(tuple(self.shape[d] for d in dims)) if self.dim() else 1
        c = (1 if unbiased else 0) if correction is None else correction
        source = self.to(float64) if self.dtype is float32 and self.device == "cpu" else self
        return tensor_functions.Var.apply(source, dims, keepdim, float(n - c), dim is None or self.dim() == 0)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where every element along `dim` (all of them by default) is non-zero."""
        return (self == 0).to(int64).sum(dim, keepdim) == 0

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where some element along `dim` (any, by default) is non-zero."""
        return (self != 0).to(int64).sum(dim, keepdim) > 0

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return softmax_ops.logsumexp(self, dim, keepdim)

    def softmax(self, dim: int) -> Tensor:
        return softmax_ops.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return softmax_ops.log_softmax(self, dim)

    # ------------------------------------------------------------------------------------------------
    # Shapes and views
    # ------------------------------------------------------------------------------------------------

    def view(self, *shape: Any) -> Tensor:
        return _ex05.View.apply(self, _infer_shape(self, shape_args(shape)))

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(*other.shape)

    def reshape(self, *shape: Any) -> Tensor:
        target = _infer_shape(self, shape_args(shape))
        if self._data.view(target) is not None:
            return _ex05.View.apply(self, target)
        return _ex05.View.apply(self.contiguous(), target)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.dim() == 0:
            K.normalize_dim(start_dim, 0), K.normalize_dim(end_dim, 0)
            return self.reshape(1)
        s, e = K.normalize_dim(start_dim, self.dim()), K.normalize_dim(end_dim, self.dim())
        if s > e:
            raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
        shape = tuple(self.shape)
        return self.reshape(*shape[:s], prod(shape[s:e + 1]), *shape[e + 1:])

    def contiguous(self) -> Tensor:
        if self.is_contiguous():
            return self
        return tensor_functions.Contiguous.apply(self)

    def clone(self) -> Tensor:
        return tensor_functions.Contiguous.apply(self)

    def permute(self, *order: Any) -> Tensor:
        return _ex05.Permute.apply(self, tuple(int(d) for d in shape_args(order)))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        n = self.dim()
        d0, d1 = K.normalize_dim(dim0, n), K.normalize_dim(dim1, n)
        if n == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap
            return _ex05.View.apply(self, ())
        order = list(range(n))
        order[d0], order[d1] = order[d1], order[d0]
        return self.permute(*order)

    def t(self) -> Tensor:
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return self if self.dim() < 2 else self.transpose(0, 1)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.dim())))

    @property
    def mT(self) -> Tensor:
        if self.dim() == 0:
            return _ex05.View.apply(self, ())
        if self.dim() == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
        return self.transpose(-2, -1)

    def expand(self, *shape: Any) -> Tensor:
        return _ex05.Expand.apply(self, tuple(int(s) for s in shape_args(shape)))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other.shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape_args(shape))

    def unsqueeze(self, dim: int) -> Tensor:
        return _ex05.Unsqueeze.apply(self, K.normalize_dim(dim, self.dim() + 1))

    def squeeze(self, dim: Any = None) -> Tensor:
        """Remove size-1 dims: all of them, one (an int) or those of a tuple that have size 1."""
        if dim is None:
            dims = tuple(range(self.dim()))
        else:
            dims = self._dims(dim) if not isinstance(dim, (int, np.integer)) else (K.normalize_dim(dim, self.dim()),)
        if self.dim() == 0:
            return _ex05.View.apply(self, ())
        result = self
        for d in sorted(dims, reverse=True):
            if self.shape[d] == 1:
                result = _ex05.Squeeze.apply(result, d)
        return result if result is not self else _ex05.View.apply(self, tuple(self.shape))

    def repeat(self, *sizes: Any) -> Tensor:
        sizes = tuple(shape_args(sizes))
        if len(sizes) < self.dim():
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
        x = self.reshape(*((1,) * (len(sizes) - self.dim()) + tuple(self.shape)))
        shape = tuple(x.shape)
        inter = []
        for r, s in zip(sizes, shape):
            inter += [r, s]
        expanded = x.reshape(*[v for s in shape for v in (1, s)]).expand(*inter)
        return expanded.reshape(*[r * s for r, s in zip(sizes, shape)])

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        """`chunks` pieces of ceil(n / chunks) along dim (fewer when they run out; an empty dim gives
        `chunks` empty pieces, as torch)."""
        if self.dim() == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        d = K.normalize_dim(dim, self.dim())
        n = self.shape[d]
        if n == 0:
            return [self.narrow(d, 0, 0) for _ in range(chunks)]
        return self.split(-(-n // chunks), d)

    def split(self, size: Any, dim: int = 0) -> list[Tensor]:
        """Pieces of `size` along dim (the last one shorter), or of the sizes in a list (summing to the dim)."""
        if self.dim() == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        d = K.normalize_dim(dim, self.dim())
        n = self.shape[d]
        if isinstance(size, (int, np.integer)):
            if size < 0 or (size == 0 and n != 0):
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
                                   if size == 0 else f"split expects split_size be non-negative, but got split_size={size}")
            sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
            sizes = sizes or [0]
        else:
            sizes = [int(s) for s in size]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                                   f"dimension {d}), but got split_sizes={sizes}")
        out, start = [], 0
        for length in sizes:
            out.append(self.narrow(d, start, length))
            start += length
        return out

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """Elements [start, start + length) along dim (a view); a negative start counts from the end."""
        if self.dim() == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        d = K.normalize_dim(dim, self.dim())
        size = self.shape[d]
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        start = start + size if start < 0 else start
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        key: list[Any] = [slice(None)] * d + [slice(start, start + length)]
        return self[tuple(key)]

    def unbind(self, dim: int = 0) -> list[Tensor]:
        d = K.normalize_dim(dim, self.dim())
        return [self.select(d, i) for i in range(self.shape[d])]

    def select(self, dim: int, index: int) -> Tensor:
        d = K.normalize_dim(dim, self.dim())
        return self[tuple([slice(None)] * d + [index])]

    # ------------------------------------------------------------------------------------------------
    # Indexing
    # ------------------------------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Tensor:
        norm = indexing.normalize_key(self, key)
        if indexing.is_basic(norm):
            return _ex05.Index.apply(self, norm)
        return tensor_functions.AdvancedIndex.apply(self, norm)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace("item assignment", value)
        norm = indexing.normalize_key(self, key)
        src = self._other(value) if not isinstance(value, Tensor) else value
        if isinstance(value, Tensor) and value.dtype is not self.dtype and not indexing.is_basic(norm) \
                and not indexing.fills_through_mask(norm, value.numel()):
            raise RuntimeError(
                f"Index put requires the source and destination dtypes match, got {_torch_name(self.dtype)} for "
                f"the destination and {_torch_name(value.dtype)} for the source. (As in torch: convert the value "
                "with .to(x.dtype))"
            )
        src = src.to(self.dtype).detach()
        if indexing.is_basic(norm):
            target = Tensor._from_data(self._data.basic_index(norm))
            K.copy_into(target, _drop_leading_ones(src, target.dim()))
        else:
            indexing.advanced_assign(self, norm, _drop_leading_ones(src, len(indexing.selected_shape(self, norm))))
        self._data.version.value += 1

    # ------------------------------------------------------------------------------------------------
    # In-place operations (for parameters under no_grad, and buffers)
    # ------------------------------------------------------------------------------------------------

    def _check_inplace(self, what: str, *sources: Any) -> None:
        """Refuse in-place changes that autograd would have to follow: of a tensor that requires grad, or
        writing a value that requires grad (torch would put the target into the graph)."""
        if not sources and not self.requires_grad:  # an optimizer's update of its state or of a parameter
            return
        if is_grad_enabled() and not self.requires_grad and any(isinstance(s, Tensor) and s.requires_grad
                                                                for s in sources):
            raise RuntimeError(
                f"{what} of a value that requires grad into a tensor that does not is deliberately not supported "
                "by minitorch-dg (torch would make the target part of the graph; see docs/torch_differences.md); "
                "build the result out of place (mt.where, mt.cat, masked_fill) or detach the value"
            )
        if self.requires_grad and is_grad_enabled():
            if self.is_leaf:
                raise RuntimeError(
                    f"a leaf Variable that requires grad is being used in an in-place operation ({what}). "
                    "Wrap parameter updates in `with mt.no_grad():`."
                )
            raise RuntimeError(
                f"in-place operations ({what}) on tensors that are part of a graph are deliberately not supported "
                "by minitorch-dg (see docs/torch_differences.md); write it out of place (x = x + y) or detach first"
            )

    def _inplace(self, what: str, compute: Callable[[], Tensor], converts: bool = False,
                 sources: tuple[Any, ...] = ()) -> Tensor:
        """Check that an in-place change is allowed, compute the new values off the graph, write them in."""
        self._check_inplace(what, *sources)
        with no_grad():
            result = compute()
            if not converts and _category(result.dtype) > _category(self.dtype):
                raise RuntimeError(
                    f"result type {_torch_name(result.dtype)} can't be cast to the desired output type "
                    f"{_torch_name(self.dtype)}: {what} would lose the fraction; convert first (x = x.float())"
                )
            K.copy_into(self, result.detach().to(self.dtype))
        self._data.version.value += 1
        return self

    def _zip_into(self, what: str, op: str, operand: Callable[[], Tensor]) -> Tensor:
        """self = op(self, operand()) in place. When the result has self's dtype and shape and the operand does
        not overlap self's memory, the kernel writes straight into self (one kernel, no temporary: an
        optimizer step is made of these); otherwise as `_inplace`, through a temporary."""
        self._check_inplace(what)
        with no_grad():
            other = operand()
            if K.can_write_into(op, self, other):
                K.zip_into(op, self, other)
                self._data.version.value += 1
                return self
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
        return self._inplace(what, lambda: _BINARY_PYTHON[symbol](self, other))

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        other = self._other(other)
        return self._zip_into("add_", "add", lambda: other * alpha if alpha != 1 else other)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        other = self._other(other)
        _no_bool("Subtraction, the `-` operator,", self, other)
        return self._zip_into("sub_", "sub", lambda: other * alpha if alpha != 1 else other)

    def mul_(self, other: Any) -> Tensor:
        return self._zip_into("mul_", "mul", lambda: self._other(other))

    def div_(self, other: Any) -> Tensor:
        return self._zip_into("div_", "div", lambda: self._other(other))

    def addcmul_(self, t1: Tensor, t2: Tensor, value: float = 1.0) -> Tensor:
        return self._zip_into("addcmul_", "add", lambda: _scaled(t1 * t2, value))

    def addcdiv_(self, t1: Tensor, t2: Tensor, value: float = 1.0) -> Tensor:
        return self._zip_into("addcdiv_", "add", lambda: _scaled(t1 / t2, value))

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda: self.clamp(min, max))

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", lambda: self._other(src), converts=True, sources=(src,))

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", lambda: self._other(value), converts=True, sources=(value,))

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        return self._inplace("uniform_", lambda: creation.rand(*self.shape, dtype=self.dtype, device=self.device) * (b - a) + a)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        return self._inplace("normal_", lambda: creation.randn(*self.shape, dtype=self.dtype, device=self.device) * std + mean)

    # ------------------------------------------------------------------------------------------------
    # More of torch's functions, computed on the host with numpy (host_ops.py)
    # ------------------------------------------------------------------------------------------------

    sin = host_ops.sin
    cos = host_ops.cos
    log1p = host_ops.log1p
    expm1 = host_ops.expm1
    floor = host_ops.floor
    round = host_ops.round
    sign = host_ops.sign
    isnan = host_ops.isnan
    isinf = host_ops.isinf
    isfinite = host_ops.isfinite
    nan_to_num = host_ops.nan_to_num
    cumsum = host_ops.cumsum
    flip = host_ops.flip_method
    sort = host_ops.sort
    topk = host_ops.topk
    movedim = host_ops.movedim
    floor_divide = host_ops.floor_divide
    remainder = host_ops.remainder
    __floordiv__ = host_ops.floor_divide
    __mod__ = host_ops.remainder

    def __rfloordiv__(self, other: Any) -> Tensor:
        return host_ops.floor_divide(self._other(other), self)

    def __rmod__(self, other: Any) -> Tensor:
        return host_ops.rremainder(self, other)

    # ------------------------------------------------------------------------------------------------
    # Printing
    # ------------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return printing.tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self.numel() == 1 and spec:
            return format(self.item(), spec)
        return repr(self)


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


class RemovableHandle:
    """What registering a hook returns: `handle.remove()` unregisters it (as torch's RemovableHandle)."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Any], hook: Callable[..., Any]) -> None:
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)



def _no_bool(what: str, *tensors: Tensor) -> None:
    """torch refuses - on bool tensors: say so in its words, with what to use instead."""
    if any(t.dtype is bool_ for t in tensors):
        raise RuntimeError(f"{what} on a bool tensor is not supported. If you are trying to invert a mask, use the "
                           "`~` or `logical_not()` operator instead.")


def _category(dtype: DType) -> int:
    return 2 if dtype.is_floating_point else (1 if dtype is int64 else 0)


def _torch_name(dtype: DType) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}[dtype.name]


def _drop_leading_ones(src: Tensor, ndim: int) -> Tensor:
    """Assigned values may have extra leading dims of size 1 (torch drops them: x[...] = ones(1, 2, 2))."""
    while src.dim() > ndim and src.shape[0] == 1:
        src = src.reshape(*src.shape[1:])
    return src


def _fn_label(fn: type) -> str:
    module = fn.__module__.split(".")[-1]
    return (module.split("_")[0] + " " if module.startswith("ex") else "") + fn.__name__


def _checked_grad(fn: type, i: int, inp: Tensor, g: Any) -> Tensor:
    """g as the gradient of input i of `fn`'s forward: a tensor of inp's shape, device and dtype (cast to it),
    or a clear error that names fn.backward (the label is made only then: this runs for every gradient)."""
    if isinstance(g, Tensor):
        gd, d = g._data, inp._data
        if gd.shape == d.shape and gd.device == d.device:
            return g if gd.dtype is d.dtype else K.cast(g, d.dtype)
    who = f"{_fn_label(fn)}.backward"
    if not isinstance(g, Tensor):
        raise TypeError(f"{who} returned {type(g).__name__} as the gradient of input {i}; return a Tensor (or None)")
    if tuple(g.shape) != tuple(inp.shape):
        hint = ""
        try:
            K.ex03.shape_broadcast(tuple(inp.shape), tuple(g.shape))
            hint = " — it was broadcast in forward: sum it back to the input's shape with unbroadcast(grad, shape)"
        except ShapeError:
            pass
        raise ShapeError(
            f"{who} returned a gradient of shape {tuple(g.shape)} for input {i}, which has shape "
            f"{tuple(inp.shape)}{hint}"
        )
    if g.device != inp.device:
        raise RuntimeError(f"{who} returned a gradient on {g.device} for input {i}, which is on {inp.device}")
    if g.dtype is not inp.dtype:
        g = K.cast(g, inp.dtype)
    return g


def _infer_shape(t: Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one -1 in `shape` and check the element count, with torch's error messages."""
    numel = t.numel()
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred (-1)")
    if -1 in shape:
        known = prod(tuple(s for s in shape if s != -1))
        if known == 0 or numel % known:
            raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if any(s < 0 for s in shape) or prod(shape) != numel:
        raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """torch.matmul's rules: 1-D operands become a row (left) or a column (right) and the extra dim is dropped."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul expects two tensors")
    if a.dim() == 0 or b.dim() == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.dim()}D and {b.dim()}D")
    left = a.unsqueeze(0) if a.dim() == 1 else a
    right = b.unsqueeze(-1) if b.dim() == 1 else b
    if left.shape[-1] != right.shape[-2]:
        raise ShapeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied (inner sizes "
            f"{left.shape[-1]} and {right.shape[-2]} differ)"
        )
    out = _ex05.MatMul.apply(left, right)
    if b.dim() == 1:
        out = out.squeeze(-1)
    if a.dim() == 1:
        out = out.squeeze(-2 if b.dim() > 1 else -1)
    return out


# The modules below this one make and recognise tensors through kernels.py (K.tensor_class, K.is_tensor):
# hand them the class, once. Nothing else of this module is reached from below.
K.register_tensor_class(Tensor)
