"""Programs that run ex09's optimizers and gradient clipping in the exercise's worker (grader/judge.py,
`run_program`): parameters and gradients arrive as arrays, and what comes back is arrays, so that torch can
run the same steps in the judge and the tests compare them step by step.
"""

from __future__ import annotations

from typing import Any

mt: Any  # a program's global: the framework as the worker serves it (never bound here)


def optimizer_steps(name: str, groups: list[dict[str, Any]], options: dict[str, Any], dtype: str,
                    grads: list[list[Any]]) -> dict[str, Any]:
    """Program: mt.optim.<name> over parameter groups (each {"params": [arrays], ...its options}), one step
    per entry of `grads` (a gradient per parameter, in order; None: no gradient that step); the parameters
    after every step and, at the end, each parameter's optimizer state (tensors as arrays)."""
    params, param_groups = [], []
    for group in groups:
        tensors = [mt.tensor(a, dtype=dtype, requires_grad=True) for a in group["params"]]
        params.extend(tensors)
        param_groups.append({**group, "params": tensors})
    opt = getattr(mt.optim, name)(param_groups, **options)
    after = []
    for step in grads:
        for p, g in zip(params, step):
            p.grad = None if g is None else mt.tensor(g, dtype=dtype)
        opt.step()
        after.append([p.detach().to_numpy() for p in params])
    states = []
    for p in params:
        state = opt.state.get(p, {})
        states.append({str(k): v.to_numpy() if isinstance(v, mt.Tensor) else v for k, v in state.items()})
    return {"after": after, "states": states}


def clipped(function: str, values: list[Any], grads: list[Any], which: Any, args: list[Any],
            options: dict[str, Any]) -> dict[str, Any]:
    """Program: mt.nn.utils.<function>(parameters[which] (a list of indices, or one index for a single
    tensor), *args, **options) on float64 parameters with `grads` (None: no gradient); what it returned
    (a tensor as an array, with its class name) and every gradient afterwards."""
    params = [mt.tensor(a, dtype=mt.float64, requires_grad=True) for a in values]
    for p, g in zip(params, grads):
        p.grad = None if g is None else mt.tensor(g, dtype=mt.float64)
    chosen = params[which] if isinstance(which, int) else [params[i] for i in which]
    returned = getattr(mt.nn.utils, function)(chosen, *args, **options)
    is_tensor = isinstance(returned, mt.Tensor)
    return {"returned": returned.to_numpy() if is_tensor else returned, "class": type(returned).__name__,
            "tensor": is_tensor, "grads": [None if p.grad is None else p.grad.to_numpy() for p in params]}
