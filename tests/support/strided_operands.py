"""Operands for kernel tests: a torch view over a numpy buffer, and the arrays a Numba kernel receives for it.

    x = operand(values, "float32", "permuted")     # the values, stored transposed
    y = x.expand((4, 3, 5))                        # broadcast: stride 0 on the new / stretched dims
    out = output((4, 3, 5), "float32", "stepped")  # a view with gaps, the rest of its buffer poisoned
    kernel(out.storage, out.shape_arg, out.strides_arg, y.storage, y.strides_arg)
    out.values()                                   # what the kernel wrote, as a numpy array
    out.assert_untouched()                         # and nothing outside the view changed

`torch.from_numpy` shares the buffer, so `x.view` is the same memory the kernel reads: the expected values
come from torch applied to that very view. Kinds: "contiguous" (with spare elements after the view),
"permuted" (stored with the dims reversed), "stepped" (every other element of the last dim, starting one
element into the buffer, so that the storage handed over is a slice that starts later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tests.support.strided_views import Shape, TorchView

NP = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}
KINDS = ("contiguous", "permuted", "stepped")


def poison(dtype: str) -> object:
    return {"float32": np.nan, "float64": np.nan, "int64": -7777, "bool": True}[dtype]


@dataclass
class Operand(TorchView):
    view: torch.Tensor
    base: np.ndarray
    kind: str
    dtype: str
    pristine: np.ndarray | None = None  # a copy of the buffer outside the view, for outputs

    @property
    def shape_arg(self) -> np.ndarray:
        return np.array(self.view.shape, dtype=np.int64)

    @property
    def strides_arg(self) -> np.ndarray:
        return np.array(self.view.stride(), dtype=np.int64)

    def expand(self, shape: Shape) -> Operand:
        """The same memory read as `shape` (torch's expand: stride 0 where it is broadcast)."""
        lead = len(shape) - self.view.dim()
        view = self.view.reshape((1,) * lead + self.shape) if lead else self.view
        return Operand(view.expand(shape), self.base, f"{self.kind}, expanded", self.dtype)

    def values(self) -> np.ndarray:
        return self.view.numpy().copy() if self.view.dim() else np.array(self.view.item(), dtype=NP[self.dtype])

    def outside(self) -> np.ndarray:
        mask = np.ones(self.base.size, dtype=bool)
        flat_positions = np.zeros(self.shape, dtype=np.int64) + self.view.storage_offset()
        for d, (size, stride) in enumerate(zip(self.shape, self.view.stride())):
            index_shape = [1] * len(self.shape)
            index_shape[d] = size
            flat_positions = flat_positions + np.arange(size).reshape(index_shape) * stride
        mask[flat_positions.reshape(-1)] = False
        return self.base.reshape(-1)[mask]

    def assert_untouched(self) -> None:
        """Nothing in the output's buffer outside its view may change (writes land inside the view)."""
        if self.pristine is None or self.dtype == "bool":
            return
        now = self.outside()
        same = (now == self.pristine) | (np.isnan(now) & np.isnan(self.pristine)) if now.dtype.kind == "f" \
            else now == self.pristine
        assert same.all(), (f"the kernel wrote outside its output view ({self.kind}, shape {self.shape}, strides "
                            f"{tuple(self.view.stride())}): buffer elements that are not part of the view changed")

    def __repr__(self) -> str:
        return f"<{self.kind} {self.dtype} shape={self.shape} strides={tuple(self.view.stride())}>"


def operand(values: np.ndarray, dtype: str, kind: str = "contiguous") -> Operand:
    """An input holding `values` (cast to dtype), laid out as `kind`."""
    values = np.asarray(values).astype(NP[dtype])
    shape = values.shape
    if kind == "contiguous" or values.ndim == 0:
        base = np.concatenate([values.reshape(-1), np.zeros(3, dtype=values.dtype)])
        view = torch.from_numpy(base)[: values.size].reshape(shape)
    elif kind == "permuted":
        order = tuple(reversed(range(values.ndim)))
        base = np.ascontiguousarray(values.transpose(order))
        view = torch.from_numpy(base).permute(order)
    elif kind == "stepped":
        padded = np.zeros(shape[:-1] + (2 * shape[-1] + 1,), dtype=values.dtype)
        padded[..., 1::2] = values
        base = padded
        view = torch.from_numpy(base)[..., 1::2]
    else:
        raise ValueError(kind)
    return Operand(view, base, kind, dtype)


def output(shape: Shape, dtype: str, kind: str = "contiguous") -> Operand:
    """An output view of `shape`, its whole buffer filled with a poison value first."""
    filler = np.full(shape, poison(dtype), dtype=NP[dtype]) if shape else np.array(poison(dtype), dtype=NP[dtype])
    result = operand(filler, dtype, kind)
    result.base[...] = poison(dtype)
    result.pristine = result.outside().copy()
    return result
