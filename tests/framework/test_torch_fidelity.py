"""Torch fidelity at the edges (issue #12): each program below once disagreed with torch; now it must agree.

Every program runs on minitorch-dg and on torch (tests/support/agreement.py) and is compared on values,
dtypes, shapes, gradients and on whether it raises. Each runs on both CPU backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

import minitorch_dg as mt
from minitorch_dg.backends import cuda as cuda_env
from tests.support import cuda_schedule
from tests.support.agreement import OnDevice, agree, disagreement, raises_like_torch, run

INF, NAN = float("inf"), float("nan")


@pytest.fixture(params=["simple", "fast"], autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    with mt.use_backend(request.param):
        yield request.param


def grad_of(lib: Any, data: Any, f: Any, dtype: str = "float32") -> Any:
    """(f(x), x.grad) for a leaf x made from `data`, after f(x).sum().backward()."""
    x = lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=True)
    y = f(x)
    y.sum().backward()
    return y, x.grad


def grads2(lib: Any, a: Any, b: Any, f: Any) -> Any:
    """(f(x, y), x.grad, y.grad) for two float32 leaves, after f(x, y).sum().backward()."""
    x = lib.tensor(a, requires_grad=True)
    y = lib.tensor(b, requires_grad=True)
    out = f(x, y)
    out.sum().backward()
    return out, x.grad, y.grad


def grads64(lib: Any, a: Any, b: Any, f: Any) -> Any:
    """grads2 for float64 leaves."""
    x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
    y = lib.tensor(b, dtype=lib.float64, requires_grad=True)
    out = f(x, y)
    out.sum().backward()
    return out, x.grad, y.grad


PROGRAMS: dict[str, Any] = {
    # 1. select, not arithmetic
    "1-where-inf-branch": lambda lib: lib.where(lib.tensor([True]), lib.tensor([1.0]), lib.tensor([INF])),
    "1-where-nan-branch": lambda lib: lib.where(lib.tensor([False, True]), lib.tensor([NAN, 2.0]), lib.tensor([3.0, NAN])),
    "1-masked-fill-neg-inf": lambda lib: lib.tensor([1.0, 2.0]).masked_fill(lib.tensor([True, False]), -INF),
    "1-masked-fill-softmax": lambda lib: lib.tensor([[1.0, 2.0, 3.0]]).masked_fill(
        lib.tensor([[False, True, False]]), -INF).softmax(-1),
    "1-maximum-inf": lambda lib: lib.maximum(lib.tensor([INF, -INF]), lib.tensor([1.0, 2.0])),
    "1-minimum-inf": lambda lib: lib.minimum(lib.tensor([INF, -INF]), lib.tensor([1.0, 2.0])),
    "1-max-of-tensor": lambda lib: lib.tensor([-INF, 3.0]).max(lib.tensor([INF, 1.0])),
    # a tie keeps the first operand, so the sign of a zero survives (1 / result shows it)
    "1-clamp-maximum-signed-zero": lambda lib: tuple(1.0 / f(lib.tensor([-0.0, 0.0, -0.0]), lib.tensor([0.0, -0.0, -0.0]))
                                                     for f in (lambda a, b: a.clamp(min=0), lambda a, b: a.clamp(max=-0.0),
                                                               lib.maximum, lib.minimum, lambda a, b: -INF // a)),
    # 2. exact zeros in backward
    "2-clamp-inf-grad": lambda lib: grad_of(lib, [1.0, 5.0], lambda x: x.clamp(max=2.0) * lib.tensor(INF)),
    "2-where-inf-grad": lambda lib: grads2(lib, [1.0, 2.0], [3.0, 4.0],
                                           lambda x, y: lib.where(lib.tensor([True, False]), x, y) * lib.tensor(INF)),
    "2-maximum-inf-grad": lambda lib: grads2(lib, [1.0, 5.0], [3.0, 4.0], lambda x, y: lib.maximum(x, y) * lib.tensor(INF)),
    "2-max-dim-inf-grad": lambda lib: grad_of(lib, [[1.0, 5.0], [7.0, 2.0]], lambda x: x.max(1).values * lib.tensor(INF)),
    "2-amax-nan-grad": lambda lib: grad_of(lib, [1.0, 5.0], lambda x: x.amax() * lib.tensor(NAN)),
    "2-min-inf-grad": lambda lib: grad_of(lib, [1.0, 5.0], lambda x: x.min() * lib.tensor(INF)),
    "2-max-all-nan": lambda lib: grad_of(lib, [NAN, 2.0, NAN], lambda x: x.max()),
    "2-max-all-tie": lambda lib: grad_of(lib, [2.0, 1.0, 2.0], lambda x: x.max() * lib.tensor(INF)),
    "2-amax-tie": lambda lib: grad_of(lib, [[2.0, 1.0, 2.0]], lambda x: x.amax(1)),
    # 3. ties share the gradient
    "3-maximum-tie": lambda lib: grads2(lib, [1.0, 2.0], [1.0, 3.0], lambda x, y: lib.maximum(x, y)),
    "3-minimum-tie": lambda lib: grads2(lib, [1.0, 2.0], [1.0, 3.0], lambda x, y: lib.minimum(x, y)),
    # 4. relu keeps nan
    "4-relu-nan": lambda lib: grad_of(lib, [NAN, -1.0, 2.0], lambda x: x.relu()),
    # 5. extreme logits
    "5-logsumexp-all-neg-inf": lambda lib: lib.tensor([[-INF, -INF], [0.0, 1.0]]).logsumexp(1),
    "5-logsumexp-pos-inf": lambda lib: lib.tensor([[INF, 1.0], [INF, INF]]).logsumexp(1),
    "5-log-softmax-huge": lambda lib: lib.tensor([-1e30, -1e30]).log_softmax(0),
    "5-log-softmax-inf": lambda lib: lib.tensor([[-INF, -INF], [INF, 0.0]]).log_softmax(1),
    "5-cross-entropy-neg-inf": lambda lib: lib.nn.functional.cross_entropy(
        lib.tensor([[-INF, 0.0], [1.0, 2.0]]), lib.tensor([1, 0])),
    "5-logsumexp-grad-neg-inf": lambda lib: grad_of(lib, [[-INF, -INF], [0.0, 1.0]], lambda x: x.logsumexp(1)),
    # torch's gradient exp(x - logsumexp(x)): 1 for each huge tie once logsumexp rounds to max(x)
    "5-logsumexp-grad-huge-ties": lambda lib: (grad_of(lib, [1e8, 1e8], lambda x: x.logsumexp(0)),
                                               grad_of(lib, [[1e30, 1e30], [1.0, 1e30]], lambda x: x.logsumexp((0, 1)))),
    # 6. var/std of one element or none
    "6-var-one": lambda lib: lib.tensor([3.0]).var(),
    "6-std-none": lambda lib: lib.zeros(0).std(),
    "6-var-dim-one": lambda lib: lib.tensor([[1.0, 2.0]]).var(0),
    "6-var-grad-one": lambda lib: grad_of(lib, [3.0], lambda x: x.var()),
    # torch's var_backward: over dims 2 / (n - correction) as it is (negative past n); over the whole tensor
    # with n <= correction, inf, or nan where x is its mean
    "6-var-grad-correction-past-n": lambda lib: (grad_of(lib, [3.0], lambda x: x.var(0, correction=2)),
                                                 grad_of(lib, [[1.0, 5.0]], lambda x: x.std(1, correction=3))),
    "6-var-grad-whole-no-dof": lambda lib: tuple(grad_of(lib, v, lambda x: x.var(), "float64")
                                                 for v in (NAN, [NAN], [-INF], 2.0, [3.0])),
    "6-var-grad-whole-correction": lambda lib: grad_of(lib, [1.0, 2.0, NAN], lambda x: x.var(correction=5)),
    "6-var-var-neg-inf": lambda lib: grad_of(lib, [[-INF, 1.0], [2.0, 3.0]], lambda x: x.var(0).var(0)),
    "6-var-where-var-nan": lambda lib: grads64(lib, NAN, NAN, lambda x, y: lib.where(
        x.var(0, correction=2) > y, x, y).var(0, correction=2)),
    # float32 var/std accumulate in float64, as torch's CPU kernel: std of 1e30s is finite, var overflows
    "6-std-huge-float32": lambda lib: (grad_of(lib, [0.0, 0.0, 1e30], lambda x: x.std()),
                                       grad_of(lib, [[1e25, -1e25], [2.0, 3.0]], lambda x: x.std(0, keepdim=True)),
                                       grad_of(lib, [0.0, 0.0, 1e30], lambda x: x.var())),
    # 7. min over bool
    "7-bool-min": lambda lib: lib.tensor([True, False]).min(),
    "7-bool-amin": lambda lib: lib.tensor([[True, False], [True, True]]).amin(1),
    "7-bool-max": lambda lib: lib.tensor([True, False]).max(),
    "7-bool-min-dim": lambda lib: lib.tensor([[True, False], [True, True]]).min(1),
    # 8. gather slices
    "8-gather-slices": lambda lib: lib.tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, lib.tensor([[0]])),
    "8-gather-smaller-both": lambda lib: lib.arange(12.0).reshape(3, 4).gather(0, lib.tensor([[2, 1], [0, 0]])),
    "8-gather-grad": lambda lib: grad_of(lib, [[1.0, 2.0], [3.0, 4.0]], lambda x: x.gather(1, lib.tensor([[1]]))),
    "8-gather-negative": lambda lib: lib.tensor([[1.0, 2.0]]).gather(1, lib.tensor([[-1]])),
    "8-gather-too-large": lambda lib: lib.tensor([[1.0, 2.0]]).gather(1, lib.tensor([[2]])),
    "8-gather-bigger-index": lambda lib: lib.tensor([[1.0, 2.0]]).gather(1, lib.tensor([[0], [1]])),
    # 9. narrow
    "9-narrow-negative-start": lambda lib: lib.tensor([1.0, 2.0, 3.0]).narrow(0, -1, 1),
    "9-narrow-past-end": lambda lib: lib.tensor([1.0, 2.0, 3.0]).narrow(0, 2, 2),
    "9-narrow-negative-length": lambda lib: lib.tensor([1.0, 2.0, 3.0]).narrow(0, 0, -1),
    # 10. dim=()
    "10-sum-empty-dims": lambda lib: lib.ones(2, 3).sum(dim=()),
    "10-mean-empty-dims": lambda lib: lib.ones(2, 3).mean(dim=()),
    "10-amax-empty-dims": lambda lib: lib.arange(6.0).reshape(2, 3).amax(dim=()),
    "10-amin-empty-dims": lambda lib: lib.arange(6.0).reshape(2, 3).amin(dim=()),
    "10-std-empty-dims": lambda lib: lib.arange(6.0).reshape(2, 3).std(dim=()),
    "10-logsumexp-empty-dims": lambda lib: lib.arange(6.0).reshape(2, 3).logsumexp(dim=()),
    # torch reduces every dim for dim=(): a 0-d tensor is its own value, keepdim=True or an empty input works
    "10-logsumexp-empty-dims-0d": lambda lib: tuple(grad_of(lib, v, lambda x: x.logsumexp(dim=()))
                                                    for v in (3.0, INF, -INF, NAN)),
    "10-logsumexp-empty-dims-keepdim": lambda lib: grad_of(lib, [[1.0, 2.0, 3.0]],
                                                           lambda x: x.logsumexp(dim=(), keepdim=True)),
    "10-logsumexp-empty-dims-empty": lambda lib: (lib.zeros(2, 0).logsumexp(dim=()),
                                                  lib.zeros(0, 3).logsumexp(dim=(), keepdim=True)),
    # 11. type promotion
    "11-int-pow-half": lambda lib: lib.tensor([2, 3]) ** 0.5,
    "11-int-clamp-float": lambda lib: lib.tensor([-1, 3]).clamp(min=0.5),
    "11-rpow-int": lambda lib: 2 ** lib.tensor([1, 3]),
    "11-rpow-float-base": lambda lib: 2.5 ** lib.tensor([1, 3]),
    "11-bool-sum-0d": lambda lib: lib.tensor(True).sum(),
    "11-bool-prod-0d": lambda lib: lib.tensor(True).prod(),
    "11-bool-square": lambda lib: lib.tensor([True, False]).square(),
    "11-bool-add-alpha": lambda lib: lib.tensor([True, False]).add(lib.tensor([True, True]), alpha=2),
    "11-int-add-float-inplace": lambda lib: lib.tensor([1, 2]).add_(1.5),
    "11-int-pow-negative": lambda lib: lib.tensor([2]) ** -1,
    "11-int-pow-int": lambda lib: lib.tensor([2, 3]) ** 2,
    # 12. 0-d tensors with dim 0 / -1
    "12-squeeze-0d": lambda lib: lib.tensor(2.0).squeeze(0),
    "12-transpose-0d": lambda lib: lib.tensor(2.0).transpose(0, 0),
    "12-transpose-0d-neg": lambda lib: lib.tensor(2.0).transpose(-1, 0),
    "12-mT-0d": lambda lib: lib.tensor(2.0).mT,
    "12-mT-1d": lambda lib: lib.tensor([2.0]).mT,
    "12-std-0d": lambda lib: lib.tensor(2.0).std(0),
    "12-var-0d": lambda lib: lib.tensor(2.0).var(0),
    "12-index-select-0d": lambda lib: lib.tensor(2.0).index_select(0, lib.tensor([0])),
    "12-prod-0d-grad": lambda lib: grad_of(lib, 3.0, lambda x: x.prod(0)),
    # 13. empty tensors
    "13-softmax-empty": lambda lib: lib.zeros(2, 0).softmax(1),
    "13-log-softmax-empty": lambda lib: lib.zeros(2, 0).log_softmax(1),
    "13-logsumexp-empty": lambda lib: lib.zeros(2, 0).logsumexp(1),
    "13-split-empty": lambda lib: tuple(lib.zeros(0).split(2)),
    "13-chunk-empty": lambda lib: tuple(lib.zeros(0).chunk(1)),
    "13-nll-no-classes": lambda lib: lib.nn.functional.nll_loss(lib.zeros(0, 0), lib.zeros(0, dtype=lib.int64)),
    "13-int-division-by-zero-empty": lambda lib: (lib.zeros(0, 3, dtype=lib.int64) // 0,
                                                  lib.zeros(0, dtype=lib.int64) % lib.tensor(0),
                                                  2 // lib.zeros(0, dtype=lib.int64)),
    "13-int-division-by-zero": lambda lib: lib.tensor(5) % lib.tensor([1, 0]),
    "13-cross-entropy-empty-batch": lambda lib: tuple(
        _empty_batch_loss(lib, loss, shape, reduction) for loss in ("cross_entropy", "nll_loss")
        for shape in ((0, 0), (0, 5), (0, 0, 3)) for reduction in ("mean", "sum", "none")),
    # 14. index assignment
    "14-setitem-ellipsis-broadcast": lambda lib: _setitem(lib, lambda x: x.__setitem__(..., lib.ones(1, 2, 2))),
    "14-setitem-mask-11": lambda lib: _setitem(lib, lambda x: x.__setitem__(lib.tensor([[True, False], [False, True]]),
                                                                               lib.full((1, 1), 7.0))),
    # 15. refused as torch does
    "15-flatten-reversed": lambda lib: lib.ones(2, 3, 4).flatten(2, 1),
    "15-logsumexp-duplicate": lambda lib: lib.ones(2, 3).logsumexp((1, 1)),
    # 17. denormal divisor
    "17-zero-over-denormal-grad": lambda lib: grads64(lib, [0.0], [1e-310], lambda z, x: z / x),
    "17-number-over-denormal": lambda lib: grad_of(lib, [1e-310, 2.0], lambda x: 0.0 / x, "float64"),
    "17-number-over-int": lambda lib: 3 / lib.tensor([2, 0]),
    "17-div-grad-order": lambda lib: grads2(lib, [-5.0], [1e-30], lambda x, y: (x / y).exp()),
    # 18 (raises on both sides; the wording is checked below)
    "18-cat-0d": lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]),
    "18-index-out-of-range": lambda lib: lib.zeros(0)[lib.tensor([0])],
}


def _empty_batch_loss(lib: Any, loss: str, shape: tuple[int, ...], reduction: str) -> Any:
    """(loss, input.grad) of a classification loss on an empty batch of `shape` (N = 0; C may be 0 too)."""
    x = lib.zeros(*shape, requires_grad=True)
    out = getattr(lib.nn.functional, loss)(x, lib.zeros(shape[:1] + shape[2:], dtype=lib.int64), reduction=reduction)
    out.sum().backward()
    return out, x.grad


def _setitem(lib: Any, assign: Any) -> Any:
    x = lib.zeros(2, 2)
    assign(x)
    return x


@pytest.mark.parametrize("name", sorted(PROGRAMS, key=lambda n: (int(n.split("-")[0]), n)))
def test_program_agrees_with_torch(name: str) -> None:
    agree(PROGRAMS[name])


# 16. the simple backend on bool tensors (the fixture runs these on both backends)
BOOL_PROGRAMS: dict[str, Any] = {
    "where": lambda lib: lib.where(lib.tensor([True, False]), lib.tensor([True, True]), lib.tensor([False, False])),
    "maximum": lambda lib: lib.maximum(lib.tensor([True, False]), lib.tensor([False, False])),
    "minimum": lambda lib: lib.minimum(lib.tensor([True, False]), lib.tensor([True, True])),
    "masked_fill": lambda lib: lib.tensor([True, False]).masked_fill(lib.tensor([True, False]), False),
    "min": lambda lib: lib.tensor([[True, False]]).min(),
    "amin": lambda lib: lib.tensor([[True, False]]).amin(0),
    "sigmoid": lambda lib: lib.tensor([True, False]).sigmoid(),
}


@pytest.mark.parametrize("name", sorted(BOOL_PROGRAMS))
def test_bool_program_agrees_with_torch(name: str) -> None:
    agree(BOOL_PROGRAMS[name])


# 18. messages that said nothing to a torch user
@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("cat-0d", "zero-dimensional tensor"),
        ("index-out-of-range", "out of bounds"),
        ("gather-out-of-range", "out of bounds"),
        ("index-select-out-of-range", "out of range"),
        ("gather-negative", "out of bounds"),
    ],
)
def test_refusals_say_what_happened(name: str, words: str) -> None:
    programs = {
        "cat-0d": lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]),
        "index-out-of-range": lambda lib: lib.zeros(0)[lib.tensor([0])],
        "gather-out-of-range": lambda lib: lib.zeros(2, 2).gather(1, lib.tensor([[5]])),
        "index-select-out-of-range": lambda lib: lib.zeros(2, 2).index_select(0, lib.tensor([3])),
        "gather-negative": lambda lib: lib.zeros(2, 2).gather(1, lib.tensor([[-1]])),
    }
    raises_like_torch(programs[name], words)
    for leak in ("axis", "tuple index"):
        error = run(programs[name], mt).error
        assert leak not in str(error), f"the message leaks numpy's wording: {error}"


# Functions torch users expect that were missing (issue #12): values, dtypes and gradients against torch.
X = [[0.5, -1.5, 2.0], [NAN, 3.0, -0.0]]
ADDED: dict[str, Any] = {
    "gelu": lambda lib: grad_of(lib, X, lambda x: lib.nn.functional.gelu(x), "float64"),
    "gelu-tanh": lambda lib: grad_of(lib, X, lambda x: lib.nn.functional.gelu(x, approximate="tanh"), "float64"),
    "silu": lambda lib: grad_of(lib, X, lambda x: lib.nn.functional.silu(x)),
    "leaky_relu": lambda lib: grad_of(lib, X, lambda x: lib.nn.functional.leaky_relu(x, 0.1)),
    "elu": lambda lib: grad_of(lib, X, lambda x: lib.nn.functional.elu(x), "float64"),
    "softplus": lambda lib: grad_of(lib, [[30.0, -2.0, 0.5]], lambda x: lib.nn.functional.softplus(x), "float64"),
    "modules": lambda lib: tuple(m(lib.tensor(X)) for m in (lib.nn.GELU(), lib.nn.SiLU(), lib.nn.LeakyReLU(),
                                                           lib.nn.ELU(), lib.nn.Softplus())),
    "cumsum": lambda lib: grad_of(lib, X, lambda x: x.cumsum(1)),
    "cumsum-int": lambda lib: lib.tensor([[True, False], [True, True]]).cumsum(0),
    "flip": lambda lib: grad_of(lib, X, lambda x: x.flip(0) * lib.arange(3.0)),
    "flip-forms": lambda lib: grad_of(lib, X, lambda x: lib.stack([x.flip(0, 1), x.flip((0, 1)), x.flip([-1, 0]),
                                                                   x.flip(dims=(1,)), lib.flip(x, (0, 1)),
                                                                   lib.flip(x, [1]), x.flip(())]) * lib.arange(3.0)),
    "flip-duplicate-dims": lambda lib: lib.ones(2, 3).flip(0, -2),
    "flip-function-int-dims": lambda lib: lib.flip(lib.ones(2, 3), 0),
    "sign-floor-round": lambda lib: tuple(f(lib.tensor([-1.5, 0.5, 2.5, -0.0, NAN])) for f in
                                          (lib.sign, lib.floor, lib.round)),
    "isnan-isinf-nan_to_num": lambda lib: (lib.tensor([NAN, INF, 1.0]).isnan(), lib.isinf(lib.tensor([NAN, -INF])),
                                           lib.nan_to_num(lib.tensor([NAN, INF, -INF, 2.0]))),
    "log1p-expm1-sin-cos": lambda lib: tuple(grad_of(lib, [1e-10, 0.5, -0.25], f, "float64") for f in
                                             (lambda x: x.log1p(), lambda x: x.expm1(), lambda x: x.sin(),
                                              lambda x: x.cos())),
    "sort": lambda lib: grad_of(lib, [[3.0, 1.0, 2.0], [0.5, 0.25, 0.75]], lambda x: lib.sort(x, 1).values * lib.arange(3.0)),
    "sort-indices": lambda lib: lib.tensor([[3.0, 1.0, 2.0]]).sort(1, descending=True).indices,
    "topk": lambda lib: grad_of(lib, [[3.0, 1.0, 2.0]], lambda x: x.topk(2, 1).values),
    "movedim": lambda lib: lib.zeros(2, 3, 4).movedim(0, -1).shape,
    "masked_fill_": lambda lib: lib.zeros(3).masked_fill_(lib.tensor([True, False, True]), 2.0),
    "floordiv-mod": lambda lib: (lib.tensor([-7, 7, 5]) // 2, lib.tensor([-7.0, 7.5, 5.0]) % 2,
                                 lib.tensor([-7, 7]) % lib.tensor([3, -3])),
    "where-matmul-methods": lambda lib: (lib.tensor([1.0, 2.0]).where(lib.tensor([True, False]), 0.0),
                                         lib.ones(2, 3).matmul(lib.ones(3))),
    "module-functions": lambda lib: (lib.add(lib.ones(2), lib.ones(2), alpha=3), lib.sub(lib.ones(2), 2),
                                     lib.mul(lib.ones(2), 3), lib.div(lib.ones(2), 4), lib.neg(lib.ones(2)),
                                     lib.pow(lib.ones(2) * 3, 2), lib.square(lib.arange(3)),
                                     lib.clip(lib.arange(4.0), 1, 2), lib.prod(lib.arange(1.0, 4.0)),
                                     lib.var(lib.arange(4.0)), lib.std(lib.arange(4.0), 0),
                                     lib.amin(lib.arange(4.0)), lib.argmin(lib.tensor([2.0, 1.0])),
                                     lib.logsumexp(lib.arange(4.0), 0), lib.softmax(lib.arange(3.0), 0),
                                     lib.log_softmax(lib.arange(3.0), 0),
                                     lib.masked_fill(lib.ones(2), lib.tensor([True, False]), 0.0),
                                     tuple(lib.chunk(lib.arange(5), 2))),
    "sum-mean-dtype": lambda lib: (lib.tensor([1, 2]).sum(dtype=lib.float64), lib.tensor([1, 2]).mean(dtype=lib.float32)),
    "var-correction": lambda lib: (lib.arange(4.0).var(correction=0), lib.arange(4.0).std(correction=2)),
    "any-all-dim": lambda lib: (lib.tensor([[True, False], [False, False]]).any(1),
                                lib.tensor([[1, 0], [2, 3]]).all(0, keepdim=True)),
    "squeeze-tuple": lambda lib: lib.zeros(1, 2, 1, 1).squeeze((0, 2)).shape,
}


@pytest.mark.parametrize("name", sorted(ADDED))
def test_added_function_agrees_with_torch(name: str) -> None:
    agree(ADDED[name])


# Found when the differential test drew the added functions, losses and index assignment (issue #12, second round).
F_ACTIVATIONS = ("gelu", "silu", "leaky_relu", "elu", "softplus")
DRAWN: dict[str, Any] = {
    **{f"{name}-{dtype}-refused": (lambda lib, name=name, dtype=dtype: getattr(lib.nn.functional, name)(
        lib.tensor([1, 0], dtype=getattr(lib, dtype)))) for name in F_ACTIVATIONS for dtype in ("int64", "bool")},
    "gelu-tanh-int64-refused": lambda lib: lib.nn.functional.gelu(lib.tensor([1, 0]), approximate="tanh"),
    # torch's fused derivatives: inf times the slope at 0, not inf * 0 = nan from a chain rule
    "silu-gelu-tanh-inf-grad": lambda lib: tuple(grad_of(lib, [0.0, 1.0, -INF, INF], lambda x: f(x) * INF, "float64")
                                                 for f in (lib.nn.functional.silu,
                                                           lambda x: lib.nn.functional.gelu(x, approximate="tanh"))),
    "softplus-nan-grad": lambda lib: grad_of(lib, [NAN, -INF, INF, 0.0, 25.0, 2.0],
                                             lambda x: lib.nn.functional.softplus(x, beta=0.5, threshold=5.0)),
    "elu-nan-grad": lambda lib: grad_of(lib, [NAN, -1.0, 2.0, -INF], lambda x: lib.nn.functional.elu(x, 2.0)),
    # no slope: exactly 0, also times an incoming inf or nan
    "floor-sign-round-zero-grad": lambda lib: grad_of(lib, [INF, NAN, 1.5, -INF],
                                                      lambda x: (x.floor() + x.sign() + x.round()).cos()),
    "sign-bool": lambda lib: lib.tensor([True, False]).sign(),
    "topk-bool-refused": lambda lib: lib.tensor([True, False]).topk(1),
    # // has no derivative in torch: the backward pass raises, the forward does not; number % x neither
    "floordiv-backward-refused": lambda lib: grad_of(lib, [1.5, -2.0], lambda x: x // 2),
    "floordiv-forward-with-grad": lambda lib: lib.tensor([1.5, -2.0], requires_grad=True) // 2 > 0,
    "rmod-number-backward-refused": lambda lib: grad_of(lib, [1.5, -2.0], lambda x: 2 % x),
    "mod-grad": lambda lib: grads2(lib, [1.0, -2.5, 0.0], [2.0, 0.75, -1.5], lambda x, y: x % y),
    "bool-floordiv-bool-refused": lambda lib: lib.tensor([True, False]) // lib.tensor([True, True]),
    "bool-mod-true-refused": lambda lib: lib.tensor([True, False]) % True,
    "bool-floordiv-int": lambda lib: (lib.tensor([True, False]) // 2, lib.tensor([True, False]) % 2),
    # index_put wants the value's dtype; a one-element value through one bool mask is a masked fill (cast)
    "setitem-index-dtype-refused": lambda lib: _setitem(lib, lambda x: x.__setitem__(lib.tensor([0]), lib.tensor([1]))),
    "setitem-mask-many-dtype-refused": lambda lib: _setitem(lib, lambda x: x.__setitem__(
        lib.tensor([[True, False], [False, True]]), lib.tensor([1, 2]))),
    "setitem-mask-one-value-casts": lambda lib: _setitem(lib, lambda x: x.__setitem__(
        lib.tensor([True, False]), lib.tensor([[5]]))),
    "setitem-basic-casts": lambda lib: _setitem(lib, lambda x: x.__setitem__(0, lib.tensor([1, 2]))),
}


@pytest.mark.parametrize("name", sorted(DRAWN))
def test_drawn_program_agrees_with_torch(name: str) -> None:
    agree(DRAWN[name])


DELIBERATE_REFUSALS: dict[str, Any] = {
    "setitem-value-requires-grad": lambda lib: _setitem(lib, lambda x: x.__setitem__(
        0, lib.tensor([1.0, 2.0], requires_grad=True))),
    "copy-value-requires-grad": lambda lib: lib.zeros(2).copy_(lib.ones(2, requires_grad=True)),
    "setitem-in-graph": lambda lib: (lambda x: x.__setitem__(0, 1.0))(lib.ones(2, requires_grad=True) * 2),
}


@pytest.mark.parametrize("name", sorted(DELIBERATE_REFUSALS))
def test_deliberate_refusals_say_so(name: str) -> None:
    """torch accepts these; minitorch-dg refuses them on purpose, says so, and the random programs accept
    that refusal only because it says so (docs/torch_differences.md lists them)."""
    program = DELIBERATE_REFUSALS[name]
    ours, theirs = run(program, mt), run(program, torch)
    assert theirs.error is None, theirs.describe()
    assert ours.error is not None and "deliberately" in str(ours.error), ours.describe()
    assert disagreement(program, allow_deliberate=True) is None
    assert disagreement(program) is not None


def test_a_refusal_that_does_not_say_deliberately_is_a_disagreement() -> None:
    def program(lib: Any) -> Any:
        if lib is mt:
            raise RuntimeError("not implemented")
        return lib.ones(1)

    assert disagreement(program, allow_deliberate=True) is not None


def test_loss_options_out_of_scope_are_refused_on_purpose() -> None:
    logits, target = mt.zeros(2, 3), mt.tensor([0, 1])
    for option in ({"ignore_index": 0}, {"label_smoothing": 0.1}, {"weight": mt.ones(3)}):
        with pytest.raises(NotImplementedError, match="deliberately not in scope"):
            mt.nn.functional.cross_entropy(logits, target, **option)


# The same programs on the CUDA backend (the simulator without a GPU), where the ops exist there.
CUDA_PROGRAMS = [name for name in PROGRAMS if name.split("-")[0] in ("1", "2", "3", "4", "5", "7", "8")]


@pytest.mark.skipif(cuda_env.mode() == "none", reason=cuda_env.skip_reason("tests/framework/test_torch_fidelity.py"))
@pytest.mark.parametrize("backend", ["fast"], indirect=True)  # once, not once per CPU backend
@pytest.mark.parametrize("name", CUDA_PROGRAMS)
def test_program_agrees_with_torch_on_cuda(name: str, backend: str) -> None:
    with cuda_schedule.serial_schedule():  # pooled simulated threads: several times faster than the stock simulator
        agree(PROGRAMS[name], OnDevice("cuda"))
