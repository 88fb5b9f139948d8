"""ex08 public tests: layers, the softmax family, losses, dropout and init against torch.nn.

Functions are reached through the framework (`mt.nn.functional`, `mt.nn` modules with weights copied
from torch modules), which calls exercises/ex08_nn.py through the course. Every forward value and every
gradient is compared with torch on the same numpy data (tests/support/tensor_oracle.py), in float64 and
float32; the random parts (dropout, init) are checked against their exact rules and distributions.

ex08 runs in a worker process (grader/judge.py): the minitorch-dg side of every check runs there, through
`check_op(worker=ag)` or a program (`run`), and torch and the comparison stay here. A library function comes
through the function's first argument (`library=True`: minitorch_dg there, torch here), and what a function
needs besides its tensors travels as `params`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support import nn_programs
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

ag = judge.exercise("ex08")  # ex08 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex08's module as the worker serves it (never bound here)

DTYPES = ["float64", "float32"]


def check(fn: Callable[..., Any], *arrays: np.ndarray, **options: Any) -> None:
    """`check_op` with the minitorch-dg side in ex08's worker."""
    check_op(fn, *arrays, worker=ag, **options)


def data(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def labels(n: int, classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, classes, size=n).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Part 1: linear
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("linear is input @ weight.T + bias: weight has shape (out_features, in_features).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape", [(4, 3), (3,), (2, 5, 3)])
def test_linear_with_bias(dtype: str, x_shape: tuple[int, ...]) -> None:
    check(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), data(*x_shape), data(2, 3, seed=1),
          data(2, seed=2), library=True, dtype=dtype, label=f"F.linear(x of shape {x_shape}, weight (2, 3), bias (2,))")


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_without_bias(dtype: str) -> None:
    check(lambda lib, x, w: lib.nn.functional.linear(x, w), data(4, 3), data(5, 3, seed=1), library=True,
          dtype=dtype, label="F.linear(x (4, 3), weight (5, 3), bias=None)")


@pytest.mark.hint("nn.Linear calls F.linear with its own weight and bias: check linear first.")
def test_linear_module_with_copied_weights() -> None:
    torch.manual_seed(0)
    nn_programs.compare_module(ag, [("Linear", 6, 4)], "float64", data(5, 6), None, data(5, 4, seed=3),
                               what="Linear(6, 4)(x)")


# ---------------------------------------------------------------------------------------------
# Part 2: softmax, log_softmax, logsumexp
# ---------------------------------------------------------------------------------------------

SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), 0)]


@pytest.mark.hint("Subtract the max along `dim` (keepdim=True), exponentiate, divide by the sum along the same dim.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax(dtype: str, shape: tuple[int, ...], dim: int) -> None:
    check(lambda lib, x, d: lib.nn.functional.softmax(x, dim=d), data(*shape, scale=2.0), library=True,
          params=[dim], dtype=dtype, label=f"softmax(x of shape {shape}, dim={dim})")


@pytest.mark.hint("log_softmax(x) = x - logsumexp(x, dim, keepdim=True), along the `dim` you are given.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_log_softmax(dtype: str, shape: tuple[int, ...], dim: int) -> None:
    check(lambda lib, x, d: lib.nn.functional.log_softmax(x, dim=d), data(*shape, scale=2.0), library=True,
          params=[dim], dtype=dtype, label=f"log_softmax(x of shape {shape}, dim={dim})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_logsumexp(dtype: str, keepdim: bool, shape: tuple[int, ...], dim: int) -> None:
    check(lambda x, d, k: x.logsumexp(d, keepdim=k), data(*shape, scale=2.0), params=[dim, keepdim], dtype=dtype,
          label=f"logsumexp(x of shape {shape}, dim={dim}, keepdim={keepdim})")


def test_tensor_methods_reach_the_same_functions() -> None:
    x = data(3, 5)
    check(lambda t: t.softmax(1), x, label="x.softmax(1)")
    check(lambda t: t.log_softmax(0), x, label="x.log_softmax(0)")
    check(lambda t: t.logsumexp(1), x, label="x.logsumexp(1)")


EXTREME = np.array([[1000.0, 999.0, -1000.0, 0.0], [-1000.0, -1001.0, -999.5, -1000.0], [1000.0, 1000.0, 1000.0, -1000.0]])


@pytest.mark.hint("exp(1000) overflows to inf and exp(-1000) underflows to 0: shift by the max first.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_family_is_stable_at_plus_minus_1000(dtype: str, name: str, dim: int) -> None:
    check(lambda lib, x, name, d: getattr(lib.nn.functional, name)(x, dim=d), EXTREME, library=True,
          params=[name, dim], dtype=dtype, label=f"{name}(x with entries of ±1000, dim={dim})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_logsumexp_is_stable_at_plus_minus_1000(dtype: str, dim: int) -> None:
    check(lambda x, d: x.logsumexp(d), EXTREME, params=[dim], dtype=dtype, label=f"logsumexp(x with entries of ±1000, dim={dim})")


# ---------------------------------------------------------------------------------------------
# Part 3: losses
# ---------------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.hint("mse_loss: square the difference, then .mean(), .sum() or nothing, as `reduction` says.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(dtype: str, reduction: str) -> None:
    check(lambda lib, x, y, r: lib.nn.functional.mse_loss(x, y, reduction=r), data(4, 3), data(4, 3, seed=1),
          library=True, params=[reduction], dtype=dtype, label=f"mse_loss(reduction={reduction!r})")


def _class_loss(name: str, x: np.ndarray, target: np.ndarray, reduction: str, dtype: str) -> None:
    """`name` (nll_loss or cross_entropy) of x against integer class targets (an int64 input: no gradient)."""
    check(lambda lib, t, y, name, r: getattr(lib.nn.functional, name)(t, y, reduction=r), x,
          np.asarray(target, dtype=np.int64), library=True, params=[name, reduction], dtype=dtype, label=f"{name}(input of shape {x.shape}, target {target.tolist()}, "
                                       f"reduction={reduction!r})")


@pytest.mark.hint("nll_loss: pick input[n, target[n]] for every row n (gather along dim 1), negate, then reduce.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(dtype: str, reduction: str) -> None:
    log_probs = torch.log_softmax(torch.tensor(data(5, 4)), 1).numpy()
    _class_loss("nll_loss", log_probs, labels(5, 4), reduction, dtype)


@pytest.mark.hint("cross_entropy(x, t) = nll_loss(log_softmax(x, dim=1), t).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy(dtype: str, reduction: str) -> None:
    _class_loss("cross_entropy", data(6, 5, scale=3.0), labels(6, 5), reduction, dtype)


@pytest.mark.hint("cross_entropy must not compute exp of a logit of 1000: use the stable log_softmax.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_is_stable_at_plus_minus_1000(dtype: str, reduction: str) -> None:
    _class_loss("cross_entropy", EXTREME, np.array([2, 0, 1]), reduction, dtype)


def test_cross_entropy_of_one_sample_and_of_extra_dims() -> None:
    _class_loss("cross_entropy", data(5), np.array(3), "mean", "float64")
    _class_loss("cross_entropy", data(2, 4, 3), labels(6, 4).reshape(2, 3), "none", "float64")
    _class_loss("nll_loss", data(2, 4, 3), labels(6, 4).reshape(2, 3), "mean", "float64")


@pytest.mark.hint("The loss modules call F.mse_loss / F.nll_loss / F.cross_entropy with their `reduction`.")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_modules(reduction: str) -> None:
    x, y, target = data(4, 3), data(4, 3, seed=1), labels(4, 3)
    for name, second in [("MSELoss", y), ("CrossEntropyLoss", target), ("NLLLoss", target)]:
        got = run(lambda name, r, x, y: getattr(mt.nn, name)(reduction=r)(mt.tensor(x), mt.tensor(y)).to_numpy(),
                  name, reduction, x, second)
        want = getattr(torch.nn, name)(reduction=reduction)(torch.tensor(x), torch.tensor(second))
        assert_close(got, want, what=f"{name}(reduction={reduction!r})")


@pytest.mark.hint("A whole model: Linear, ReLU, Linear, then cross-entropy. Check linear and cross_entropy first.")
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_with_copied_weights_matches_torch_values_and_gradients(dtype: str) -> None:
    torch.manual_seed(1)
    nn_programs.compare_module(ag, [("Linear", 8, 16), ("ReLU",), ("Linear", 16, 5)], dtype, data(12, 8),
                               labels(12, 5), None,
                               what="MLP Linear(8, 16), ReLU, Linear(16, 5) with a cross-entropy loss")


def test_softmax_and_log_softmax_modules() -> None:
    x = data(3, 4)
    for name, dim in [("Softmax", 1), ("LogSoftmax", 0)]:
        got = run(lambda name, d, x: getattr(mt.nn, name)(dim=d)(mt.tensor(x)).to_numpy(), name, dim, x)
        assert_close(got, getattr(torch.nn, name)(dim=dim)(torch.tensor(x)), what=f"nn.{name}(dim={dim})")


# ---------------------------------------------------------------------------------------------
# Part 4: dropout
# ---------------------------------------------------------------------------------------------


def _dropout(x: Any, p: float, training: bool, seed: Any) -> Any:
    """Program: F.dropout of a float64 tensor of x, after mt.manual_seed(seed) unless seed is None."""
    if seed is not None:
        mt.manual_seed(seed)
    return mt.nn.functional.dropout(mt.tensor(x, dtype=mt.float64), p, training=training).to_numpy()


def _dropout_identities(x: Any) -> tuple[Any, Any, Any]:
    """Program: dropout(p=0.5, training=False), dropout(p=0, training=True) and nn.Dropout(0.3) in eval mode
    of a float64 tensor of x."""
    t = mt.tensor(x, dtype=mt.float64)
    layer = mt.nn.Dropout(0.3)
    layer.eval()
    dropout = mt.nn.functional.dropout
    return dropout(t, 0.5, training=False).to_numpy(), dropout(t, 0.0, training=True).to_numpy(), layer(t).to_numpy()


@pytest.mark.hint("dropout(x, p, training=False) returns x unchanged; so does p = 0.")
def test_dropout_in_eval_mode_and_with_p_zero_is_the_identity() -> None:
    x = data(20, 10)
    in_eval, p_zero, module_in_eval = run(_dropout_identities, x)
    assert_close(in_eval, x, what="dropout(x, p=0.5, training=False)")
    assert_close(p_zero, x, what="dropout(x, p=0.0, training=True)")
    assert_close(module_in_eval, x, what="nn.Dropout(0.3) in eval mode")


@pytest.mark.hint("Keep each element with probability 1 - p and multiply the kept ones by 1 / (1 - p).")
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p: float) -> None:
    x = np.abs(data(100, 100)) + 0.5
    out = run(_dropout, x, p, True, 7)
    dropped = out == 0.0
    kept = ~dropped
    fraction = dropped.mean()
    assert abs(fraction - p) < 0.03, f"dropout(p={p}) zeroed {fraction:.3f} of 10000 elements; expected about {p}"
    assert_close(out[kept], x[kept] / (1 - p), what=f"dropout(p={p}): the kept elements (must be x / (1 - p))")


def test_dropout_with_p_one_drops_everything() -> None:
    out = run(_dropout, data(4, 5), 1.0, True, None)
    assert_close(out, np.zeros((4, 5)), what="dropout(x, p=1.0) (torch returns zeros)")


def _three_dropouts(x: Any, seed: int) -> tuple[Any, Any, Any]:
    """Program: dropout(p=0.5) after manual_seed(seed), again after manual_seed(seed), then once more."""
    t, dropout = mt.tensor(x), mt.nn.functional.dropout
    mt.manual_seed(seed)
    first = dropout(t, 0.5).to_numpy()
    mt.manual_seed(seed)
    second = dropout(t, 0.5).to_numpy()
    return first, second, dropout(t, 0.5).to_numpy()


@pytest.mark.hint("Draw the mask with mt.rand: mt.manual_seed must make dropout reproducible.")
def test_dropout_is_reproducible_with_manual_seed() -> None:
    first, second, third = run(_three_dropouts, data(30, 30), 3)
    assert np.array_equal(first, second), "dropout after the same mt.manual_seed gave different masks"
    assert not np.array_equal(second, third), "two dropout calls in a row gave the same mask"


def _dropout_and_gradient(x: Any, p: float, upstream: Any, seed: int) -> tuple[Any, Any]:
    """Program: out = dropout(x, p) after manual_seed(seed), out.backward(upstream); (out, x.grad)."""
    mt.manual_seed(seed)
    t = mt.tensor(x, dtype=mt.float64, requires_grad=True)
    out = mt.nn.functional.dropout(t, p)
    out.backward(mt.tensor(upstream, dtype=mt.float64))
    return out.detach().to_numpy(), None if t.grad is None else t.grad.to_numpy()


@pytest.mark.hint("The gradient of dropout is the same mask, scaled by 1 / (1 - p).")
def test_dropout_gradient_is_the_scaled_mask() -> None:
    upstream = data(20, 20, seed=5)
    out, grad = run(_dropout_and_gradient, data(20, 20), 0.25, upstream, 11)
    assert grad is not None, "x.grad is None after backward through dropout"
    assert_close(grad, upstream * (out != 0.0) / 0.75, what="gradient of dropout(x, p=0.25)")


def _dropout_module_train_then_eval(x: Any, seed: int) -> tuple[Any, Any]:
    """Program: Sequential(Dropout(0.5)) on x in training mode, then after model.eval()."""
    mt.manual_seed(seed)
    model = mt.nn.Sequential(mt.nn.Dropout(0.5))
    t = mt.tensor(x)
    training = model(t).to_numpy()
    model.eval()
    return training, model(t).to_numpy()


def test_dropout_module_follows_train_and_eval() -> None:
    training, evaluating = run(_dropout_module_train_then_eval, np.ones((40, 40)), 5)
    assert (training == 0).any(), "nn.Dropout in training mode dropped nothing"
    assert_close(evaluating, np.ones((40, 40)), what="nn.Dropout after model.eval()", dtype="float32")


# ---------------------------------------------------------------------------------------------
# Part 5: initialisation
# ---------------------------------------------------------------------------------------------

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.hint("See the table of gains in the handout; leaky_relu's default slope is 0.01.")
@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain(nonlinearity: str, param: float | None) -> None:
    got = run(lambda n, p: mt.nn.init.calculate_gain(n, p), nonlinearity, param)
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert_close(got, want, what=f"calculate_gain({nonlinearity!r}, {param})")


def test_calculate_gain_rejects_unknown_nonlinearities() -> None:
    with pytest.raises(ValueError):
        run(lambda: mt.nn.init.calculate_gain("softsign-ish"))


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 5, 5), (1, 1)])
def test_fan_in_and_fan_out(shape: tuple[int, ...]) -> None:
    got = run(lambda shape: tuple(ex.calculate_fan_in_and_fan_out(mt.zeros(*shape))), shape)
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    assert tuple(got) == tuple(want), f"calculate_fan_in_and_fan_out(shape {shape}) = {got}, torch gives {want}"


def test_fan_needs_two_dims() -> None:
    with pytest.raises(ValueError):
        run(lambda: ex.calculate_fan_in_and_fan_out(mt.zeros(5)))


def _check_uniform(values: np.ndarray, bound: float, what: str) -> None:
    """values are U(-bound, bound): inside the bound, reaching near it, and uniform by a KS test."""
    assert np.all(np.abs(values) <= bound * (1 + 1e-6)), (
        f"{what}: largest |value| {np.abs(values).max():.6g} exceeds the bound {bound:.6g}"
    )
    assert np.abs(values).max() > 0.98 * bound, (
        f"{what}: largest |value| {np.abs(values).max():.6g} stays far inside the bound {bound:.6g}"
    )
    p_value = stats.kstest(values.reshape(-1), stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue
    assert p_value > 1e-4, f"{what}: the values do not look uniform on [-{bound:.4g}, {bound:.4g}] (KS p = {p_value:.2g})"


def _kaiming_uniform(a: float, mode: str, nonlinearity: str) -> dict[str, Any]:
    """Program: kaiming_uniform_ of a (40, 60) weight that requires grad, after manual_seed(0)."""
    mt.manual_seed(0)
    w = mt.zeros(40, 60, requires_grad=True)
    returned = mt.nn.init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    return {"returns it": returned is w, "leaf": w.is_leaf and w.requires_grad, "values": w.detach().to_numpy()}


@pytest.mark.hint("bound = gain * sqrt(3 / fan), with gain = calculate_gain(nonlinearity, a).")
@pytest.mark.parametrize("a,mode,nonlinearity", [(0.0, "fan_in", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                                  (0.1, "fan_out", "leaky_relu"), (0.0, "fan_out", "tanh")])
def test_kaiming_uniform_(a: float, mode: str, nonlinearity: str) -> None:
    got = run(_kaiming_uniform, a, mode, nonlinearity)
    assert got["returns it"], "kaiming_uniform_ must return the tensor it filled"
    assert got["leaf"], "initialisation must leave the weight a leaf that requires grad"
    fan = 60 if mode == "fan_in" else 40
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    _check_uniform(got["values"], bound, f"kaiming_uniform_(a={a:.3g}, mode={mode!r}, {nonlinearity!r})")


def _filled(name: str, shape: tuple[int, ...], seed: int, options: dict[str, Any]) -> tuple[bool, Any]:
    """Program: mt.nn.init.<name>(w, **options) of w = zeros(shape) after manual_seed(seed); (whether it
    returned w, w's values)."""
    mt.manual_seed(seed)
    w = mt.zeros(*shape)
    returned = getattr(mt.nn.init, name)(w, **options)
    return returned is w, w.to_numpy()


@pytest.mark.hint("bound = gain * sqrt(6 / (fan_in + fan_out)).")
@pytest.mark.parametrize("shape,gain", [((30, 50), 1.0), ((20, 10, 3), 5.0 / 3.0)])
def test_xavier_uniform_(shape: tuple[int, ...], gain: float) -> None:
    returns_it, values = run(_filled, "xavier_uniform_", shape, 1, {"gain": gain})
    assert returns_it, "xavier_uniform_ must return the tensor it filled"
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    _check_uniform(values, gain * math.sqrt(6.0 / (fan_in + fan_out)), f"xavier_uniform_(shape {shape}, gain={gain:.3g})")


def _zeros_of_ones(shape: tuple[int, ...]) -> tuple[bool, Any]:
    """Program: zeros_ of w = ones(shape) that requires grad; (whether it returned w, w's values)."""
    w = mt.ones(*shape, requires_grad=True)
    return mt.nn.init.zeros_(w) is w, w.detach().to_numpy()


def test_zeros_() -> None:
    returns_it, values = run(_zeros_of_ones, (3, 4))
    assert returns_it, "zeros_ must return the tensor it filled"
    assert_close(values, np.zeros((3, 4)), what="zeros_(w)", dtype="float32")


def _linear_weights(n_in: int, n_out: int, seed: int) -> tuple[Any, Any]:
    """Program: (weight, bias) of nn.Linear(n_in, n_out) made after manual_seed(seed)."""
    mt.manual_seed(seed)
    layer = mt.nn.Linear(n_in, n_out)
    return layer.weight.detach().to_numpy(), layer.bias.detach().to_numpy()


@pytest.mark.hint("nn.Linear: kaiming_uniform_(weight, a=sqrt(5)) gives U(±1/sqrt(in_features)); the bias too.")
def test_linear_is_initialised_with_torchs_distribution() -> None:
    weight, bias = run(_linear_weights, 50, 80, 2)
    bound = 1.0 / math.sqrt(50)
    _check_uniform(weight, bound, "nn.Linear(50, 80).weight")
    assert np.all(np.abs(bias) <= bound), f"nn.Linear(50, 80).bias exceeds the bound 1/sqrt(50) = {bound:.4f}"
    assert np.abs(bias).max() > 0.8 * bound, "nn.Linear(50, 80).bias does not spread over U(±1/sqrt(50))"
    assert len(set(bias.tolist())) == 80, "nn.Linear's bias values must be drawn, not constant"


def test_linear_initialisation_is_reproducible_with_manual_seed() -> None:
    first, second = run(_linear_weights, 7, 3, 9), run(_linear_weights, 7, 3, 9)
    assert np.array_equal(first[0], second[0]), "nn.Linear(7, 3).weight differs after the same mt.manual_seed"
    assert np.array_equal(first[1], second[1]), "nn.Linear(7, 3).bias differs after the same mt.manual_seed"
