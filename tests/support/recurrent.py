"""Run a minitorch-dg recurrent module and its torch twin (weights copied) on the same data; compare all.

`compare_run` checks the output, h_n (and c_n), then back-propagates the same random upstream gradients
through both and checks the gradient of the input, of h0 (and c0) and of every parameter, by torch's name.
Used by the public and hidden ex11 tests, where the minitorch-dg module lives in ex11's worker process
(grader/judge.py): `remote_twins` builds it there from torch's weights and the test holds it as a reference,
and the programs below run it there. `twins` builds both in this process (the framework's own tests).

Programs (they name only their arguments, builtins and `mt`, the framework as the worker serves it):

    build_twin(spec)                   the module, with torch's weights loaded
    outcome(model, x, states, ...)     one call, every output and every gradient, as arrays
    embedding_outcome(...)             nn.Embedding with torch's weights: output and weight.grad (check_embedding)
    leaf / call / h_of / detached / grad_of / param_grads / weighted_backward
                                       one step of a test that drives a module by hand (a Python loop of
                                       cells, truncated backpropagation), holding the worker's tensors
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import minitorch_dg as mt
from tests.support.compare import assert_close

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def copy_weights(model: mt.nn.Module, reference: torch.nn.Module) -> None:
    """Load the torch module's state dict into the minitorch-dg module (same names and shapes)."""
    model.load_state_dict({k: mt.tensor(v.detach().cpu().numpy()) for k, v in reference.state_dict().items()})


def _reference(mode: str, args: tuple[Any, ...], kwargs: dict[str, Any], dtype: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return getattr(torch.nn, mode)(*args, **kwargs).to(TORCH_DTYPES[dtype])


def twins(mode: str, *args: Any, dtype: str = "float64", fused: bool = True, seed: int = 0,
          **kwargs: Any) -> tuple[mt.nn.Module, torch.nn.Module]:
    """torch.nn.<mode>(*args, **kwargs) with seeded weights, and minitorch-dg's twin carrying the same weights
    (both in this process)."""
    reference = _reference(mode, args, kwargs, dtype, seed)
    model = getattr(mt.nn, mode)(*args, dtype=getattr(mt, dtype), **kwargs)
    model.fused = fused
    copy_weights(model, reference)
    return model, reference


def build_twin(mode: str, args: list[Any], kwargs: dict[str, Any], dtype: str, fused: bool,
               state: dict[str, Any]) -> Any:
    """Program: mt.nn.<mode>(*args, dtype=dtype, **kwargs) with `fused` set and `state` loaded."""
    model = getattr(mt.nn, mode)(*args, dtype=getattr(mt, dtype), **kwargs)
    model.fused = fused
    model.load_state_dict({k: mt.tensor(v) for k, v in state.items()})
    return model


def remote_twins(worker: Any, mode: str, *args: Any, dtype: str = "float64", fused: bool = True, seed: int = 0,
                 **kwargs: Any) -> tuple[Any, torch.nn.Module]:
    """`twins` with minitorch-dg's module built in the exercise's worker (returned as a reference to it)."""
    reference = _reference(mode, args, kwargs, dtype, seed)
    state = {k: v.detach().cpu().numpy() for k, v in reference.state_dict().items()}
    return worker.run_program(build_twin, mode, list(args), kwargs, dtype, fused, state), reference


def outcome(model: Any, x: Any, states: Any, dtype: str, upstreams: list[Any]) -> dict[str, Any]:
    """Program: model(x) or model(x, state) (one array, or two for LSTM); the loss sum(output_k * upstream_k)
    over every output is back-propagated; every output and every gradient (input, states, parameters by name)."""

    def flatten(result: Any) -> list[Any]:
        if isinstance(result, (tuple, list)):
            return [leaf for item in result for leaf in flatten(item)]
        return [result]

    def grad(t: Any) -> Any:
        return None if t.grad is None else t.grad.to_numpy()

    kind = getattr(mt, dtype)
    inputs = mt.tensor(x, dtype=kind, requires_grad=True)
    given = [mt.tensor(s, dtype=kind, requires_grad=True) for s in states] if states is not None else []
    if not given:
        out = model(inputs)
    elif len(given) == 1:
        out = model(inputs, given[0])
    else:
        out = model(inputs, (given[0], given[1]))
    leaves = flatten(out)
    loss = None
    for leaf, up in zip(leaves, upstreams):
        term = (leaf * mt.tensor(up, dtype=kind)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    return {"outputs": [leaf.to_numpy() for leaf in leaves], "x": grad(inputs), "states": [grad(s) for s in given],
            "params": {name: grad(p) for name, p in model.named_parameters()}}


def _flatten(result: Any) -> list[Any]:
    """output, h_n / output, (h_n, c_n) / h / (h, c) -> a flat list of tensors."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _flatten(item)]
    return [result]


def _call(module: Any, x: Any, states: list[Any]) -> Any:
    if not states:
        return module(x)
    return module(x, states[0]) if len(states) == 1 else module(x, (states[0], states[1]))


def _names(reference: torch.nn.Module, out: Any) -> list[str]:
    if isinstance(reference, torch.nn.LSTMCell):
        return ["h'", "c'"]
    if isinstance(reference, (torch.nn.RNNCell, torch.nn.GRUCell)):
        return ["h'"]
    return ["output", "h_n", "c_n"] if not isinstance(out, torch.Tensor) else ["h"]


def compare_run(model: Any, reference: Any, x: np.ndarray, states: list[np.ndarray] | None, dtype: str,
                label: str, upstream_seed: int = 1, rtol: float | None = None, atol: float | None = None,
                *, worker: Any) -> None:
    """Call both modules on x (and the states, if any: one array, or two for LSTM), compare every output,
    then back-propagate the same upstream gradients and compare every gradient. `model` is a reference to a
    module in `worker` (`remote_twins`), and its side runs there (`outcome`)."""
    t_x = torch.tensor(x, dtype=TORCH_DTYPES[dtype], requires_grad=True)
    t_states = [torch.tensor(s, dtype=TORCH_DTYPES[dtype], requires_grad=True) for s in states or []]
    t_out = _call(reference, t_x, t_states)
    t_leaves = _flatten(t_out)
    rng = np.random.default_rng(upstream_seed)
    upstreams = [rng.normal(size=tuple(t.shape)) for t in t_leaves]
    got = worker.run_program(outcome, model, x, states, dtype, upstreams)
    tol = {"rtol": rtol, "atol": atol, "dtype": dtype}
    for name, m, t in zip(_names(reference, t_out), got["outputs"], t_leaves):
        assert_close(m, t, what=f"{label}: {name}", **tol)
    t_loss: Any = None
    for t, up in zip(t_leaves, upstreams):
        term = (t * torch.tensor(up, dtype=TORCH_DTYPES[dtype])).sum()
        t_loss = term if t_loss is None else t_loss + term
    t_loss.backward()
    assert got["x"] is not None, f"{label}: the input got no gradient"
    assert_close(got["x"], t_x.grad, what=f"{label}: gradient of the input", **tol)
    for k, t in enumerate(t_states):
        assert got["states"][k] is not None, f"{label}: the initial state {k} got no gradient"
        assert_close(got["states"][k], t.grad, what=f"{label}: gradient of the initial state {k}", **tol)
    for name, p in reference.named_parameters():
        assert got["params"].get(name) is not None, f"{label}: parameter {name} got no gradient"
        assert_close(got["params"][name], p.grad, what=f"{label}: gradient of {name}", **tol)


def embedding_outcome(rows: int, width: int, options: dict[str, Any], dtype: str, state: dict[str, Any],
                      indices: Any, upstream: Any) -> dict[str, Any]:
    """Program: nn.Embedding(rows, width, **options) in `dtype`; its weight before `state` is loaded, its output
    at `indices`, and weight.grad after backward of sum(output * upstream)."""
    kind = getattr(mt, dtype)
    model = mt.nn.Embedding(rows, width, dtype=kind, **options)
    initial = model.weight.detach().to_numpy()
    model.load_state_dict({k: mt.tensor(v) for k, v in state.items()})
    out = model(mt.tensor(indices))
    (out * mt.tensor(upstream, dtype=kind)).sum().backward()
    return {"initial": initial, "out": out.to_numpy(),
            "grad": None if model.weight.grad is None else model.weight.grad.to_numpy()}


def check_embedding(worker: Any, rows: int, width: int, options: dict[str, Any], dtype: str, indices: np.ndarray,
                    upstream: np.ndarray, what: str) -> dict[str, Any]:
    """nn.Embedding with torch's weights (seeded by the caller) in the worker: output and weight.grad against
    torch's; returns what `embedding_outcome` gave."""
    reference = torch.nn.Embedding(rows, width, **options).to(getattr(torch, dtype))
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    got = worker.run_program(embedding_outcome, rows, width, options, dtype, state, indices, upstream)
    t_out = reference(torch.tensor(indices))
    assert_close(got["out"], t_out, what=what, dtype=dtype)
    (t_out * torch.tensor(upstream, dtype=getattr(torch, dtype))).sum().backward()
    assert got["grad"] is not None, f"{what}: weight.grad is None after backward"
    assert_close(got["grad"], reference.weight.grad, what=f"{what}: weight.grad", dtype=dtype)
    return got


# -- one step at a time, in the worker -----------------------------------------------------------------------


def leaf(values: Any, dtype: str) -> Any:
    """Program: a tensor of `values` in `dtype` that requires grad."""
    return mt.tensor(values, dtype=getattr(mt, dtype), requires_grad=True)


def call(module: Any, x: Any, state: Any) -> Any:
    """Program: module(x), or module(x, state) when a state is given; x is a tensor or an array."""
    x = x if isinstance(x, mt.Tensor) else mt.tensor(x)
    return module(x) if state is None else module(x, state)


def h_of(state: Any) -> Any:
    """Program: the h of a cell's state (h, or (h, c)) as an array."""
    return (state[0] if isinstance(state, tuple) else state).to_numpy()


def detached(state: Any) -> Any:
    """Program: the state with every tensor detached (truncated backpropagation)."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def grad_of(t: Any) -> Any:
    """Program: t.grad as an array, or None."""
    return None if t.grad is None else t.grad.to_numpy()


def param_grads(module: Any) -> dict[str, Any]:
    """Program: every parameter's gradient by name (None where it has none)."""
    return {name: None if p.grad is None else p.grad.to_numpy() for name, p in module.named_parameters()}


def weighted_backward(outputs: list[Any], weights: list[Any], dtype: str) -> None:
    """Program: backward of sum_k sum(h(outputs[k]) * weights[k]), h the first tensor of a tuple state."""
    total = None
    for out, w in zip(outputs, weights):
        h = out[0] if isinstance(out, tuple) else out
        term = (h * mt.tensor(w, dtype=getattr(mt, dtype))).sum()
        total = term if total is None else total + term
    total.backward()
