"""A torch view over a numpy buffer, seen as the (storage, shape, strides) that a ex04 kernel receives.

`torch.from_numpy` shares the buffer, so torch computes the expected values from the very memory the
kernel reads; `storage` starts at the view's first element, as the framework hands storage over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

Shape = tuple[int, ...]


@dataclass
class Strided:
    """A torch view over the numpy buffer `base`; `storage` starts at the view's first element."""

    kind: str
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

    def __repr__(self) -> str:
        return f"<{self.kind} shape={self.shape} strides={self.strides}>"
