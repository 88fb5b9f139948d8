"""ex10 public tests: unfold / fold, conv1d / conv2d, max / average / adaptive pooling against torch.

Everything is reached through the framework (`mt.nn.functional`, `mt.nn` modules), which checks the
arguments and calls exercises/ex10_conv.py through the course. Every forward value and every gradient is
compared with torch on the same numpy data (tests/support/tensor_oracle.py), in float64 and float32.
Shapes are small (odd sizes, non-square kernels) so that the suite stays fast.

ex10 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there, through
`check_op(worker=ag)` or a program (`run`), and torch and the comparison stay here. A function receives the
library first (`library=True`: minitorch_dg there, torch here) and its keyword arguments as `params`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support.compare import assert_close
from tests.support.tensor_oracle import call_functional, check_op

ag = judge.exercise("ex10")  # ex10 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex10's module as the worker serves it (never bound here)
TF = torch.nn.functional

DTYPES = ["float64", "float32"]


def check(fn: Callable[..., Any], *arrays: np.ndarray, **options: Any) -> None:
    """`check_op` with the minitorch-dg side in ex10's worker."""
    check_op(fn, *arrays, worker=ag, **options)


def check_f(name: str, *arrays: np.ndarray, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
            **options: Any) -> None:
    """`check` of F.<name>(*tensors, *args, **kwargs) against torch's."""
    check(call_functional, *arrays, library=True, params=[name, list(args), dict(kwargs or {})], **options)


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------------------------------------
# Part 1: output sizes
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("out = ⌊(size + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride⌋ + 1.")
@pytest.mark.parametrize("size,kernel,stride,pad,dilation", [
    (7, 3, 1, 0, 1), (7, 3, 2, 1, 1), (8, 2, 3, 0, 1), (9, 3, 1, 2, 2), (5, 5, 1, 0, 1), (6, 1, 4, 0, 1),
])
def test_output_size_matches_torch_conv(size: int, kernel: int, stride: int, pad: int, dilation: int) -> None:
    expected = TF.conv1d(torch.zeros(1, 1, size), torch.zeros(1, 1, kernel), stride=stride, padding=pad,
                         dilation=dilation).shape[-1]
    got = run(lambda *a: ex.output_size(*a), size, kernel, stride, pad, pad, dilation)
    assert got == expected, f"output_size({size}, kernel={kernel}, stride={stride}, padding={pad}, dilation={dilation}) = {got}, torch gives {expected}"


@pytest.mark.hint("ceil_mode rounds up, then drops a last window that would start in the padding after the input.")
@pytest.mark.parametrize("size,kernel,stride,pad", [(7, 2, 2, 0), (8, 3, 2, 1), (5, 2, 2, 1), (6, 3, 3, 1), (4, 2, 3, 1)])
def test_output_size_ceil_mode_matches_torch_pooling(size: int, kernel: int, stride: int, pad: int) -> None:
    expected = TF.max_pool1d(torch.zeros(1, 1, size), kernel, stride, pad, ceil_mode=True).shape[-1]
    got = run(lambda *a: ex.output_size(*a), size, kernel, stride, pad, pad, 1, True)
    assert got == expected, f"output_size({size}, kernel={kernel}, stride={stride}, padding={pad}, ceil_mode=True) = {got}, torch gives {expected}"


# ---------------------------------------------------------------------------------------------
# Part 2: unfold (im2col) and fold (col2im)
# ---------------------------------------------------------------------------------------------

UNFOLD_CASES = [
    dict(kernel_size=(2, 3)),
    dict(kernel_size=3, padding=1, stride=2),
    dict(kernel_size=(2, 2), dilation=(2, 1), padding=(1, 0), stride=(1, 3)),
    dict(kernel_size=1, stride=4),  # stride larger than the kernel
]


@pytest.mark.hint("im2col: cols[c, i, j, n, y, z] = x[n, c, y·sh − ph + i·dh, z·sw − pw + j·dw], 0 on the padding.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", UNFOLD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_unfold(dtype: str, kwargs: dict[str, Any]) -> None:
    check_f("unfold", data(2, 3, 6, 7), kwargs=kwargs, dtype=dtype, label=f"F.unfold(x (2, 3, 6, 7), {kwargs})")


@pytest.mark.hint("fold is the adjoint of unfold: add every column entry into the input position it came from.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", UNFOLD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_fold(dtype: str, kwargs: dict[str, Any]) -> None:
    size = (6, 7)
    blocks = TF.unfold(torch.zeros(1, 2, *size), **kwargs).shape
    check_f("fold", data(2, blocks[1], blocks[2], seed=1), args=(size,), kwargs=kwargs, dtype=dtype,
            label=f"F.fold(x {(2, blocks[1], blocks[2])}, output_size={size}, {kwargs})")


def test_unfold_unbatched_and_non_contiguous() -> None:
    check_f("unfold", data(3, 5, 4), args=((3, 2),), kwargs=dict(padding=1), label="F.unfold(x (3, 5, 4), (3, 2), padding=1)")
    check_f("unfold", data(2, 3, 5, 6), args=(2,), kwargs=dict(stride=2), layouts=[(0, 2, 3, 1)],
            label="F.unfold of a permuted (channels-last) x")


@pytest.mark.hint("col2im must add (+=) overlapping entries, and each thread must own its output plane.")
def test_fold_is_the_adjoint_of_unfold() -> None:
    """<unfold(x), y> = <x, fold(y)> for any x and y: the defining property of the adjoint."""
    kwargs = dict(kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    x = data(2, 3, 7, 6)
    cols = run(lambda x, kw: mt.nn.functional.unfold(mt.tensor(x), **kw).to_numpy(), x, kwargs)
    y = data(*cols.shape, seed=5)
    left = float((cols * y).sum())
    folded = run(lambda y, kw: mt.nn.functional.fold(mt.tensor(y), (7, 6), **kw).to_numpy(), y, kwargs)
    right = float((x * folded).sum())
    assert math.isclose(left, right, rel_tol=1e-10), f"<unfold(x), y> = {left} but <x, fold(y)> = {right}"


# ---------------------------------------------------------------------------------------------
# Part 3: convolution
# ---------------------------------------------------------------------------------------------

CONV2D_CASES = [
    # (x shape, weight shape, keyword arguments)
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((2, 3, 7, 6), (4, 3, 2, 3), dict(stride=(2, 1), padding=(1, 2))),
    ((1, 2, 9, 8), (3, 2, 2, 2), dict(stride=3)),  # stride larger than the kernel, batch 1
    ((2, 2, 9, 8), (3, 2, 3, 2), dict(dilation=(2, 3), padding=1)),
    ((2, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 3, 6, 5), (6, 1, 3, 2), dict(groups=3, stride=(1, 2))),  # depthwise
    ((2, 2, 6, 7), (3, 2, 4, 2), dict(padding="same")),  # even kernel: one more zero after than before
    ((2, 2, 6, 7), (3, 2, 3, 3), dict(padding="valid")),
]


@pytest.mark.hint("Out_g = W_g @ Cols_g per group: cols rows (c, i, j) of group g are rows g·Cg·kh·kw onwards.")
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONV2D_CASES)))
def test_conv2d(dtype: str, case: int) -> None:
    x_shape, w_shape, kwargs = CONV2D_CASES[case]
    check_f("conv2d", data(*x_shape), data(*w_shape, seed=1), data(w_shape[0], seed=2), kwargs=kwargs, dtype=dtype,
            label=f"F.conv2d(x {x_shape}, weight {w_shape}, bias, {kwargs})")


@pytest.mark.hint("Without a bias the backward returns None for it; the other gradients are unchanged.")
def test_conv2d_without_bias_unbatched_and_non_contiguous() -> None:
    check_f("conv2d", data(3, 5, 6), data(2, 3, 3, 3, seed=1), kwargs=dict(padding=1),
            label="F.conv2d(x (3, 5, 6) unbatched, weight (2, 3, 3, 3), padding=1)")
    check_f("conv2d", data(2, 3, 7, 7), data(4, 3, 3, 2, seed=1), kwargs=dict(stride=2),
            layouts=[(0, 2, 3, 1), (1, 0, 2, 3)], label="F.conv2d of a channels-last x and a transposed weight")


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=3, padding=1, dilation=2), dict(groups=2, padding="same")],
                         ids=["plain", "stride-padding-dilation", "groups-same"])
def test_conv1d(dtype: str, kwargs: dict[str, Any]) -> None:
    check_f("conv1d", data(2, 4, 11), data(6, 4 // kwargs.get("groups", 1), 3, seed=1), data(6, seed=2),
            kwargs=kwargs, dtype=dtype, label=f"F.conv1d(x (2, 4, 11), weight (6, ., 3), {kwargs})")


def conv_layer_outcome(kind: str, args: list[Any], kwargs: dict[str, Any], state: dict[str, Any], x: Any,
                       upstream: Any) -> dict[str, Any]:
    """Program: nn.<kind>(*args, **kwargs, dtype=float64) with `state` loaded, run on x (which requires grad),
    `upstream` backpropagated; the output, its text, and the gradients of x, weight and bias."""
    layer = getattr(mt.nn, kind)(*args, **kwargs, dtype=mt.float64)
    layer.load_state_dict({k: mt.tensor(v) for k, v in state.items()})
    inputs = mt.tensor(x, requires_grad=True)
    out = layer(inputs)
    out.backward(mt.tensor(upstream))
    grads = {"input": inputs.grad, "weight": layer.weight.grad, "bias": layer.bias.grad}
    return {"out": out.to_numpy(), "text": repr(layer),
            "grads": {name: None if g is None else g.to_numpy() for name, g in grads.items()}}


def test_conv_modules_with_torch_weights() -> None:
    """nn.Conv1d / nn.Conv2d have torch's parameter names and shapes, so torch's state dict loads."""
    torch.manual_seed(0)
    for kind, args, kwargs, shape in [("Conv2d", [3, 4, (3, 2)], dict(stride=2, padding=1, groups=1), (2, 3, 7, 6)),
                                      ("Conv1d", [4, 6, 3], dict(padding="same", groups=2), (2, 4, 9))]:
        reference = getattr(torch.nn, kind)(*args, **kwargs).double()
        x = data(*shape)
        t_x = torch.tensor(x, requires_grad=True)
        t_out = reference(t_x)
        upstream = data(*t_out.shape, seed=3)
        t_out.backward(torch.tensor(upstream))
        state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
        got = run(conv_layer_outcome, kind, args, kwargs, state, x, upstream)
        layer = got["text"]
        assert_close(got["out"], t_out.detach().numpy(), what=f"{layer} forward")
        for name, want in [("input", t_x.grad), ("weight", reference.weight.grad), ("bias", reference.bias.grad)]:
            assert got["grads"][name] is not None, f"{layer}: the {name} got no gradient"
            assert_close(got["grads"][name], want.numpy(), what=f"{layer}: gradient of the {name}")


def test_empty_batch() -> None:
    """torch allows a batch of 0 samples: the output has 0 samples too, and gradients are zero-sized."""
    check_f("conv2d", np.zeros((0, 2, 5, 4)), data(3, 2, 3, 3, seed=1), data(3, seed=2), kwargs=dict(padding=1),
            label="F.conv2d of an empty batch")
    check_f("max_pool2d", np.zeros((0, 2, 5, 4)), args=(2,), label="F.max_pool2d of an empty batch")


def test_conv2d_on_the_simple_backend() -> None:
    check_f("conv2d", data(1, 2, 4, 3), data(2, 1, 2, 2, seed=1), data(2, seed=2), kwargs=dict(padding=1, groups=2),
            backend="simple", label="F.conv2d on the simple backend")


# ---------------------------------------------------------------------------------------------
# Part 4: max pooling
# ---------------------------------------------------------------------------------------------

MAX_POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 1), dilation=2),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=3, padding=1, ceil_mode=True),
]


@pytest.mark.hint("Padding never wins: skip positions outside the plane (start the window at the first real row/column).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", MAX_POOL_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_max_pool2d(dtype: str, kwargs: dict[str, Any]) -> None:
    check_f("max_pool2d", data(2, 3, 7, 8), kwargs=kwargs, dtype=dtype, label=f"F.max_pool2d(x (2, 3, 7, 8), {kwargs})")


@pytest.mark.hint("On ties the first maximum in row-major order wins (take a value only when it is greater); "
                  "overlapping windows add their gradients (+=).")
@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, stride=1),
                                    dict(kernel_size=(3, 2), stride=2, dilation=(1, 2), padding=1)],
                         ids=["3x3-stride1", "2x2-stride1", "dilated"])
def test_max_pool2d_ties_route_gradients_like_torch(kwargs: dict[str, Any]) -> None:
    ties = np.random.default_rng(3).integers(0, 3, size=(2, 2, 6, 7)).astype(np.float64)
    check_f("max_pool2d", ties, kwargs=kwargs, label=f"F.max_pool2d with tied values, {kwargs}")
    dtype, got = run(pool_indices, "max_pool2d", ties, [], kwargs)
    _, want = TF.max_pool2d(torch.tensor(ties), **kwargs, return_indices=True)
    assert dtype == "int64", f"indices must be int64, got {dtype}"
    assert np.array_equal(got, want.numpy()), (
        f"return_indices: got\n{got[0, 0]}\ntorch gives\n{want.numpy()[0, 0]}\n(first plane)")


def test_max_pool_with_nan_and_infinities() -> None:
    x = data(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 3, 3] = -np.inf
    x[0, 0, 2, 2] = np.inf
    check_f("max_pool2d", x, args=(2,), kwargs=dict(stride=1), label="F.max_pool2d with NaN and ±inf")


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool1d(dtype: str) -> None:
    check_f("max_pool1d", data(2, 3, 10), args=(3,), kwargs=dict(stride=2, padding=1, ceil_mode=True), dtype=dtype,
            label="F.max_pool1d(x (2, 3, 10), 3, stride=2, padding=1, ceil_mode=True)")
    check_f("max_pool1d", data(3, 9), args=(2,), kwargs=dict(dilation=2), dtype=dtype,
            label="F.max_pool1d(unbatched, dilation=2)")
    _, got = run(pool_indices, "max_pool1d", data(2, 3, 10), [3, 2], {})
    _, want = TF.max_pool1d(torch.tensor(data(2, 3, 10)), 3, 2, return_indices=True)
    assert np.array_equal(got, want.numpy()), "max_pool1d return_indices differ from torch's"


def pool_indices(name: str, x: Any, args: list[Any], kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Program: the indices F.<name>(x, *args, **kwargs, return_indices=True) returns: (dtype name, values)."""
    _, indices = getattr(mt.nn.functional, name)(mt.tensor(x), *args, **kwargs, return_indices=True)
    return indices.dtype.name, indices.to_numpy()


def test_max_pool_modules() -> None:
    x = data(2, 3, 7, 8)
    check(lambda lib, t: lib.nn.MaxPool2d(3, 2, 1)(t), x, library=True, label="nn.MaxPool2d(3, 2, 1)")
    check(lambda lib, t: lib.nn.MaxPool1d(2)(t), data(2, 3, 9), library=True, label="nn.MaxPool1d(2)")


# ---------------------------------------------------------------------------------------------
# Part 5: average pooling, fixed and adaptive
# ---------------------------------------------------------------------------------------------

AVG_POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=3),
]


@pytest.mark.hint("Divide by the window clipped to the padded plane (count_include_pad) or by its real inputs only.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", AVG_POOL_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_avg_pool2d(dtype: str, kwargs: dict[str, Any]) -> None:
    check_f("avg_pool2d", data(2, 3, 7, 8), kwargs=kwargs, dtype=dtype, label=f"F.avg_pool2d(x (2, 3, 7, 8), {kwargs})")


def test_avg_pool1d_and_modules() -> None:
    check_f("avg_pool1d", data(2, 3, 10), args=(3, 2, 1), kwargs=dict(ceil_mode=True, count_include_pad=False),
            label="F.avg_pool1d(x (2, 3, 10), 3, 2, 1, ceil_mode=True, count_include_pad=False)")
    check(lambda lib, t: lib.nn.AvgPool2d(3, 2, 1)(t), data(3, 7, 8), library=True,
          label="nn.AvgPool2d(3, 2, 1) on an unbatched input")


@pytest.mark.hint("Window i covers [⌊i·H/oh⌋, ⌈(i + 1)·H/oh⌉): windows may overlap when oh does not divide H.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_size,out_size", [((7, 9), (3, 4)), ((6, 6), (3, 3)), ((5, 4), (1, 1)), ((3, 5), (5, 7))])
def test_adaptive_avg_pool2d(dtype: str, in_size: tuple[int, int], out_size: tuple[int, int]) -> None:
    check_f("adaptive_avg_pool2d", data(2, 3, *in_size), args=(out_size,), dtype=dtype,
            label=f"F.adaptive_avg_pool2d(x (2, 3, {in_size}), {out_size})")


def test_adaptive_avg_pool_module_and_1d() -> None:
    check(lambda lib, t: lib.nn.AdaptiveAvgPool2d((2, None))(t), data(2, 3, 5, 4), library=True,
          label="nn.AdaptiveAvgPool2d((2, None))")
    check_f("adaptive_avg_pool1d", data(2, 3, 10), args=(4,), label="F.adaptive_avg_pool1d(x (2, 3, 10), 4)")


@pytest.mark.hint("output_size returns 0 when the window is longer than the padded input; the framework then says so.")
def test_pool_output_too_small_is_reported() -> None:
    with pytest.raises(RuntimeError, match="Output size is too small"):
        run(lambda: mt.nn.functional.max_pool2d(mt.zeros(1, 1, 2, 2), 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        run(lambda: mt.nn.functional.conv1d(mt.zeros(1, 1, 2), mt.zeros(1, 1, 5), padding=1))
