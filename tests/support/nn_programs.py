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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

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
