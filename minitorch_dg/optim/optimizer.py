"""`Optimizer`: parameter groups, per-parameter state, zero_grad, step and state dicts (torch's layout).

A subclass names its hyper-parameters (the defaults of every group) and says how one parameter is
updated (`_update`); the update rules themselves are ex09's, served by the course. Everything else —
groups, bookkeeping, saving and restoring — lives here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from ..autodiff import enable_grad, no_grad
from ..tensor import Tensor

ParamGroup = dict[str, Any]


class _Required:
    """The default of a hyper-parameter that every group must set (like torch's `required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of optimizers: `params` is an iterable of tensors or of dicts (parameter groups)."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[ParamGroup] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a "
                "Tensor; pass model.parameters() or [tensor]"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------------------------------------
    # Groups
    # ------------------------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params or [])
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (optimize the tensors you created, e.g. "
                                 "model.parameters(), not results of operations)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter more than once")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: ParamGroup) -> None:
        """Validate one group's hyper-parameters (subclasses raise ValueError with torch's words)."""

    # ------------------------------------------------------------------------------------------------
    # Gradients and steps
    # ------------------------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (the default), or to zeros with set_to_none=False."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    with no_grad():
                        p.grad = p.grad.detach()
                        p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. `closure` (re-evaluates the loss) is called first."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if group.get("maximize", False) else p.grad
                    state = self.state.setdefault(p, {})
                    self._update(p, grad, state, group)
                    if not state:
                        del self.state[p]
        return loss

    def _update(self, param: Tensor, grad: Tensor, state: dict[str, Any], group: ParamGroup) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update(param, grad, state, group)")

    # ------------------------------------------------------------------------------------------------
    # State dicts: parameters are named by their position across all groups, as in torch
    # ------------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{hyper-parameters..., 'params': [indices]}]}.

        The state's tensors are the optimizer's own (as in torch): mt.save copies them to disk.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by `state_dict()` from an optimizer over the same parameters."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict has the keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved_groups)}) than this "
                f"optimizer ({len(self.param_groups)})"
            )
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's group: "
                    f"group {i} has {len(saved['params'])} parameters in the state dict and {len(mine['params'])} here"
                )
        by_index: dict[Any, Tensor] = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for saved_id, p in zip(saved["params"], mine["params"]):
                by_index[saved_id] = p
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            p = by_index.get(key)
            if p is None:
                raise ValueError(f"the state dict has state for parameter {key!r}, which no group lists")
            new_state[p] = {name: _restore(name, value, p) for name, value in values.items()}
        for mine, saved in zip(self.param_groups, saved_groups):
            for name, value in saved.items():
                if name != "params":
                    mine[name] = copy.deepcopy(value)
        self.state = new_state

    # ------------------------------------------------------------------------------------------------
    # Printing
    # ------------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}"
            for key in sorted(k for k in group if k != "params"):
                text += f"\n    {key}: {group[key]}"
        return text + "\n)"


def _restore(name: str, value: Any, param: Tensor) -> Any:
    """A private copy of one state value; floating tensors take the parameter's dtype and device (as torch)."""
    if isinstance(value, Tensor):
        out = value.detach()
        if out.dtype.is_floating_point and name != "step":
            out = out.to(dtype=param.dtype)
        return out.to(param.device, copy=True)
    return copy.deepcopy(value)
