"""`Parameter`: a tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

from ..creation import tensor, zeros
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and that `Module.__setattr__` registers.

    `Parameter(t)` shares t's storage (no copy), as in torch.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = zeros(0)
        elif not isinstance(data, Tensor):
            data = tensor(data)
        self._init(data._data, None, False)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(tensor(self.detach().to_numpy(), dtype=self.dtype, device=self.device), self.requires_grad)
        if self.grad is not None:
            copy.grad = tensor(self.grad.to_numpy(), dtype=self.grad.dtype, device=self.grad.device)
        memo[id(self)] = copy
        return copy
