"""ex12 public tests: the students' normalization and dropout Modules against torch.nn.

Every module is built through the course (exercises/ex12_norm.py or the reference), given the weights
and buffers of a torch module (copied through numpy), and run on the same inputs: forward values, the
gradients of the input and of every parameter, and the buffers after every step are compared with
torch, in train and eval mode, in float64 and float32 (tolerances: tests/support/compare.py). Dropout's
random masks are checked against their exact rules and rates.

ex12 runs in a worker process (grader/judge.py): each minitorch-dg module is built there
(`nn_programs.remote_layer`, with torch's weights loaded) and held here as a reference; programs
(tests/support/nn_programs.py, and the test's own below) run it there one step at a time and return arrays,
and torch and every comparison stay here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import minitorch_dg as mt  # for the programs' names: they run with the worker's `mt`
from grader import judge
from tests.support import nn_programs
from tests.support.compare import assert_close
from tests.support.nn_programs import remote_layer

ag = judge.exercise("ex12")  # ex12 runs in a worker process (grader/judge.py)
run = ag.run_program
ex: Any  # a program's global: ex12's module as the worker serves it (never bound here)

DTYPES = ["float64", "float32"]


def data(*shape: int, seed: int = 0, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, scale, size=shape)


def torch_copy_of(reference: torch.nn.Module) -> dict[str, np.ndarray]:
    """torch's state dict as arrays, loaded in the worker as minitorch-dg tensors (int64 buffers stay int64)."""
    return nn_programs.state_of(reference)


def randomize(reference: torch.nn.Module, seed: int) -> None:
    """Give torch's affine parameters random values (ones and zeros would hide a swapped weight and bias)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in reference.parameters():
            param.copy_(torch.rand(param.shape, generator=generator, dtype=param.dtype) + 0.5)


def paired(mine: Any, reference: torch.nn.Module, seed: int = 0) -> None:
    """Randomize torch's affine parameters and load torch's state dict into `mine` (a module in the worker)."""
    randomize(reference, seed)
    run(nn_programs.load_state, mine, torch_copy_of(reference), True)


def step_both(mine: Any, reference: torch.nn.Module, x: np.ndarray, dtype: str, what: str,
              seed: int = 1) -> None:
    """One forward and backward on both (`mine` in the worker); compare the output, every gradient and every
    buffer."""
    tdtype = getattr(torch, dtype)
    t_x = torch.tensor(x, dtype=tdtype, requires_grad=True)
    t_out = reference(t_x)
    upstream = data(*t_out.shape, seed=seed)
    got = run(nn_programs.layer_step, mine, x, dtype, upstream)
    assert_close(got["out"], t_out, what=f"{what}: output", dtype=dtype)
    t_out.backward(torch.tensor(upstream, dtype=tdtype))
    assert_close(got["x.grad"], t_x.grad, what=f"{what}: gradient of the input", dtype=dtype)
    t_params = dict(reference.named_parameters())
    for name, grad in got["grads"].items():
        assert_close(grad, t_params[name].grad, what=f"{what}: gradient of {name}", dtype=dtype)
    compare_buffers(got["buffers"], reference, what, dtype)


def compare_buffers(m_buffers: dict[str, np.ndarray], reference: torch.nn.Module, what: str,
                    dtype: str = "float64") -> None:
    """minitorch-dg's buffers (arrays by name, from the worker) against the torch module's."""
    t_buffers = dict(reference.named_buffers())
    assert sorted(m_buffers) == sorted(t_buffers), (
        f"{what}: buffers {sorted(m_buffers)}, torch has {sorted(t_buffers)}"
    )
    for name, buffer in m_buffers.items():
        assert_close(buffer, t_buffers[name], what=f"{what}: buffer {name}", dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Part 1: batch statistics and the fused Function
# ---------------------------------------------------------------------------------------------


def _batch_statistics(x: Any) -> tuple[Any, Any]:
    """Program: ex12's batch_statistics of a tensor of x, as arrays."""
    mean, var = ex.batch_statistics(mt.tensor(x))
    return mean.to_numpy(), var.to_numpy()


@pytest.mark.hint("Average over every dim but 1; the variance divides by M (biased), like var(unbiased=False).")
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)])
def test_batch_statistics(shape: tuple[int, ...]) -> None:
    x = data(*shape, scale=2.0, shift=1.0)
    mean, var = run(_batch_statistics, x)
    dims = (0,) + tuple(range(2, len(shape)))
    t_x = torch.tensor(x)
    assert_close(mean, t_x.mean(dims), what=f"batch_statistics(x of shape {shape}): mean")
    assert_close(var, t_x.var(dims, unbiased=False), what=f"batch_statistics(x of shape {shape}): biased variance")


def _composed_batch_norm(x: Any, weight: Any, bias: Any, eps: float) -> Any:
    """Batch norm written with the framework's ops (sent to the worker as an argument of `_fused_and_composed`)."""
    dims = (0,) + tuple(range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    mean = x.mean(dims, keepdim=True)
    var = ((x - mean) * (x - mean)).mean(dims, keepdim=True)
    return (x - mean) / (var + eps).sqrt() * weight.view(shape) + bias.view(shape)


def _fused_and_composed(composed: Any, x: Any, w: Any, b: Any, upstream: Any, eps: float) -> dict[str, Any]:
    """Program: ex12's BatchNormFunction on leaves of x, w and b (the statistics from batch_statistics under
    no_grad) and `composed(x, w, b, eps)` on fresh leaves, each backpropagating `upstream`; both outputs, every
    gradient (None where missing) and the fused output's grad_fn (its name and repr)."""

    def grad(t: Any) -> Any:
        return None if t.grad is None else t.grad.to_numpy()

    fused_x, fused_w, fused_b = (mt.tensor(a, requires_grad=True) for a in (x, w, b))
    with mt.no_grad():
        mean, var = ex.batch_statistics(fused_x.detach())
    out = ex.BatchNormFunction.apply(fused_x, fused_w, fused_b, mean, var, eps)
    out.backward(mt.tensor(upstream))
    comp_x, comp_w, comp_b = (mt.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = composed(comp_x, comp_w, comp_b, eps)
    expected.backward(mt.tensor(upstream))
    return {"out": out.detach().to_numpy(), "expected": expected.detach().to_numpy(),
            "fused": [grad(t) for t in (fused_x, fused_w, fused_b)],
            "composed": [grad(t) for t in (comp_x, comp_w, comp_b)],
            "grad_fn": None if out.grad_fn is None else out.grad_fn.name, "grad_fn repr": repr(out.grad_fn)}


@pytest.mark.hint("dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ with ĝ = grad·γ, means over every dim but 1.")
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 6), (3, 2, 3, 4)])
def test_batchnormfunction_backward_matches_autograd_of_the_composition_and_torch(shape: tuple[int, ...]) -> None:
    x, w, b = data(*shape, scale=1.5, shift=0.5), data(shape[1], seed=2) + 1.0, data(shape[1], seed=3)
    upstream = data(*shape, seed=4)
    eps = 1e-3
    got = run(_fused_and_composed, _composed_batch_norm, x, w, b, upstream, eps)
    (fused_x, fused_w, fused_b), (comp_x, comp_w, comp_b) = got["fused"], got["composed"]
    label = f"BatchNormFunction on x of shape {shape}"
    assert_close(got["out"], got["expected"], what=f"{label}: output vs the composition")
    assert_close(fused_x, comp_x, what=f"{label}: gradient of x vs autograd of the composition")
    assert_close(fused_w, comp_w, what=f"{label}: gradient of weight vs autograd of the composition")
    assert_close(fused_b, comp_b, what=f"{label}: gradient of bias vs autograd of the composition")
    t_x, t_w, t_b = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.batch_norm(t_x, None, None, t_w, t_b, training=True, eps=eps)
    t_out.backward(torch.tensor(upstream))
    assert_close(got["out"], t_out, what=f"{label}: output vs torch")
    assert_close(fused_x, t_x.grad, what=f"{label}: gradient of x vs torch")
    assert_close(fused_w, t_w.grad, what=f"{label}: gradient of weight vs torch")
    assert_close(fused_b, t_b.grad, what=f"{label}: gradient of bias vs torch")
    assert got["grad_fn"] is not None and "BatchNormFunction" in got["grad_fn"], (
        f"the output of BatchNormFunction.apply should come from one BatchNormFunction node, got {got['grad_fn repr']}"
    )


def _fused_without_affine(x: Any, upstream: Any) -> tuple[Any, Any]:
    """Program: ex12's BatchNormFunction with weight and bias None on a leaf of x (eps 1e-5), backward of
    `upstream`; the output and x's gradient (None if missing)."""
    m_x = mt.tensor(x, requires_grad=True)
    mean, var = ex.batch_statistics(m_x.detach())
    out = ex.BatchNormFunction.apply(m_x, None, None, mean, var, 1e-5)
    out.backward(mt.tensor(upstream))
    return out.detach().to_numpy(), None if m_x.grad is None else m_x.grad.to_numpy()


def test_batchnormfunction_without_weight_and_bias() -> None:
    x, upstream = data(6, 4, scale=3.0), data(6, 4, seed=5)
    out, x_grad = run(_fused_without_affine, x, upstream)
    t_x = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.batch_norm(t_x, None, None, training=True)
    t_out.backward(torch.tensor(upstream))
    assert_close(out, t_out, what="BatchNormFunction(weight=None, bias=None): output")
    assert_close(x_grad, t_x.grad, what="BatchNormFunction(weight=None, bias=None): gradient of x")


# ---------------------------------------------------------------------------------------------
# Part 2: BatchNorm1d and BatchNorm2d
# ---------------------------------------------------------------------------------------------


def _batches_tracked(model: Any) -> int:
    """Program: int(model.num_batches_tracked.item())."""
    return int(model.num_batches_tracked.item())


@pytest.mark.hint("In training: batch statistics for the output, then running = (1−m)·running + m·batch "
                  "with the UNBIASED variance; num_batches_tracked += 1.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batchnorm1d_training_matches_torch(dtype: str, shape: tuple[int, ...]) -> None:
    reference = torch.nn.BatchNorm1d(3, momentum=0.3).to(getattr(torch, dtype))
    mine = remote_layer(ag, "BatchNorm1d", 3, momentum=0.3, dtype=dtype)
    paired(mine, reference)
    for step in range(3):
        step_both(mine, reference, data(*shape, seed=10 + step, scale=2.0, shift=step), dtype,
                  f"BatchNorm1d(3, momentum=0.3) training step {step + 1} on x of shape {shape}")
    assert run(_batches_tracked, mine) == 3, "num_batches_tracked must count the training batches"


@pytest.mark.hint("BatchNorm2d normalizes each channel over (N, H, W): reduce over dims (0, 2, 3).")
@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm2d_training_matches_torch(dtype: str) -> None:
    reference = torch.nn.BatchNorm2d(4, eps=1e-3).to(getattr(torch, dtype))
    mine = remote_layer(ag, "BatchNorm2d", 4, eps=1e-3, dtype=dtype)
    paired(mine, reference)
    for step in range(2):
        step_both(mine, reference, data(3, 4, 5, 6, seed=20 + step, scale=1.5, shift=-step), dtype,
                  f"BatchNorm2d(4, eps=1e-3) training step {step + 1}")


@pytest.mark.hint("In eval mode use running_mean and running_var (not the batch's) and change no buffer.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_batchnorm_eval_uses_the_running_statistics(dtype: str, kind: str) -> None:
    shape = (6, 3) if kind == "1d" else (2, 3, 4, 4)
    reference = getattr(torch.nn, f"BatchNorm{kind}")(3).to(getattr(torch, dtype))
    mine = remote_layer(ag, f"BatchNorm{kind}", 3, dtype=dtype)
    paired(mine, reference)
    for step in range(2):
        step_both(mine, reference, data(*shape, seed=30 + step, scale=3.0, shift=2.0), dtype,
                  f"BatchNorm{kind} training step {step + 1}")
    reference.eval()
    returned_itself = run(nn_programs.set_mode, mine, False)
    assert returned_itself, "eval() must return the module itself"
    for step in range(2):
        step_both(mine, reference, data(*shape, seed=40 + step), dtype, f"BatchNorm{kind} in eval mode, call {step + 1}")
    assert run(_batches_tracked, mine) == 2, "eval-mode calls must not count as tracked batches"


@pytest.mark.hint("momentum=None: a cumulative average, factor 1 / num_batches_tracked (after counting this batch).")
def test_batchnorm_momentum_none_is_a_cumulative_average() -> None:
    reference = torch.nn.BatchNorm1d(2, momentum=None).double()
    mine = remote_layer(ag, "BatchNorm1d", 2, momentum=None, dtype=mt.float64)
    paired(mine, reference)
    for step in range(4):
        step_both(mine, reference, data(5, 2, seed=50 + step, shift=step), "float64",
                  f"BatchNorm1d(2, momentum=None) step {step + 1}")


def _parameter_count(model: Any) -> int:
    """Program: len(list(model.parameters()))."""
    return len(list(model.parameters()))


@pytest.mark.hint("affine=False: register_parameter('weight', None) and ('bias', None); "
                  "track_running_stats=False: the three buffers are None and eval uses batch statistics.")
@pytest.mark.parametrize("affine,track", [(False, True), (True, False), (False, False)])
def test_batchnorm_without_affine_or_running_statistics(affine: bool, track: bool) -> None:
    reference = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=track).double()
    mine = remote_layer(ag, "BatchNorm1d", 3, affine=affine, track_running_stats=track, dtype=mt.float64)
    label = f"BatchNorm1d(3, affine={affine}, track_running_stats={track})"
    keys = run(nn_programs.state_keys, mine)
    assert keys == list(reference.state_dict()), (
        f"{label}: state_dict keys {keys}, torch's are {list(reference.state_dict())}"
    )
    assert run(_parameter_count, mine) == len(list(reference.parameters())), f"{label}: number of parameters"
    paired(mine, reference)
    step_both(mine, reference, data(7, 3, scale=2.0), "float64", f"{label} in training")
    reference.eval()
    run(nn_programs.set_mode, mine, False)
    step_both(mine, reference, data(7, 3, seed=3), "float64", f"{label} in eval mode")


def _call(model: Any, x: Any) -> Any:
    """Program: model(mt.tensor(x)), the output as an array."""
    return model(mt.tensor(x)).to_numpy()


def _double(model: Any) -> Any:
    """Program: model.double() (what it returns stays in the worker)."""
    return model.double()


@pytest.mark.hint("The variance of one value per channel is 0: torch refuses a batch of 1 in training only.")
@pytest.mark.parametrize("kind,shape", [("1d", (1, 4)), ("1d", (1, 4, 1)), ("2d", (1, 4, 1, 1))])
def test_batchnorm_batch_of_one_in_training_raises_torchs_error(kind: str, shape: tuple[int, ...]) -> None:
    mine = remote_layer(ag, f"BatchNorm{kind}", 4)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        run(_call, mine, data(*shape))
    run(nn_programs.set_mode, mine, False)
    reference = getattr(torch.nn, f"BatchNorm{kind}")(4).double().eval()
    paired(run(_double, mine), reference)
    step_both(mine, reference, data(*shape), "float64", f"BatchNorm{kind}(4) in eval mode on a batch of 1")


@pytest.mark.parametrize("kind,shape,message", [("1d", (2, 4, 3, 3), "expected 2D or 3D input (got 4D input)"),
                                                ("1d", (4,), "expected 2D or 3D input (got 1D input)"),
                                                ("2d", (2, 4, 3), "expected 4D input (got 3D input)")])
def test_batchnorm_rejects_inputs_of_the_wrong_dims(kind: str, shape: tuple[int, ...], message: str) -> None:
    mine = remote_layer(ag, f"BatchNorm{kind}", 4)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(_call, mine, data(*shape))


def test_batchnorm_rejects_a_wrong_number_of_channels() -> None:
    with pytest.raises(RuntimeError, match="channels"):
        run(_call, remote_layer(ag, "BatchNorm1d", 4), data(3, 5))


def _tracked_is_int64(model: Any) -> bool:
    """Program: whether model.num_batches_tracked is an int64 tensor."""
    return bool(model.num_batches_tracked.dtype == mt.int64)


@pytest.mark.hint("Buffers: register_buffer('running_mean', ...), 'running_var', 'num_batches_tracked' "
                  "(a 0-d int64 tensor), so that state_dict() has torch's keys.")
def test_batchnorm_state_dict_loads_from_torch_and_back() -> None:
    reference = torch.nn.BatchNorm2d(3)
    reference.train()
    for seed in range(3):
        reference(torch.tensor(data(4, 3, 2, 2, seed=seed, shift=seed), dtype=torch.float32))
    mine = remote_layer(ag, "BatchNorm2d", 3)
    missing_keys, unexpected_keys = run(nn_programs.load_state, mine, torch_copy_of(reference), True)
    assert not missing_keys and not unexpected_keys
    compare_buffers(run(nn_programs.buffers_of, mine), reference, "BatchNorm2d after loading torch's state dict",
                    "float32")
    assert run(_tracked_is_int64, mine), "num_batches_tracked must be an int64 tensor"
    run(nn_programs.set_mode, mine, False)
    reference.eval()
    step_both(mine, reference, data(2, 3, 2, 2, seed=9), "float32", "BatchNorm2d with torch's running statistics")

    run(nn_programs.set_mode, mine, True)
    run(_call, mine, data(4, 3, 2, 2, seed=11))
    back = torch.nn.BatchNorm2d(3)
    back.load_state_dict({k: torch.tensor(v) for k, v in run(nn_programs.state_arrays, mine).items()}, strict=True)
    compare_buffers(run(nn_programs.buffers_of, mine), back, "torch BatchNorm2d loaded from minitorch-dg's state dict",
                    "float32")
    assert int(back.num_batches_tracked) == 4


def test_batchnorm_state_dict_errors_name_missing_and_unexpected_keys() -> None:
    state = torch_copy_of(torch.nn.BatchNorm1d(3))
    del state["running_var"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "running_var"'):
        run(nn_programs.load_state, remote_layer(ag, "BatchNorm1d", 3), state, True)
    plain = torch_copy_of(torch.nn.BatchNorm1d(3))
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "weight", "bias"'):
        run(nn_programs.load_state, remote_layer(ag, "BatchNorm1d", 3, affine=False), plain, True)
    missing_keys, unexpected_keys = run(nn_programs.load_state, remote_layer(ag, "BatchNorm1d", 3, affine=False),
                                        plain, False)
    assert unexpected_keys == ["weight", "bias"] and missing_keys == []


def _second_layer_training(model: Any) -> bool:
    """Program: model[1].training."""
    return bool(model[1].training)


def test_batchnorm_in_a_model_follows_train_and_eval() -> None:
    torch.manual_seed(0)
    layers = [("Linear", 5, 4), ("BatchNorm1d", 4), ("ReLU",), ("Linear", 4, 2)]
    reference = nn_programs.torch_module(layers, "float64")  # Sequential(Linear(5, 4), BatchNorm1d(4), ...).double()
    mine = run(nn_programs.network, nn_programs.build, layers, "float64", torch_copy_of(reference))
    assert run(nn_programs.state_keys, mine) == list(reference.state_dict())
    step_both(mine, reference, data(6, 5), "float64", "Linear-BatchNorm1d-ReLU-Linear in training")
    run(nn_programs.set_mode, mine, False)
    reference.eval()
    assert not run(_second_layer_training, mine), "model.eval() must reach the BatchNorm1d inside"
    step_both(mine, reference, data(3, 5, seed=2), "float64", "Linear-BatchNorm1d-ReLU-Linear in eval mode")


def _served_classes() -> dict[str, Any]:
    """Program: mt.nn.BatchNorm1d(3) and mt.nn.GroupNorm(1, 2) against ex12's classes: which checks hold, and
    the BatchNorm1d's repr."""
    layer = mt.nn.BatchNorm1d(3)
    return {"BatchNorm1d": type(layer) is ex.BatchNorm1d and isinstance(layer, mt.nn.BatchNorm1d),
            "a Module": isinstance(layer, mt.nn.Module), "GroupNorm": type(mt.nn.GroupNorm(1, 2)) is ex.GroupNorm,
            "repr": repr(layer)}


def test_the_framework_builds_the_exercise_classes() -> None:
    served = run(_served_classes)
    assert served["BatchNorm1d"]
    assert served["a Module"]
    assert served["GroupNorm"]
    assert served["repr"] == repr(torch.nn.BatchNorm1d(3)).replace(", bias=True", "")


# ---------------------------------------------------------------------------------------------
# Part 3: LayerNorm and GroupNorm
# ---------------------------------------------------------------------------------------------

LAYER_CASES = [((4, 6), 6), ((2, 3, 4), (3, 4)), ((2, 3, 4), [4]), ((5,), 5)]


@pytest.mark.hint("Normalize over the LAST len(normalized_shape) dims of each sample; γ and β have that shape.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,normalized", LAYER_CASES)
def test_layernorm_matches_torch(dtype: str, shape: tuple[int, ...], normalized: Any) -> None:
    reference = torch.nn.LayerNorm(normalized).to(getattr(torch, dtype))
    mine = remote_layer(ag, "LayerNorm", normalized, dtype=dtype)
    paired(mine, reference)
    step_both(mine, reference, data(*shape, scale=2.0, shift=1.0), dtype,
              f"LayerNorm({normalized}) on x of shape {shape}")


@pytest.mark.parametrize("affine,bias", [(False, True), (True, False)])
def test_layernorm_without_affine_or_bias(affine: bool, bias: bool) -> None:
    reference = torch.nn.LayerNorm(5, eps=1e-3, elementwise_affine=affine, bias=bias).double()
    mine = remote_layer(ag, "LayerNorm", 5, eps=1e-3, elementwise_affine=affine, bias=bias, dtype=mt.float64)
    assert run(nn_programs.state_keys, mine) == list(reference.state_dict())
    paired(mine, reference)
    step_both(mine, reference, data(3, 5), "float64", f"LayerNorm(5, elementwise_affine={affine}, bias={bias})")


def test_layernorm_rejects_the_wrong_shape() -> None:
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        run(_call, remote_layer(ag, "LayerNorm", 4), data(2, 3))


@pytest.mark.hint("GroupNorm: reshape (N, C, *) to (N, G, -1), normalize over the last dim, reshape back, "
                  "then scale and shift per channel.")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups,shape", [(2, (3, 4, 5)), (1, (2, 6)), (3, (2, 3, 2, 2)), (2, (2, 4, 3, 2))])
def test_groupnorm_matches_torch(dtype: str, groups: int, shape: tuple[int, ...]) -> None:
    reference = torch.nn.GroupNorm(groups, shape[1]).to(getattr(torch, dtype))
    mine = remote_layer(ag, "GroupNorm", groups, shape[1], dtype=dtype)
    paired(mine, reference)
    step_both(mine, reference, data(*shape, scale=2.0, shift=-1.0), dtype, f"GroupNorm({groups}, {shape[1]}) on {shape}")


def test_groupnorm_without_affine_and_its_errors() -> None:
    reference = torch.nn.GroupNorm(2, 4, affine=False).double()
    mine = remote_layer(ag, "GroupNorm", 2, 4, affine=False, dtype=mt.float64)
    assert run(_parameter_count, mine) == 0 and run(nn_programs.state_keys, mine) == []
    step_both(mine, reference, data(2, 4, 3), "float64", "GroupNorm(2, 4, affine=False)")
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        remote_layer(ag, "GroupNorm", 3, 4)
    with pytest.raises(RuntimeError):
        run(_call, remote_layer(ag, "GroupNorm", 2, 4), data(2, 6, 3))


# ---------------------------------------------------------------------------------------------
# Part 4: Dropout and Dropout2d
# ---------------------------------------------------------------------------------------------


def _dropout_mask(shape: tuple[int, ...], p: float, seed: Any) -> Any:
    """Program: ex12's dropout_mask(shape, p, float64, "cpu") as an array, after mt.manual_seed(seed) unless
    seed is None."""
    if seed is not None:
        mt.manual_seed(seed)
    return ex.dropout_mask(shape, p, mt.float64, "cpu").to_numpy()


@pytest.mark.hint("dropout_mask: 0 with probability p, 1 / (1 − p) otherwise, from mt.rand; zeros when p = 1.")
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_mask_has_rate_p_and_scale(p: float) -> None:
    mask = run(_dropout_mask, (100, 100), p, 4)
    dropped = (mask == 0.0).mean()
    assert abs(dropped - p) < 0.03, f"dropout_mask(p={p}) zeroed {dropped:.3f} of 10000 entries; expected about {p}"
    assert_close(mask[mask != 0.0], np.full(int((mask != 0.0).sum()), 1.0 / (1.0 - p)),
                 what=f"dropout_mask(p={p}): the kept entries (must be 1 / (1 − p))")
    assert_close(run(_dropout_mask, (3, 4), 1.0, None), np.zeros((3, 4)), what="dropout_mask(p=1)")


def _dropout_in_train_and_eval(x: Any, upstream: Any, seed: int) -> dict[str, Any]:
    """Program: after mt.manual_seed(seed), ex12's Dropout(0.5): whether it is new in training mode; its output
    on a float64 leaf of x and x's gradient after backward of `upstream`; its output after eval(), and again
    after train()."""
    mt.manual_seed(seed)
    layer = ex.Dropout(0.5)
    new_in_training = bool(layer.training)
    x = mt.tensor(x, dtype=mt.float64, requires_grad=True)
    out = layer(x)
    out.backward(mt.tensor(upstream))
    layer.eval()
    after_eval = layer(x).detach().to_numpy()
    layer.train()
    return {"new in training": new_in_training, "out": out.detach().to_numpy(),
            "x.grad": None if x.grad is None else x.grad.to_numpy(), "after eval": after_eval,
            "after train": layer(x).detach().to_numpy()}


@pytest.mark.hint("Dropout: in eval mode (self.training False) return the input; in training multiply by the mask.")
def test_dropout_module_in_train_and_eval_mode() -> None:
    got = run(_dropout_in_train_and_eval, np.ones((50, 40)), np.ones((50, 40)), 1)
    assert got["new in training"], "a new module is in training mode"
    kept = got["out"] != 0.0
    assert 0.4 < 1.0 - kept.mean() < 0.6, "Dropout(0.5) in training should zero about half of the elements"
    assert_close(got["out"][kept], np.full(int(kept.sum()), 2.0), what="Dropout(0.5): kept elements")
    assert_close(got["x.grad"], kept * 2.0, what="Dropout(0.5): gradient (the same scaled mask)")
    assert_close(got["after eval"], np.ones((50, 40)), what="Dropout(0.5) after eval()")
    assert (got["after train"] == 0.0).any(), "Dropout after train() must drop again"
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        run(lambda p: ex.Dropout(p), 1.5)


def _dropout2d_train_then_eval(x: Any, p: float, seed: int) -> tuple[Any, Any, str]:
    """Program: after mt.manual_seed(seed), mt.nn.Dropout2d(p) on a float64 tensor of x in training mode, then
    after eval() on mt.tensor(x); both outputs as arrays and the layer's repr."""
    mt.manual_seed(seed)
    layer = mt.nn.Dropout2d(p)
    out = layer(mt.tensor(x, dtype=mt.float64)).to_numpy()
    layer.eval()
    return out, layer(mt.tensor(x)).to_numpy(), repr(layer)


@pytest.mark.hint("Dropout2d: one mask value per (sample, channel), shape (N, C, 1, 1), broadcast over H and W.")
@pytest.mark.parametrize("shape", [(20, 30, 3, 2), (20, 30, 4)])
def test_dropout2d_zeroes_whole_channels(shape: tuple[int, ...]) -> None:
    x = np.abs(data(*shape)) + 0.5
    out, in_eval, layer_repr = run(_dropout2d_train_then_eval, x, 0.25, 2)
    per_channel = out.reshape(shape[0], shape[1], -1)
    zero = (per_channel == 0.0)
    assert np.all(zero.all(-1) | ~zero.any(-1)), "Dropout2d must zero whole channels, never single elements"
    rate = zero.all(-1).mean()
    assert abs(rate - 0.25) < 0.06, f"Dropout2d(0.25) zeroed {rate:.3f} of the {shape[0] * shape[1]} channels"
    kept = ~zero.all(-1)
    assert_close(per_channel[kept], x.reshape(shape[0], shape[1], -1)[kept] / 0.75,
                 what="Dropout2d(0.25): the kept channels (x / (1 − p))")
    assert_close(in_eval, x, what="Dropout2d in eval mode", dtype="float32")
    torch_layer = torch.nn.Dropout2d(0.25).eval()
    assert layer_repr == repr(torch_layer)


def test_dropout2d_rejects_two_dim_input() -> None:
    with pytest.raises(ValueError, match="Dropout2d"):
        run(lambda x: mt.nn.Dropout2d(0.5)(mt.tensor(x)), data(4, 5))
