"""Views of tensors on both sides of ex03's tests: a recipe of view steps, and the programs that apply it in
the worker (grader/judge.py, `run_program`), where minitorch-dg tensors live.

`apply_recipe` is library-agnostic: the judge applies it to a torch tensor, and sends the very same function
to the worker (as code, with no globals) to apply it to a minitorch-dg tensor. The programs below name `mt`,
the framework as the worker serves it, and return data or a tensor that stays in the worker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Shape = tuple[int, ...]
Step = tuple[Any, ...]  # one view operation of a recipe, e.g. ("permute", (1, 0))


def apply_recipe(t: Any, recipe: Sequence[Step]) -> Any:
    """Apply view steps to a torch or a minitorch-dg tensor (both frameworks spell them the same)."""
    for step in recipe:
        kind = step[0]
        if kind == "permute":
            t = t.permute(*step[1])
        elif kind == "slice":
            _, d, start, stop, stride = step
            key = [slice(None)] * t.dim()
            key[d] = slice(start, stop, stride)
            t = t[tuple(key)]
        elif kind == "unsqueeze":
            t = t.unsqueeze(step[1])
        elif kind == "expand":
            t = t.expand(*step[1])
        elif kind == "select":
            t = t.select(step[1], step[2])
        else:  # pragma: no cover - a typo in a recipe
            raise ValueError(kind)
    return t


def arange_view(apply: Any, base: Shape, recipe: Sequence[Step]) -> Any:
    """Program: float64 0, 1, 2, ... in `base`'s shape, then the recipe's views; the tensor stays in the worker."""
    import numpy as np

    values = np.arange(math.prod(base), dtype=np.float64).reshape(base)
    return apply(mt.tensor(values, dtype="float64"), recipe)  # type: ignore[name-defined]  # noqa: F821


def facts(x: Any) -> dict[str, Any]:
    """Program: what the tests compare with torch about a tensor."""
    return {"shape": tuple(x.shape), "strides": tuple(x.stride()), "contiguous": bool(x.is_contiguous()),
            "values": x.to_numpy()}


def view(x: Any, new_shape: Shape) -> Any:
    """Program: `x.view(*new_shape)` (a ShapeError comes back to the judge as one)."""
    return x.view(*new_shape)


def reshape(x: Any, new_shape: Shape) -> Any:
    """Program: `x.reshape(*new_shape)`."""
    return x.reshape(*new_shape)


def shares_storage(x: Any, y: Any) -> bool:
    """Program: whether two tensors' numpy views share memory."""
    import numpy as np

    return bool(np.shares_memory(x.numpy(), y.numpy()))


def add_ones(a: Shape, b: Shape) -> Any:
    """Program: `mt.ones(*a) + mt.ones(*b)` (to see the broadcast error it raises)."""
    return mt.ones(*a) + mt.ones(*b)  # type: ignore[name-defined]  # noqa: F821
