"""A torch view over a numpy buffer, seen as the (storage, shape, strides) that a kernel receives.

`torch.from_numpy` shares the buffer, so torch computes the expected values from the very memory the
kernel reads; `storage` starts at the view's first element, as the framework hands storage over.
ex04's tests use `Strided`; ex06's `Operand` (strided_operands.py) builds on the same `TorchView`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

Shape = tuple[int, ...]


class TorchView:
    """What a kernel sees of `view`, a torch tensor over the numpy buffer `base` (attributes of subclasses)."""

    view: torch.Tensor
    base: np.ndarray

    @property
    def storage(self) -> np.ndarray:
        return self.base.reshape(-1)[self.view.storage_offset():]

    @property
    def shape(self) -> Shape:
        return tuple(self.view.shape)

    @property
    def strides(self) -> Shape:
        return tuple(self.view.stride())


@dataclass
class Strided(TorchView):
    """A labelled torch view over `base`, for ex04's Python kernels (shape and strides as tuples)."""

    kind: str
    view: torch.Tensor
    base: np.ndarray

    def __repr__(self) -> str:
        return f"<{self.kind} shape={self.shape} strides={self.strides}>"
