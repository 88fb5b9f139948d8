"""The simple CPU backend: ex04's pure-Python kernels over numpy storage. Slow, obviously correct."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import course
from ..scalar_ops import BINARY, REDUCE, UNARY
from ..tensor_data import TensorData

ex04 = course.ExerciseProxy("ex04")


class SimpleBackend:
    name = "simple"
    device = "cpu"

    def __init__(self) -> None:
        # Kernels are built per (ex04 module, op) so that a change of MTDG_SOURCE takes effect.
        self._cache: dict[tuple[int, str, str], Callable[..., None]] = {}

    def _kernel(self, kind: str, op: str) -> Callable[..., None]:
        module = course.load("ex04")
        key = (id(module), kind, op)
        if key not in self._cache:
            if kind == "map":
                self._cache[key] = module.tensor_map(UNARY[op])
            elif kind == "zip":
                self._cache[key] = module.tensor_zip(BINARY[op])
            else:
                fn, start = REDUCE[op]
                self._cache[key] = module.tensor_reduce(fn, start)
        return self._cache[key]

    def map(self, op: str, a: TensorData, out: TensorData) -> None:
        self._kernel("map", op)(out.storage, out.shape, out.strides, a.storage, a.shape, a.strides)

    def zip(self, op: str, a: TensorData, b: TensorData, out: TensorData) -> None:
        self._kernel("zip", op)(out.storage, out.shape, out.strides, a.storage, a.shape, a.strides,
                                b.storage, b.shape, b.strides)

    def reduce(self, op: str, a: TensorData, dim: int, out: TensorData) -> None:
        self._kernel("reduce", op)(out.storage, out.shape, out.strides, a.storage, a.shape, a.strides, dim)

    def matmul(self, a: TensorData, b: TensorData, out: TensorData) -> None:
        ex04.tensor_matmul(out.storage, out.shape, out.strides, a.storage, a.shape, a.strides,
                           b.storage, b.shape, b.strides)

    def empty(self, shape: tuple[int, ...], np_dtype: Any) -> Any:
        size = 1
        for s in shape:
            size *= s
        return np.zeros(size, dtype=np_dtype)

    def to_host(self, storage: Any) -> Any:
        return storage

    def from_host(self, array: Any) -> Any:
        return np.array(array, copy=True)
