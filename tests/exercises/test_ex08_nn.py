"""ex08 public tests: layers, the softmax family, losses, dropout and init against torch.nn.

Functions are reached through the framework (`mt.nn.functional`, `mt.nn` modules with weights copied
from torch modules), which calls exercises/ex08_nn.py through the course. Every forward value and every
gradient is compared with torch on the same numpy data (tests/support/tensor_oracle.py), in float64 and
float32; the random parts (dropout, init) are checked against their exact rules and distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

import minitorch_dg as mt
from minitorch_dg import course
from tests.support.compare import assert_close
from tests.support.tensor_oracle import check_op

ex08 = course.ExerciseProxy("ex08")
F = mt.nn.functional
TF = torch.nn.functional

DTYPES = ["float64", "float32"]


def lib(x: Any) -> Any:
    """mt.nn.functional for minitorch-dg tensors, torch.nn.functional for torch tensors."""
    return F if isinstance(x, mt.Tensor) else TF


def data(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def labels(n: int, classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, classes, size=n).astype(np.int64)


def copy_into(model: mt.nn.Module, reference: torch.nn.Module) -> None:
    """Load the torch module's weights into the minitorch-dg module (same structure, same names)."""
    state = {k: mt.tensor(v.detach().numpy()) for k, v in reference.state_dict().items()}
    model.load_state_dict(state)


# ---------------------------------------------------------------------------------------------
# Part 1: linear
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("linear is input @ weight.T + bias: weight has shape (out_features, in_features).")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape", [(4, 3), (3,), (2, 5, 3)])
def test_linear_with_bias(dtype: str, x_shape: tuple[int, ...]) -> None:
    check_op(lambda x, w, b: lib(x).linear(x, w, b), data(*x_shape), data(2, 3, seed=1), data(2, seed=2),
             dtype=dtype, label=f"F.linear(x of shape {x_shape}, weight (2, 3), bias (2,))")


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_without_bias(dtype: str) -> None:
    check_op(lambda x, w: lib(x).linear(x, w), data(4, 3), data(5, 3, seed=1), dtype=dtype,
             label="F.linear(x (4, 3), weight (5, 3), bias=None)")


@pytest.mark.hint("nn.Linear calls F.linear with its own weight and bias: check linear first.")
def test_linear_module_with_copied_weights() -> None:
    torch.manual_seed(0)
    reference = torch.nn.Linear(6, 4).double()
    layer = mt.nn.Linear(6, 4, dtype=mt.float64)
    copy_into(layer, reference)
    x = data(5, 6)
    upstream = data(5, 4, seed=3)
    t_x = torch.tensor(x, requires_grad=True)
    m_x = mt.tensor(x, requires_grad=True)
    t_out, m_out = reference(t_x), layer(m_x)
    assert_close(m_out, t_out, what="Linear(6, 4)(x)")
    t_out.backward(torch.tensor(upstream))
    m_out.backward(mt.tensor(upstream))
    assert_close(m_x.grad, t_x.grad, what="Linear: gradient of the input")
    assert_close(layer.weight.grad, reference.weight.grad, what="Linear: gradient of weight")
    assert_close(layer.bias.grad, reference.bias.grad, what="Linear: gradient of bias")


# ---------------------------------------------------------------------------------------------
# Part 2: softmax, log_softmax, logsumexp
# ---------------------------------------------------------------------------------------------

SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), 0)]


@pytest.mark.hint("Subtract the max along `dim` (keepdim=True), exponentiate, divide by the sum along the same dim.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax(dtype: str, shape: tuple[int, ...], dim: int) -> None:
    check_op(lambda x: lib(x).softmax(x, dim=dim), data(*shape, scale=2.0), dtype=dtype,
             label=f"softmax(x of shape {shape}, dim={dim})")


@pytest.mark.hint("log_softmax(x) = x - logsumexp(x, dim, keepdim=True), along the `dim` you are given.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_log_softmax(dtype: str, shape: tuple[int, ...], dim: int) -> None:
    check_op(lambda x: lib(x).log_softmax(x, dim=dim), data(*shape, scale=2.0), dtype=dtype,
             label=f"log_softmax(x of shape {shape}, dim={dim})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_logsumexp(dtype: str, keepdim: bool, shape: tuple[int, ...], dim: int) -> None:
    check_op(lambda x: x.logsumexp(dim, keepdim=keepdim) if isinstance(x, mt.Tensor)
             else torch.logsumexp(x, dim, keepdim=keepdim),
             data(*shape, scale=2.0), dtype=dtype, label=f"logsumexp(x of shape {shape}, dim={dim}, keepdim={keepdim})")


def test_tensor_methods_reach_the_same_functions() -> None:
    x = data(3, 5)
    check_op(lambda t: t.softmax(1), x, label="x.softmax(1)")
    check_op(lambda t: t.log_softmax(0), x, label="x.log_softmax(0)")
    check_op(lambda t: t.logsumexp(1), x, label="x.logsumexp(1)")


EXTREME = np.array([[1000.0, 999.0, -1000.0, 0.0], [-1000.0, -1001.0, -999.5, -1000.0], [1000.0, 1000.0, 1000.0, -1000.0]])


@pytest.mark.hint("exp(1000) overflows to inf and exp(-1000) underflows to 0: shift by the max first.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_family_is_stable_at_plus_minus_1000(dtype: str, name: str, dim: int) -> None:
    check_op(lambda x: getattr(lib(x), name)(x, dim=dim), EXTREME, dtype=dtype,
             label=f"{name}(x with entries of ±1000, dim={dim})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_logsumexp_is_stable_at_plus_minus_1000(dtype: str, dim: int) -> None:
    check_op(lambda x: x.logsumexp(dim) if isinstance(x, mt.Tensor) else torch.logsumexp(x, dim), EXTREME,
             dtype=dtype, label=f"logsumexp(x with entries of ±1000, dim={dim})")


# ---------------------------------------------------------------------------------------------
# Part 3: losses
# ---------------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.hint("mse_loss: square the difference, then .mean(), .sum() or nothing, as `reduction` says.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(dtype: str, reduction: str) -> None:
    check_op(lambda x, y: lib(x).mse_loss(x, y, reduction=reduction), data(4, 3), data(4, 3, seed=1),
             dtype=dtype, label=f"mse_loss(reduction={reduction!r})")


def _class_loss(name: str, x: np.ndarray, target: np.ndarray, reduction: str, dtype: str) -> None:
    def fn(t: Any) -> Any:
        is_mt = isinstance(t, mt.Tensor)
        y = mt.tensor(target) if is_mt else torch.tensor(target)
        return getattr(lib(t), name)(t, y, reduction=reduction)

    check_op(fn, x, dtype=dtype, label=f"{name}(input of shape {x.shape}, target {target.tolist()}, "
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
    pairs = [
        (mt.nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), y),
        (mt.nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction), target),
        (mt.nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), target),
    ]
    for mine, theirs, second in pairs:
        got = mine(mt.tensor(x), mt.tensor(second))
        want = theirs(torch.tensor(x), torch.tensor(second))
        assert_close(got, want, what=f"{type(mine).__name__}(reduction={reduction!r})")


@pytest.mark.hint("A whole model: Linear, ReLU, Linear, then cross-entropy. Check linear and cross_entropy first.")
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_with_copied_weights_matches_torch_values_and_gradients(dtype: str) -> None:
    torch.manual_seed(1)
    tdtype = getattr(torch, dtype)
    reference = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5)).to(tdtype)
    model = mt.nn.Sequential(mt.nn.Linear(8, 16), mt.nn.ReLU(), mt.nn.Linear(16, 5)).to(dtype)
    copy_into(model, reference)
    x, target = data(12, 8), labels(12, 5)
    t_loss = torch.nn.CrossEntropyLoss()(reference(torch.tensor(x, dtype=tdtype)), torch.tensor(target))
    m_loss = mt.nn.CrossEntropyLoss()(model(mt.tensor(x, dtype=dtype)), mt.tensor(target))
    assert_close(m_loss, t_loss, what="MLP cross-entropy loss", dtype=dtype)
    t_loss.backward()
    m_loss.backward()
    t_params = dict(reference.named_parameters())
    for name, param in model.named_parameters():
        assert_close(param.grad, t_params[name].grad, what=f"MLP: gradient of {name}", dtype=dtype)


def test_softmax_and_log_softmax_modules() -> None:
    x = data(3, 4)
    for mine, theirs in [(mt.nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (mt.nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0))]:
        assert_close(mine(mt.tensor(x)), theirs(torch.tensor(x)), what=repr(mine))


# ---------------------------------------------------------------------------------------------
# Part 4: dropout
# ---------------------------------------------------------------------------------------------


@pytest.mark.hint("dropout(x, p, training=False) returns x unchanged; so does p = 0.")
def test_dropout_in_eval_mode_and_with_p_zero_is_the_identity() -> None:
    x = mt.tensor(data(20, 10))
    assert_close(F.dropout(x, 0.5, training=False), x.to_numpy(), what="dropout(x, p=0.5, training=False)")
    assert_close(F.dropout(x, 0.0, training=True), x.to_numpy(), what="dropout(x, p=0.0, training=True)")
    layer = mt.nn.Dropout(0.3)
    layer.eval()
    assert_close(layer(x), x.to_numpy(), what="nn.Dropout(0.3) in eval mode")


@pytest.mark.hint("Keep each element with probability 1 - p and multiply the kept ones by 1 / (1 - p).")
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p: float) -> None:
    mt.manual_seed(7)
    x = np.abs(data(100, 100)) + 0.5
    out = F.dropout(mt.tensor(x, dtype=mt.float64), p, training=True).to_numpy()
    dropped = out == 0.0
    kept = ~dropped
    fraction = dropped.mean()
    assert abs(fraction - p) < 0.03, f"dropout(p={p}) zeroed {fraction:.3f} of 10000 elements; expected about {p}"
    assert_close(out[kept], x[kept] / (1 - p), what=f"dropout(p={p}): the kept elements (must be x / (1 - p))")


def test_dropout_with_p_one_drops_everything() -> None:
    x = mt.tensor(data(4, 5))
    out = F.dropout(x, 1.0, training=True)
    assert_close(out, np.zeros((4, 5)), what="dropout(x, p=1.0) (torch returns zeros)", dtype="float32")


@pytest.mark.hint("Draw the mask with mt.rand: mt.manual_seed must make dropout reproducible.")
def test_dropout_is_reproducible_with_manual_seed() -> None:
    x = mt.tensor(data(30, 30))
    mt.manual_seed(3)
    first = F.dropout(x, 0.5).to_numpy()
    mt.manual_seed(3)
    second = F.dropout(x, 0.5).to_numpy()
    third = F.dropout(x, 0.5).to_numpy()
    assert np.array_equal(first, second), "dropout after the same mt.manual_seed gave different masks"
    assert not np.array_equal(second, third), "two dropout calls in a row gave the same mask"


@pytest.mark.hint("The gradient of dropout is the same mask, scaled by 1 / (1 - p).")
def test_dropout_gradient_is_the_scaled_mask() -> None:
    mt.manual_seed(11)
    x = mt.tensor(data(20, 20), dtype=mt.float64, requires_grad=True)
    upstream = data(20, 20, seed=5)
    out = F.dropout(x, 0.25)
    out.backward(mt.tensor(upstream))
    mask = out.detach().to_numpy() != 0.0
    assert_close(x.grad, upstream * mask / 0.75, what="gradient of dropout(x, p=0.25)")


def test_dropout_module_follows_train_and_eval() -> None:
    mt.manual_seed(5)
    model = mt.nn.Sequential(mt.nn.Dropout(0.5))
    x = mt.tensor(np.ones((40, 40)))
    assert (model(x).to_numpy() == 0).any(), "nn.Dropout in training mode dropped nothing"
    model.eval()
    assert_close(model(x), np.ones((40, 40)), what="nn.Dropout after model.eval()", dtype="float32")


# ---------------------------------------------------------------------------------------------
# Part 5: initialisation
# ---------------------------------------------------------------------------------------------

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.hint("See the table of gains in the handout; leaky_relu's default slope is 0.01.")
@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain(nonlinearity: str, param: float | None) -> None:
    got = mt.nn.init.calculate_gain(nonlinearity, param)
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert_close(got, want, what=f"calculate_gain({nonlinearity!r}, {param})")


def test_calculate_gain_rejects_unknown_nonlinearities() -> None:
    with pytest.raises(ValueError):
        mt.nn.init.calculate_gain("softsign-ish")


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 5, 5), (1, 1)])
def test_fan_in_and_fan_out(shape: tuple[int, ...]) -> None:
    got = ex08.calculate_fan_in_and_fan_out(mt.zeros(*shape))
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    assert tuple(got) == tuple(want), f"calculate_fan_in_and_fan_out(shape {shape}) = {got}, torch gives {want}"


def test_fan_needs_two_dims() -> None:
    with pytest.raises(ValueError):
        ex08.calculate_fan_in_and_fan_out(mt.zeros(5))


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


@pytest.mark.hint("bound = gain * sqrt(3 / fan), with gain = calculate_gain(nonlinearity, a).")
@pytest.mark.parametrize("a,mode,nonlinearity", [(0.0, "fan_in", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                                  (0.1, "fan_out", "leaky_relu"), (0.0, "fan_out", "tanh")])
def test_kaiming_uniform_(a: float, mode: str, nonlinearity: str) -> None:
    mt.manual_seed(0)
    w = mt.zeros(40, 60, requires_grad=True)
    returned = mt.nn.init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    assert returned is w, "kaiming_uniform_ must return the tensor it filled"
    assert w.is_leaf and w.requires_grad, "initialisation must leave the weight a leaf that requires grad"
    fan = 60 if mode == "fan_in" else 40
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    _check_uniform(w.detach().to_numpy(), bound, f"kaiming_uniform_(a={a:.3g}, mode={mode!r}, {nonlinearity!r})")


@pytest.mark.hint("bound = gain * sqrt(6 / (fan_in + fan_out)).")
@pytest.mark.parametrize("shape,gain", [((30, 50), 1.0), ((20, 10, 3), 5.0 / 3.0)])
def test_xavier_uniform_(shape: tuple[int, ...], gain: float) -> None:
    mt.manual_seed(1)
    w = mt.zeros(*shape)
    assert mt.nn.init.xavier_uniform_(w, gain=gain) is w, "xavier_uniform_ must return the tensor it filled"
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    _check_uniform(w.to_numpy(), gain * math.sqrt(6.0 / (fan_in + fan_out)), f"xavier_uniform_(shape {shape}, gain={gain:.3g})")


def test_zeros_() -> None:
    w = mt.ones(3, 4, requires_grad=True)
    assert mt.nn.init.zeros_(w) is w, "zeros_ must return the tensor it filled"
    assert_close(w.detach(), np.zeros((3, 4)), what="zeros_(w)", dtype="float32")


@pytest.mark.hint("nn.Linear: kaiming_uniform_(weight, a=sqrt(5)) gives U(±1/sqrt(in_features)); the bias too.")
def test_linear_is_initialised_with_torchs_distribution() -> None:
    mt.manual_seed(2)
    layer = mt.nn.Linear(50, 80)
    bound = 1.0 / math.sqrt(50)
    _check_uniform(layer.weight.detach().to_numpy(), bound, "nn.Linear(50, 80).weight")
    bias = layer.bias.detach().to_numpy()
    assert np.all(np.abs(bias) <= bound), f"nn.Linear(50, 80).bias exceeds the bound 1/sqrt(50) = {bound:.4f}"
    assert np.abs(bias).max() > 0.8 * bound, "nn.Linear(50, 80).bias does not spread over U(±1/sqrt(50))"
    assert len(set(bias.tolist())) == 80, "nn.Linear's bias values must be drawn, not constant"


def test_linear_initialisation_is_reproducible_with_manual_seed() -> None:
    mt.manual_seed(9)
    first = mt.nn.Linear(7, 3)
    mt.manual_seed(9)
    second = mt.nn.Linear(7, 3)
    assert np.array_equal(first.weight.detach().to_numpy(), second.weight.detach().to_numpy())
    assert np.array_equal(first.bias.detach().to_numpy(), second.bias.detach().to_numpy())
