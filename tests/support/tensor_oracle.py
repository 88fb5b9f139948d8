"""Run the same function on minitorch-dg and torch tensors made from the same data; compare everything.

    check_op(lambda x, y: (x * y).sum(1), a, b)               # values and every input gradient
    check_op(lambda x: x.exp(), a, dtype="float32", layouts=[(1, 0)])   # a non-contiguous (permuted) input

`fn` is written once with the names both frameworks share (+ - * / @, .exp(), .sum(dim), .view(...),
x[1:3], mt/torch functions passed in through `lib`, ...). Inputs are numpy arrays. A `layout` per input
is a permutation: the tensor is then made from the permuted copy and permuted back, so it has the same
values but non-contiguous strides (in both frameworks). Gradients are compared on the leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import minitorch_dg as mt

from .compare import assert_close, tolerance

Layout = tuple[int, ...] | None


def _inverse(order: Sequence[int]) -> tuple[int, ...]:
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return tuple(inv)


def make_pair(array: np.ndarray, dtype: str, requires_grad: bool, layout: Layout = None,
              device: str = "cpu") -> tuple[Any, Any, Any, Any]:
    """(mt leaf, mt input, torch leaf, torch input): the input is the leaf, or a permuted view of it."""
    array = np.asarray(array)
    is_float = dtype.startswith("float")
    np_dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[dtype]
    grad = requires_grad and is_float
    if layout is not None and array.ndim >= 2:
        stored = np.ascontiguousarray(array.transpose(layout)).astype(np_dtype)
        back = _inverse(layout)
    else:
        stored, back = array.astype(np_dtype), None
    mt_leaf = mt.tensor(stored, dtype=dtype, requires_grad=grad, device=device)
    t_leaf = torch.tensor(stored, dtype=getattr(torch, dtype), requires_grad=grad)
    mt_in = mt_leaf.permute(*back) if back is not None else mt_leaf
    t_in = t_leaf.permute(*back) if back is not None else t_leaf
    return mt_leaf, mt_in, t_leaf, t_in


def _dtype_for(array: np.ndarray, float_dtype: str) -> str:
    """Float arrays take the float dtype under test; integer arrays are int64, boolean arrays bool."""
    if array.dtype.kind in "iu":
        return "int64"
    if array.dtype.kind == "b":
        return "bool"
    return float_dtype


def _names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


def check_op(
    fn: Callable[..., Any],
    *arrays: np.ndarray,
    dtype: str = "float64",
    grad: bool = True,
    layouts: Sequence[Layout] | None = None,
    label: str = "result",
    rtol: float | None = None,
    atol: float | None = None,
    upstream_seed: int = 0,
    device: str = "cpu",
    no_grad_inputs: Sequence[int] = (),
) -> None:
    """Compare fn's output (values, shape, dtype) and the gradient of every float input with torch."""
    layouts = list(layouts) if layouts is not None else [None] * len(arrays)
    pairs = [make_pair(a, _dtype_for(np.asarray(a), dtype), grad and i not in no_grad_inputs, layouts[i], device)
             for i, a in enumerate(arrays)]
    inputs = {n: np.asarray(a) for n, a in zip(_names(len(arrays)), arrays)}
    r_default, a_default = tolerance(dtype)
    rtol = r_default if rtol is None else rtol
    atol = a_default if atol is None else atol

    expected = fn(*[p[3] for p in pairs])
    got = fn(*[p[1] for p in pairs])
    assert isinstance(got, mt.Tensor), f"{label}: got {type(got).__name__}, expected a Tensor"
    assert tuple(got.shape) == tuple(expected.shape), (
        f"{label}: shape {tuple(got.shape)}, torch gives {tuple(expected.shape)}"
        + (f" (inputs of shapes {[tuple(np.shape(a)) for a in arrays]})")
    )
    assert got.dtype.name == str(expected.dtype).replace("torch.", ""), (
        f"{label}: dtype {got.dtype.name}, torch gives {str(expected.dtype).replace('torch.', '')}"
    )
    assert_close(got.to_numpy(), expected.detach().numpy(), what=f"{label}: forward", inputs=inputs,
                 rtol=rtol, atol=atol)
    if not grad or not expected.requires_grad:
        return
    rng = np.random.default_rng(upstream_seed)
    upstream = rng.uniform(-1.0, 1.0, size=tuple(expected.shape))
    expected.backward(torch.tensor(upstream, dtype=expected.dtype))
    got.backward(mt.tensor(upstream, dtype=got.dtype, device=got.device))
    for i, (mt_leaf, _, t_leaf, _) in enumerate(pairs):
        if not t_leaf.requires_grad:
            continue
        have = mt_leaf.grad
        if t_leaf.grad is None:  # no path from this input to the output
            assert have is None or not np.any(have.to_numpy()), (
                f"{label}: x{i} does not reach the output, so its gradient must be None or zero"
            )
            continue
        want = t_leaf.grad
        assert have is not None, f"{label}: input x{i} got no gradient (its .grad is None), torch gives one"
        assert_close(have.to_numpy(), want.numpy(), what=f"{label}: gradient of x{i}", inputs=inputs,
                     rtol=rtol, atol=atol)
