"""The Tensor API of the framework against torch: creation, dtypes, printing, conversion, indexing, in-place
operations, the framework's own Functions, custom Functions, and graph export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg.errors import ShapeError
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

rng = np.random.default_rng(7)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(4,))


def dtype_name(t: object) -> str:
    return str(getattr(t, "dtype")).replace("torch.", "").replace("minitorch_dg.", "")


# ---------------------------------------------------------------------------------------------------
# creation and dtypes
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [[1, 2, 3], [1.0, 2], [True, False], 3, 2.5, [[1, 2], [3, 4]], np.arange(3, dtype=np.float64),
     np.arange(3, dtype=np.int64), np.array([1.5], dtype=np.float32)],
)
def test_tensor_infers_dtypes_like_torch(data: object) -> None:
    ours, theirs = mt.tensor(data), torch.tensor(data)
    assert dtype_name(ours) == dtype_name(theirs), f"tensor({data!r}): {ours.dtype} vs torch {theirs.dtype}"
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert_close(ours.to_numpy(), theirs.double().numpy(), what=f"tensor({data!r})")


def test_factories_match_torch() -> None:
    pairs = [
        (mt.zeros(2, 3), torch.zeros(2, 3)),
        (mt.ones((2, 3), dtype=mt.float64), torch.ones((2, 3), dtype=torch.float64)),
        (mt.full((2,), 7), torch.full((2,), 7)),
        (mt.full((2,), 7.5), torch.full((2,), 7.5)),
        (mt.arange(5), torch.arange(5)),
        (mt.arange(1, 2, 0.25), torch.arange(1, 2, 0.25)),
        (mt.linspace(0, 1, 5), torch.linspace(0, 1, 5)),
        (mt.eye(3), torch.eye(3)),
        (mt.zeros_like(mt.ones(2, dtype=mt.int64)), torch.zeros_like(torch.ones(2, dtype=torch.int64))),
    ]
    for ours, theirs in pairs:
        assert dtype_name(ours) == dtype_name(theirs)
        assert_close(ours.to_numpy(), theirs.double().numpy(), what="factory")


def test_manual_seed_makes_random_tensors_reproducible() -> None:
    mt.manual_seed(3)
    a, b = mt.rand(4), mt.randn(2, 2)
    mt.manual_seed(3)
    assert mt.equal(a, mt.rand(4)) and mt.equal(b, mt.randn(2, 2))
    values = mt.rand(10_000).to_numpy()
    assert 0.0 <= values.min() and values.max() < 1.0 and abs(values.mean() - 0.5) < 0.02


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1, 2]) * 2.5,
        lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 4]),
        lambda lib: lib.tensor([1.0, 2.0]) * lib.tensor([1.0, 2.0], dtype=lib.float64),
        lambda lib: lib.tensor([1.0, 2.0]) + lib.tensor(1.0, dtype=lib.float64),
        lambda lib: lib.tensor([1, 2]) + lib.tensor([True, False]),
        lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64) * 2,
        lambda lib: lib.tensor([1, 2]) < 2,
        lambda lib: lib.tensor([True, False]).sum(),
        lambda lib: lib.tensor([1, 2]).sum(),
        lambda lib: lib.tensor([1, 2]).exp(),
    ],
)
def test_type_promotion_matches_torch(make: object) -> None:
    ours, theirs = make(mt), make(torch)  # type: ignore[operator]
    assert dtype_name(ours) == dtype_name(theirs), f"{ours.dtype} vs torch {theirs.dtype}"
    assert_close(ours.to_numpy(), theirs.double().numpy(), what="value", dtype="float32")


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1.0, 2.0]),
        lambda lib: lib.tensor([[1.5, 2.0], [-3.25, 4.0]]),
        lambda lib: lib.tensor([1, 2, 3]),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor(3.5),
        lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
        lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    ],
)
def test_repr_looks_like_torch(make: object) -> None:
    ours = repr(make(mt))  # type: ignore[operator]
    theirs = repr(make(torch)).replace("torch.", "minitorch_dg.")  # type: ignore[operator]
    assert ours == theirs


# ---------------------------------------------------------------------------------------------------
# conversion and autograd API
# ---------------------------------------------------------------------------------------------------


def test_item_tolist_numpy() -> None:
    t = mt.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t[1, 0].item() == 3.0 and isinstance(t[1, 0].item(), float)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    view = t.numpy()
    view[0, 0] = 9.0
    assert t[0, 0].item() == 9.0, "numpy() shares memory with the tensor, as torch"
    with pytest.raises(RuntimeError, match="requires grad"):
        mt.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="cannot be converted to a Python number"):
        t.item()


def test_detach_shares_storage_and_leaves_the_graph() -> None:
    x = mt.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    d.add_(1)
    assert y.tolist() == [3.0, 3.0, 3.0]


def test_int_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        mt.tensor([1, 2], requires_grad=True)


def test_no_grad_and_enable_grad() -> None:
    x = mt.ones(2, requires_grad=True)
    with mt.no_grad():
        y = x * 2
        with mt.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None and z.grad_fn.name == "MulBackward"


def test_to_dtype_is_differentiable() -> None:
    check_op(lambda x: (x.to(mt.float64 if isinstance(x, mt.Tensor) else torch.float64) * 3).sum(), A,
             dtype="float32")


def test_custom_function_square_matches_torch() -> None:
    class Square(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):  # type: ignore[no-untyped-def]
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    class TorchSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):  # type: ignore[no-untyped-def]
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    check_op(lambda x: (Square if isinstance(x, mt.Tensor) else TorchSquare).apply(x).sum(), A)


def test_custom_function_returning_a_non_tensor_is_explained() -> None:
    class Bad(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            return 3.0

    with pytest.raises(TypeError, match="must return a Tensor"):
        Bad.apply(mt.ones(2, requires_grad=True))


def _function_whose_backward_returns(result: object, inputs: int = 1) -> type:
    class Odd(mt.autograd.Function):
        @staticmethod
        def forward(ctx, *xs):  # type: ignore[no-untyped-def]
            return xs[0] * 2.0

        @staticmethod
        def backward(ctx, grad):  # type: ignore[no-untyped-def]
            return result

    return Odd


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (3.0, TypeError, r"Odd\.backward returned float as the gradient of input 0; return a Tensor"),
        (mt.ones(3), ShapeError, r"Odd\.backward returned a gradient of shape \(3,\) for input 0, which has shape \(2,\)"),
        ((mt.ones(2), mt.ones(2)), TypeError, r"Odd\.backward returned 2 gradient\(s\) for 1 input\(s\) of forward"),
    ],
    ids=["not-a-tensor", "wrong-shape", "wrong-count"],
)
def test_a_wrong_gradient_from_a_custom_backward_is_named(result: object, error: type, message: str) -> None:
    x = mt.ones(2, requires_grad=True)
    with pytest.raises(error, match=message):
        _function_whose_backward_returns(result).apply(x).sum().backward()


def test_a_gradient_of_another_dtype_is_cast_to_the_input_dtype() -> None:
    x = mt.ones(2, dtype=mt.float32, requires_grad=True)
    _function_whose_backward_returns(mt.ones(2, dtype=mt.float64)).apply(x).sum().backward()
    assert x.grad is not None and x.grad.dtype is mt.float32


# ---------------------------------------------------------------------------------------------------
# the framework's own Functions, against torch
# ---------------------------------------------------------------------------------------------------

FRAMEWORK_OPS = {
    "abs": lambda x: x.abs(),
    "sqrt": lambda x: (x * x + 0.5).sqrt(),
    "clamp": lambda x: x.clamp(-0.5, 0.7),
    "clamp_min": lambda x: x.clamp(min=0.1),
    "maximum": lambda x: x.maximum(x * 0.5),
    "where": lambda x: (mt if isinstance(x, mt.Tensor) else torch).where(x > 0, x * 2, x * -3),
    "prod": lambda x: x.prod(1),
    "var": lambda x: x.var(1),
    "std_all": lambda x: x.std(),
    "masked_fill": lambda x: x.masked_fill(x < 0, 0.25),
    "repeat": lambda x: x.repeat(2, 1, 3),
    "flatten": lambda x: x.flatten(),
    "chunk": lambda x: x.chunk(2, 1)[1] * 2,
    "split": lambda x: x.split(3, 1)[0].sum(),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "unbind": lambda x: x.unbind(1)[2],
    "T": lambda x: x.T * 1,
    "mT": lambda x: x.mT * 1,
    "t": lambda x: x.t() * 1,
    "min_dim": lambda x: x.min(1).values,
    "amin": lambda x: x.amin(0),
    "reciprocal": lambda x: (x * x + 1).reciprocal(),
    "rpow": lambda x: 2 ** x,
    "logsumexp_free": lambda x: (x.exp().sum(1)).log(),
    "advanced_rows": lambda x: x[(mt if isinstance(x, mt.Tensor) else torch).tensor([2, 0, 2])],
    "advanced_pairs": lambda x: x[[0, 1, 2], [3, 1, 0]],
    "mask": lambda x: x[x > 0],
    "gather": lambda x: x.gather(1, (mt if isinstance(x, mt.Tensor) else torch).tensor([[0, 3], [1, 1], [2, 0]])),
    "index_select": lambda x: (mt if isinstance(x, mt.Tensor) else torch).index_select(
        x, 1, (mt if isinstance(x, mt.Tensor) else torch).tensor([3, 0])),
    "stack": lambda x: (mt if isinstance(x, mt.Tensor) else torch).stack([x, x * 2], 1),
    "cat": lambda x: (mt if isinstance(x, mt.Tensor) else torch).cat([x, x[:1]], 0),
}


@pytest.mark.parametrize("name", list(FRAMEWORK_OPS))
def test_framework_ops_match_torch(name: str) -> None:
    check_op(FRAMEWORK_OPS[name], A, label=name)


# ---------------------------------------------------------------------------------------------------
# indexing and in-place updates
# ---------------------------------------------------------------------------------------------------


def test_index_errors_are_torch_like() -> None:
    x = mt.zeros(2, 3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x[0, 5]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]


def test_setitem_basic_and_advanced_match_torch() -> None:
    ours, theirs = mt.tensor(A), torch.tensor(A)
    for target in (ours, theirs):
        target[0, 1:3] = 5.0
        target[:, 0] = (mt if isinstance(target, mt.Tensor) else torch).tensor([1.0, 2.0, 3.0], dtype=target.dtype)
        target[target > 1.5] = -1.0
        target[[1, 2], [3, 3]] = 7.0
    assert_close(ours.to_numpy(), theirs.numpy(), what="after item assignment")


def test_in_place_updates_under_no_grad_like_an_optimizer_step() -> None:
    ours = mt.tensor(A, requires_grad=True)
    theirs = torch.tensor(A, requires_grad=True)
    for p in (ours, theirs):
        (p * p).sum().backward()
        with (mt if isinstance(p, mt.Tensor) else torch).no_grad():
            p -= 0.1 * p.grad
            p.mul_(0.5).add_(1.0, alpha=2.0)
    assert_close(ours.detach().to_numpy(), theirs.detach().numpy(), what="parameter after the update")
    assert ours.is_leaf and ours.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_is_refused() -> None:
    p = mt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.add_(1)


def test_in_place_bumps_the_version_shared_by_views() -> None:
    x = mt.zeros(4)
    view = x[1:3]
    before = x._version
    view.fill_(2.0)
    assert x._version == before + 1 and x.tolist() == [0.0, 2.0, 2.0, 0.0]


def test_len_iter_bool() -> None:
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3 and [row.tolist() for row in x][1] == [3.0, 4.0]
    assert bool(mt.tensor([1.0])) and not bool(mt.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


# ---------------------------------------------------------------------------------------------------
# graph export
# ---------------------------------------------------------------------------------------------------


def _loop(x: mt.Tensor) -> mt.Tensor:
    y = x
    while y.sum().item() < 10:
        y = y * 2
    return y.sum()


def test_graph_export_shows_the_graph_that_ran() -> None:
    small, large = mt.tensor([0.5], requires_grad=True), mt.tensor([4.0], requires_grad=True)
    small_graph, large_graph = mt.to_mermaid(_loop(small), names={"x": small}), mt.to_mermaid(_loop(large))
    assert small_graph.count('(["Mul"])') == 5 and large_graph.count('(["Mul"])') == 2
    assert small_graph.startswith("flowchart LR") and '"x: 1 float32"' in small_graph


def test_dot_export_names_parameters_and_ops() -> None:
    w = mt.ones(2, 3, requires_grad=True)
    x = mt.ones(4, 2)
    out = (x @ w).relu().sum()
    dot = mt.to_dot(out, names={"weight": w})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for fragment in ('label="weight: 2×3 float32"', 'label="MatMul"', 'label="ReLU"', "->"):
        assert fragment in dot, fragment
