"""Run one program on minitorch-dg and on torch and say whether they agree, as a torch user would judge it.

    agree(lambda lib: lib.where(lib.tensor([True]), lib.tensor([1.0]), lib.tensor([float("inf")])))

The program is written once, with the names both libraries share, and receives the library (`mt` or
`torch`) as its argument. It returns a tensor, a number, or a tuple / list of them (gradients included:
call `.backward()` inside and return `x.grad`). Agreement means:

- both raise, or neither does (the messages may differ; a raise on one side only is a disagreement, except,
  when asked, a refusal of minitorch-dg whose message says it is deliberate);
- the same structure, and for every tensor the same shape and dtype name;
- the same values under the tolerance policy of tests/support/compare.py (NaN matches NaN, infinities
  match exactly, -0.0 matches 0.0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import minitorch_dg as mt

from .compare import first_mismatch, tolerance

Program = Callable[[Any], Any]


@dataclass
class Outcome:
    """What a program produced: a value tree of (dtype name, numpy array) leaves, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}: {str(self.error)[:200]}"
        return _show(self.value)


def _leaf(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (str(value.dtype).replace("torch.", ""), value.detach().cpu().numpy())
    if isinstance(value, mt.Tensor):
        return (value.dtype.name, value.to_numpy())
    if isinstance(value, (tuple, list)):
        return tuple(_leaf(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "_fields"):  # a named tuple of results (max(dim))
        return tuple(_leaf(v) for v in value)
    if isinstance(value, torch.Size) or isinstance(value, mt.Size):
        return tuple(value)
    raise TypeError(f"a program returned {type(value).__name__}; return tensors, numbers or tuples of them")


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], np.ndarray):
        dtype, array = value
        return f"{dtype}{list(array.shape)} {np.array2string(array, threshold=12)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return repr(value)


def run(program: Program, lib: Any) -> Outcome:
    """Run `program(lib)` and capture what it returned or raised."""
    try:
        with np.errstate(all="ignore"):
            return Outcome(value=_leaf(program(lib)))
    except Exception as error:  # noqa: BLE001 - any raise is an outcome to compare
        return Outcome(error=error)


def _is_tensor_leaf(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], np.ndarray)


def difference(ours: Any, theirs: Any, path: str = "result", precision: str | None = None) -> str | None:
    """None when two value trees agree; otherwise where and how they differ. `precision` (a dtype name)
    loosens the tolerance of float64 results computed from float32 ones."""
    if _is_tensor_leaf(ours) and _is_tensor_leaf(theirs):
        (d1, a1), (d2, a2) = ours, theirs
        if d1 != d2:
            return f"{path}: dtype {d1} where torch gives {d2}"
        if a1.shape != a2.shape:
            return f"{path}: shape {a1.shape} where torch gives {a2.shape}"
        # a float32 result gets float32's tolerance even in a float64 program (cos of a bool is float32)
        loosest = "float32" if "float32" in (precision, d2) else (precision or d2)
        rtol, atol = tolerance(loosest) if d2.startswith("float") else (0.0, 0.0)
        index = first_mismatch(a1.astype(np.float64), a2.astype(np.float64), rtol, atol)
        if index is not None:
            return f"{path}{list(index)}: {a1[index]!r} where torch gives {a2[index]!r}"
        return None
    if isinstance(ours, tuple) and isinstance(theirs, tuple):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} results where torch gives {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = difference(a, b, f"{path}[{i}]", precision)
            if found:
                return found
        return None
    if isinstance(ours, float) and isinstance(theirs, float):
        same = (ours != ours and theirs != theirs) or ours == theirs or abs(ours - theirs) <= 1e-5 * abs(theirs)
        return None if same else f"{path}: {ours!r} where torch gives {theirs!r}"
    if type(ours) is not type(theirs) or ours != theirs:
        return f"{path}: {ours!r} where torch gives {theirs!r}"
    return None


class OnDevice:
    """`mt` whose factories (tensor, zeros, ones, full, arange) make tensors on `device`: runs a program
    written for agree() on the CUDA backend. Results come back to the host for the comparison."""

    FACTORIES = ("tensor", "zeros", "ones", "full", "arange")

    def __init__(self, device: str) -> None:
        self.device = device

    def __getattr__(self, name: str) -> Any:
        value = getattr(mt, name)
        if name in self.FACTORIES:
            return lambda *args, **kwargs: value(*args, **{"device": self.device, **kwargs})
        return value


DELIBERATE = "deliberately"


def deliberate_refusal(ours: Outcome, theirs: Outcome) -> bool:
    """minitorch-dg refuses where torch succeeds and its message says the refusal is deliberate (each is
    listed in docs/torch_differences.md)."""
    return ours.error is not None and theirs.error is None and DELIBERATE in str(ours.error)


def disagreement(program: Program, precision: str | None = None, ours_lib: Any = mt,
                 allow_deliberate: bool = False) -> str | None:
    """None when minitorch-dg and torch agree on `program`; otherwise both outcomes, side by side.
    `precision`: the least precise float dtype the program computes in (tolerances follow it).
    `allow_deliberate`: a refusal whose message says it is deliberate counts as agreement (random programs
    run into them; a program written for one op should not)."""
    ours, theirs = run(program, ours_lib), run(program, torch)
    if allow_deliberate and deliberate_refusal(ours, theirs):
        return None
    if (ours.error is None) != (theirs.error is None):
        return f"torch: {theirs.describe()}\nminitorch-dg: {ours.describe()}"
    if ours.error is not None:
        return None
    found = difference(ours.value, theirs.value, precision=precision)
    if found is None:
        return None
    return f"{found}\ntorch: {theirs.describe()}\nminitorch-dg: {ours.describe()}"


def agree(program: Program, ours_lib: Any = mt) -> None:
    """Assert that minitorch-dg (`ours_lib`: mt, or OnDevice("cuda")) and torch agree on `program`."""
    found = disagreement(program, ours_lib=ours_lib)
    if found is not None:
        raise AssertionError(found)


def raises_like_torch(program: Program, words: str) -> None:
    """Assert that both libraries refuse `program` and that minitorch-dg's message contains `words`."""
    ours, theirs = run(program, mt), run(program, torch)
    assert theirs.error is not None, f"torch accepts this program: {theirs.describe()}"
    assert ours.error is not None, f"torch refuses ({theirs.describe()}) but minitorch-dg gives {ours.describe()}"
    assert words.lower() in str(ours.error).lower(), f"message {str(ours.error)!r} does not say {words!r}"
