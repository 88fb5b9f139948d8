"""Run the same function on minitorch-dg and torch tensors made from the same data; compare everything.

    check_op(lambda x, y: (x * y).sum(1), a, b)               # values and every input gradient
    check_op(lambda x: x.exp(), a, dtype="float32", layouts=[(1, 0)])   # a non-contiguous (permuted) input
    check_op(lambda x, p: x ** p, a, params=[p])                # values fn needs are passed, not closed over
    check_op(lambda lib, x, y: lib.cat([x, y], 1), a, b, library=True)   # lib: minitorch_dg, then torch

`fn` is written once with the names both frameworks share (+ - * / @, .exp(), .sum(dim), .view(...),
x[1:3], ...); a library function (cat, stack) comes through its first argument with `library=True`. `fn`
may run in an exercise's worker process, so it uses only its arguments, builtins and math: what it needs
(an exponent, dims, an index key) is passed as `params`, after the tensors. Inputs are numpy arrays. A
`layout` per input is a permutation: the tensor is then made from the permuted copy and permuted back, so it
has the same values but non-contiguous strides (in both frameworks; with `oracle_layouts=False`, only in
minitorch-dg, and torch computes on contiguous tensors). Gradients are compared on the leaves.
`in_framework` runs any check written once for both libraries (`fn(lib, ...)`) on minitorch-dg's side.
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


def _torch_pair(array: np.ndarray, dtype: str, requires_grad: bool, layout: Layout) -> tuple[Any, Any]:
    """(torch leaf, torch input): the input is the leaf, or a permuted view of it (`op_result` makes the
    minitorch-dg side the same way)."""
    np_dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[dtype]
    grad = requires_grad and dtype.startswith("float")
    if layout is not None and array.ndim >= 2:
        stored = np.ascontiguousarray(array.transpose(layout)).astype(np_dtype)
        back: tuple[int, ...] | None = _inverse(layout)
    else:
        stored, back = array.astype(np_dtype), None
    t_leaf = torch.tensor(stored, dtype=getattr(torch, dtype), requires_grad=grad)
    return t_leaf, (t_leaf.permute(*back) if back is not None else t_leaf)


def _dtype_for(array: np.ndarray, float_dtype: str) -> str:
    """Float arrays take the float dtype under test; integer arrays are int64, boolean arrays bool."""
    if array.dtype.kind in "iu":
        return "int64"
    if array.dtype.kind == "b":
        return "bool"
    return float_dtype


def _names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


PIECE_ELEMENTS = 1 << 17  # elements of an array sent back per reply (1 MiB of float64; a reply may hold 4 MiB)


def op_result(fn: Callable[..., Any], arrays: list[np.ndarray], dtypes: list[str], grads: list[bool],
              layouts: list[Layout], device: str, upstream: np.ndarray | None, backend: str | None,
              params: list[Any], library: bool, pieces: int) -> dict[str, Any]:
    """The minitorch-dg side of `check_op`, as data: runs here, or in an exercise's worker as a program (it
    names only `mt`, builtins and what it imports). Leaves are made like `_torch_pair`'s; with `upstream` (and
    an output of its shape) the output is backpropagated and each leaf's gradient returned (None if none).
    With `pieces` > 0 (in a worker), an array of more elements than that comes as (shape, reader) instead,
    reader(start, stop) giving its flat elements start:stop (`_whole` reads it back): one reply would not
    hold it."""
    import contextlib

    import numpy as np

    def sent(array: Any) -> Any:
        if not pieces or array.size <= pieces:
            return array
        flat = array.reshape(-1)
        return tuple(array.shape), lambda start, stop: flat[start:stop]

    leaves, inputs = [], []
    for array, dtype, grad, layout in zip(arrays, dtypes, grads, layouts):
        np_dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[dtype]
        back = None
        if layout is not None and array.ndim >= 2:
            stored = np.ascontiguousarray(array.transpose(layout)).astype(np_dtype)
            back = [0] * len(layout)
            for i, d in enumerate(layout):
                back[d] = i
        else:
            stored = array.astype(np_dtype)
        leaf = mt.tensor(stored, dtype=dtype, requires_grad=grad and dtype.startswith("float"), device=device)
        leaves.append(leaf)
        inputs.append(leaf.permute(*back) if back is not None else leaf)
    with mt.use_backend(backend) if backend else contextlib.nullcontext():
        out = fn(*([mt] if library else []), *inputs, *params)
        if not isinstance(out, mt.Tensor):
            return {"type": type(out).__name__}
        result: dict[str, Any] = {"type": "Tensor", "shape": tuple(out.shape), "dtype": out.dtype.name,
                                  "values": sent(out.to_numpy())}
        if upstream is not None and tuple(upstream.shape) == tuple(out.shape):
            out.backward(mt.tensor(upstream, dtype=out.dtype, device=out.device))
            result["grads"] = [None if leaf.grad is None else sent(leaf.grad.to_numpy()) for leaf in leaves]
    return result


def _whole(value: Any) -> Any:
    """An array that `op_result` sent in pieces, (shape, reader), read back whole; any other value as it is."""
    if not isinstance(value, tuple):
        return value
    shape, read = value
    size = int(np.prod(shape))
    parts = [np.asarray(read(start, min(start + PIECE_ELEMENTS, size))) for start in range(0, size, PIECE_ELEMENTS)]
    return np.concatenate(parts).reshape(shape)


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
    worker: Any = None,
    backend: str | None = None,
    params: Sequence[Any] = (),
    library: bool = False,
    oracle_layouts: bool = True,
) -> None:
    """Compare fn's output (values, shape, dtype) and the gradient of every float input with torch.

    With `worker` (a `grader.judge` exercise client), the minitorch-dg side runs in that exercise's worker
    process (`op_result` as a program; `fn` travels as code, so it may name only builtins and math), and
    `backend` names the framework backend it runs under there. `params` follow the tensors in fn's arguments;
    with `library`, the library (minitorch_dg or torch) comes first. `oracle_layouts=False` gives torch
    contiguous inputs whatever `layouts` says (the values are the same; see the hidden ex10 tests for why)."""
    layouts = list(layouts) if layouts is not None else [None] * len(arrays)
    dtypes = [_dtype_for(np.asarray(a), dtype) for a in arrays]
    wants = [grad and i not in no_grad_inputs for i in range(len(arrays))]
    pairs = [_torch_pair(np.asarray(a), dtypes[i], wants[i], layouts[i] if oracle_layouts else None)
             for i, a in enumerate(arrays)]
    inputs = {n: np.asarray(a) for n, a in zip(_names(len(arrays)), arrays)}
    r_default, a_default = tolerance(dtype)
    rtol = r_default if rtol is None else rtol
    atol = a_default if atol is None else atol

    expected = fn(*([torch] if library else []), *[p[1] for p in pairs], *params)
    upstream = None
    if grad and expected.requires_grad:
        upstream = np.random.default_rng(upstream_seed).uniform(-1.0, 1.0, size=tuple(expected.shape))
    args = (fn, [np.asarray(a) for a in arrays], dtypes, wants, layouts, device, upstream, backend, list(params),
            library)
    if worker is not None:
        got = worker.run_program(op_result, *args, PIECE_ELEMENTS)
        if "values" in got:
            got["values"] = _whole(got["values"])
        if "grads" in got:
            got["grads"] = [_whole(g) for g in got["grads"]]
    else:
        got = op_result(*args, 0)
    assert got["type"] == "Tensor", f"{label}: got {got['type']}, expected a Tensor"
    assert tuple(got["shape"]) == tuple(expected.shape), (
        f"{label}: shape {tuple(got['shape'])}, torch gives {tuple(expected.shape)}"
        + (f" (inputs of shapes {[tuple(np.shape(a)) for a in arrays]})")
    )
    assert got["dtype"] == str(expected.dtype).replace("torch.", ""), (
        f"{label}: dtype {got['dtype']}, torch gives {str(expected.dtype).replace('torch.', '')}"
    )
    assert_close(got["values"], expected.detach().numpy(), what=f"{label}: forward", inputs=inputs,
                 rtol=rtol, atol=atol)
    if upstream is None:
        return
    expected.backward(torch.tensor(upstream, dtype=expected.dtype))
    for i, (t_leaf, _) in enumerate(pairs):
        if not t_leaf.requires_grad:
            continue
        have = got["grads"][i]
        if t_leaf.grad is None:  # no path from this input to the output
            assert have is None or not np.any(have), (
                f"{label}: x{i} does not reach the output, so its gradient must be None or zero"
            )
            continue
        want = t_leaf.grad
        if not oracle_layouts and layouts[i] is not None and want.ndim >= 2:
            want = want.permute(*layouts[i])  # minitorch-dg's leaf is the stored (permuted) copy
        assert have is not None, f"{label}: input x{i} got no gradient (its .grad is None), torch gives one"
        assert_close(have, want.numpy(), what=f"{label}: gradient of x{i}", inputs=inputs,
                     rtol=rtol, atol=atol)


def call_functional(lib: Any, *tensors_then_call: Any) -> Any:
    """lib.nn.functional.<name>(*tensors, *args, **kwargs): the tensors, then name, args and kwargs. A function
    for `check_op(call_functional, *arrays, library=True, params=[name, args, kwargs])`."""
    *tensors, name, args, kwargs = tensors_then_call
    return getattr(lib.nn.functional, name)(*tensors, *args, **kwargs)


def _with_framework(fn: Callable[..., Any], *args: Any) -> Any:
    """A program: fn(mt, *args), with mt the framework as the worker serves it."""
    return fn(mt, *args)


def in_framework(worker: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(minitorch_dg, *args) run in an exercise's worker, for a check written once for both libraries
    (`fn(torch, *args)` gives torch's side here). fn travels as code: it may name only its arguments, builtins
    and math, and it returns data (numbers, strings, arrays)."""
    return worker.run_program(_with_framework, fn, *args)
