"""A small network with the same weights on both sides: built and run in an exercise's worker by a program
(grader/judge.py, `run_program`), and here with torch.

A network is described as data, a list of layers such as `[("Linear", 8, 16), ("ReLU",), ("Linear", 16, 5)]`
(one layer is used as it is, several in a Sequential), so that the worker builds it with its own framework:
`build(nn, layers, dtype)` names nothing but its arguments, and serves both sides (`torch.nn` here; in the
worker it travels as code and receives `mt.nn`). The weights travel as a state dict of arrays, taken from the
torch module (`state_of`).

    module_outcome       one forward and backward: output (or loss), input gradient, parameter gradients
    compare_module       module_outcome in a worker against torch, every value and gradient
    training_run         steps of an optimizer on a cross-entropy loss: the losses and the final parameters

A layer that keeps state between calls (BatchNorm's running statistics) stays in the worker: `remote_layer`
builds mt.nn.<kind>(*args, **kwargs) there (or `network` a Sequential of `layers` with a state loaded) and
the test holds it as a reference, which the programs below drive one step at a time:

    load_state           load a state dict of arrays (dtypes kept: int64 buffers stay int64)
    layer_step           one forward and backward: output, input gradient, parameter gradients, buffers
    set_mode             train() or eval(), and whether it returned the module itself
    buffers_of, state_arrays, state_keys     what the module holds, as data
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from minitorch_dg.dtypes import DType
from tests.support.compare import assert_close

Layers = list[tuple[Any, ...]]
mt: Any  # a program's global: the framework as the worker serves it (never bound here)


def build(nn: Any, layers: Layers, dtype: str) -> Any:
    """The module `layers` describes, made with `nn` (torch.nn or mt.nn) and cast to `dtype`."""
    modules = [getattr(nn, kind)(*args) for kind, *args in layers]
    model = modules[0] if len(modules) == 1 else nn.Sequential(*modules)
    return model.double() if dtype == "float64" else model.float()


def torch_module(layers: Layers, dtype: str) -> torch.nn.Module:
    """The torch module that `layers` describes, in `dtype` (torch's default initialisation)."""
    return build(torch.nn, layers, dtype)


def state_of(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state dict as arrays, to send to the worker."""
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def module_outcome(builder: Any, layers: Layers, state: dict[str, Any], dtype: str, x: Any, target: Any,
                   upstream: Any) -> Any:
    """Program: `builder(mt.nn, layers, dtype)` (pass `build`) with `state` loaded, run on x (which requires
    grad); with a `target`, the cross-entropy loss is backpropagated, else `upstream`."""
    model = builder(mt.nn, layers, dtype)
    model.load_state_dict({name: mt.tensor(value, dtype=dtype) for name, value in state.items()})
    inputs = mt.tensor(x, dtype=dtype, requires_grad=True)
    out = model(inputs)
    if target is not None:
        out = mt.nn.functional.cross_entropy(out, mt.tensor(target))
        out.backward()
    else:
        out.backward(mt.tensor(upstream, dtype=dtype))
    grads = {name: None if p.grad is None else p.grad.to_numpy() for name, p in model.named_parameters()}
    return {"out": out.to_numpy(), "x.grad": None if inputs.grad is None else inputs.grad.to_numpy(),
            "grads": grads}


def torch_module_outcome(module: torch.nn.Module, dtype: str, x: np.ndarray, target: np.ndarray | None,
                         upstream: np.ndarray | None) -> dict[str, Any]:
    """`module_outcome` for a torch module."""
    inputs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    out = module(inputs)
    if target is not None:
        out = torch.nn.functional.cross_entropy(out, torch.tensor(target))
        out.backward()
    else:
        out.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    grads = {name: None if p.grad is None else p.grad.numpy() for name, p in module.named_parameters()}
    return {"out": out.detach().numpy(), "x.grad": inputs.grad.numpy(), "grads": grads}


def compare_module(worker: Any, layers: Layers, dtype: str, x: np.ndarray, target: np.ndarray | None,
                   upstream: np.ndarray | None, what: str) -> None:
    """The network `layers` with torch's initial weights (seeded by the caller) copied into the worker's:
    output (or loss), input gradient and every parameter's gradient against torch's."""
    reference = torch_module(layers, dtype)
    want = torch_module_outcome(reference, dtype, x, target, upstream)
    got = worker.run_program(module_outcome, build, layers, state_of(reference), dtype, x, target, upstream)
    assert_close(got["out"], want["out"], what=f"{what}: output", dtype=dtype)
    assert got["x.grad"] is not None, f"{what}: the input got no gradient"
    assert_close(got["x.grad"], want["x.grad"], what=f"{what}: gradient of the input", dtype=dtype)
    for name, grad in want["grads"].items():
        assert got["grads"].get(name) is not None, f"{what}: parameter {name} got no gradient"
        assert_close(got["grads"][name], grad, what=f"{what}: gradient of {name}", dtype=dtype)


def training_run(builder: Any, layers: Layers, state: dict[str, Any], optimizer: str, options: dict[str, Any],
                 x: Any, y: Any, steps: int) -> Any:
    """Program: `steps` of zero_grad, cross-entropy of the model on (x, y), backward and the optimizer's step
    (mt.optim.<optimizer>(parameters, **options)); the loss of every step and the final parameters by name."""
    model = builder(mt.nn, layers, "float64")
    model.load_state_dict({name: mt.tensor(value, dtype="float64") for name, value in state.items()})
    opt = getattr(mt.optim, optimizer)(model.parameters(), **options)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mt.nn.functional.cross_entropy(model(mt.tensor(x, dtype="float64")), mt.tensor(y))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return {"losses": losses, "params": {name: p.detach().to_numpy() for name, p in model.named_parameters()}}


def torch_training_run(module: torch.nn.Module, optimizer: str, options: dict[str, Any], x: np.ndarray,
                       y: np.ndarray, steps: int) -> dict[str, Any]:
    """`training_run` with torch (the module is trained in place)."""
    opt = getattr(torch.optim, optimizer)(module.parameters(), **options)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(torch.tensor(x)), torch.tensor(y))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return {"losses": losses, "params": {name: p.detach().numpy() for name, p in module.named_parameters()}}


# -- a layer held in the worker, driven step by step -----------------------------------------------------------


def build_layer(kind: str, args: list[Any], kwargs: dict[str, Any], framework_kwargs: dict[str, str],
                state: Any) -> Any:
    """Program: mt.nn.<kind>(*args, **kwargs), each keyword of `framework_kwargs` passed as the framework's
    object of that name (dtype=mt.float64 travels as {"dtype": "float64"}); `state` (arrays) loaded when given."""
    options = dict(kwargs)
    for key, name in framework_kwargs.items():
        options[key] = getattr(mt, name)
    model = getattr(mt.nn, kind)(*args, **options)
    if state is not None:
        model.load_state_dict({name: mt.tensor(value) for name, value in state.items()})
    return model


def remote_layer(worker: Any, kind: str, *args: Any, state: dict[str, np.ndarray] | None = None,
                 **kwargs: Any) -> Any:
    """mt.nn.<kind>(*args, **kwargs) built in `worker` (a framework dtype such as mt.float64 among the keywords
    is sent by name), with `state` loaded when given; a reference to it."""
    plain = {key: value for key, value in kwargs.items() if not isinstance(value, DType)}
    named = {key: value.name for key, value in kwargs.items() if isinstance(value, DType)}
    return worker.run_program(build_layer, kind, list(args), plain, named, state)


def network(builder: Any, layers: Layers, dtype: str, state: dict[str, Any]) -> Any:
    """Program: `builder(mt.nn, layers, dtype)` (pass `build`) with `state` loaded, each array keeping its dtype."""
    model = builder(mt.nn, layers, dtype)
    model.load_state_dict({name: mt.tensor(value) for name, value in state.items()})
    return model


def load_state(model: Any, state: dict[str, Any], strict: bool) -> list[list[str]]:
    """Program: model.load_state_dict of `state` as tensors (each array's dtype kept), with strict=False when
    `strict` is False; the missing and the unexpected keys it reports."""
    tensors = {name: mt.tensor(value) for name, value in state.items()}
    result = model.load_state_dict(tensors) if strict else model.load_state_dict(tensors, strict=False)
    return [list(result.missing_keys), list(result.unexpected_keys)]


def layer_step(model: Any, x: Any, dtype: str, upstream: Any) -> dict[str, Any]:
    """Program: model(x) on a tensor of x in `dtype` that requires grad, then backward of `upstream` when the
    output has its shape (otherwise the test's comparison of the output names the mismatch); the output, the
    input's gradient, every parameter's gradient by name and every buffer by name, as arrays (None where a
    gradient is missing)."""
    inputs = mt.tensor(x, dtype=dtype, requires_grad=True)
    out = model(inputs)
    if tuple(out.shape) == tuple(upstream.shape):
        out.backward(mt.tensor(upstream, dtype=dtype))
    grads = {name: None if p.grad is None else p.grad.to_numpy() for name, p in model.named_parameters()}
    return {"out": out.to_numpy(), "x.grad": None if inputs.grad is None else inputs.grad.to_numpy(),
            "grads": grads, "buffers": {name: b.to_numpy() for name, b in model.named_buffers()}}


def set_mode(model: Any, training: bool) -> bool:
    """Program: model.train() or model.eval(); whether the call returned the module itself."""
    returned = model.train() if training else model.eval()
    return returned is model


def buffers_of(model: Any) -> dict[str, Any]:
    """Program: every buffer of the model by name, as arrays."""
    return {name: b.to_numpy() for name, b in model.named_buffers()}


def state_arrays(model: Any) -> dict[str, Any]:
    """Program: the model's state_dict() as arrays (Tensor.numpy())."""
    return {name: value.numpy() for name, value in model.state_dict().items()}


def state_keys(model: Any) -> list[str]:
    """Program: the keys of model.state_dict(), in order."""
    return list(model.state_dict())
