"""A torch view over a numpy buffer, seen as the (storage, shape, strides) that a kernel receives.

`torch.from_numpy` shares the buffer, so torch computes the expected values from the very memory the
kernel reads; `storage` starts at the view's first element, as the framework hands storage over.
ex04's tests use `Strided`; ex06's `Operand` (strided_operands.py) builds on the same `TorchView`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


def run_in_worker(client: Any, program: Callable[..., Any], out: TorchView, *operands: TorchView,
                  before: Sequence[Any] = (), after: Sequence[Any] = ()) -> None:
    """Run a kernel program in the exercise's worker (grader/judge.py) and copy the storage it wrote back
    into `out`'s buffer, so that `out.view` and `out.base` read as if the kernel had run here.

    The program receives `*before`, then (storage, shape, strides) of `out` and of each operand, then
    `*after`, and returns out's storage (tests/support/kernel_programs.py)."""
    args: list[Any] = list(before)
    for operand in (out, *operands):
        args += [operand.storage, operand.shape, operand.strides]
    args += list(after)
    written = np.asarray(client.run_program(program, *args))
    storage = out.storage
    assert written.shape == storage.shape and written.dtype == storage.dtype, (
        f"the kernel's out storage came back as {written.dtype}{list(written.shape)}, not "
        f"{storage.dtype}{list(storage.shape)}")
    storage[...] = written
