"""`Function`: a differentiable operation on tensors, recorded on the graph when it runs.

    class Square(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x                  # runs without recording (as in torch)
        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad           # one gradient per input of forward (None for non-tensors)

    y = Square.apply(x)

`apply` runs forward with recording off, then (when an input requires grad and grad mode is on)
gives the result a history: the Function, its context and the inputs. The framework's own operations
(ex05) are Functions too; their forward calls the raw kernels in `minitorch_dg.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import autodiff
from . import kernels as K
from .autodiff import Context

if TYPE_CHECKING:
    from .tensor import Tensor


class TensorContext(Context):
    """A Context that remembers the version of every saved tensor, to detect in-place changes."""

    def __init__(self, needs_input_grad: tuple[bool, ...] = ()) -> None:
        # Context.__init__'s three fields, set here directly: one of these is made for every operation
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._freed = False
        self._versions: tuple[int, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        super().save_for_backward(*values)
        self._versions = tuple(_version_of(v) for v in values)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        values = self.saved_values
        for i, (value, version) in enumerate(zip(values, self._versions)):
            now = _version_of(value)
            if now != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} of shape {tuple(value.shape)} is at version {now}; expected "
                    f"version {version} instead. Change it out of place (x = x + 1, not x += 1), or clone it "
                    "before the in-place change."
                )
        return values


def _version_of(value: Any) -> int:
    data = getattr(value, "_data", None)
    return data.version.value if data is not None else -1


@dataclass
class History:
    """How a non-leaf tensor was made."""

    fn: type[Function]
    ctx: TensorContext
    inputs: tuple[Any, ...]  # the forward's arguments, tensors and others

    @property
    def name(self) -> str:
        return f"{self.fn.__name__}Backward"


class Function:
    """Base class of differentiable tensor functions: subclass it with static `forward` and `backward`."""

    @staticmethod
    def forward(ctx: TensorContext, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError(
            "a Function subclass must define `@staticmethod def forward(ctx, *inputs)` returning a Tensor"
        )

    @staticmethod
    def backward(ctx: TensorContext, grad_output: Tensor) -> Any:
        raise NotImplementedError(
            "a Function subclass must define `@staticmethod def backward(ctx, grad_output)` returning one "
            "gradient per input of forward"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        tensor = K.tensor_class  # Tensor (tensor.py hands it down: it imports this module, not the other way)
        needs = tuple([isinstance(a, tensor) and a.requires_grad for a in args])
        ctx = TensorContext(needs)
        previous = autodiff._grad_enabled
        autodiff._grad_enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            autodiff._grad_enabled = previous
        if not isinstance(out, tensor):
            raise TypeError(
                f"{_qualname(cls)}.forward returned {type(out).__name__}; it must return a Tensor"
            )
        if previous and True in needs and out._data.dtype.is_floating_point:
            return tensor._from_data(out._data, history=History(cls, ctx, args))
        if out.requires_grad or out._history is not None:
            return tensor._from_data(out._data)
        return out


def _qualname(cls: type) -> str:
    module = cls.__module__.split(".")[-1]
    prefix = module.split("_")[0] + " " if module.startswith("ex") else ""
    return f"{prefix}{cls.__name__}"
