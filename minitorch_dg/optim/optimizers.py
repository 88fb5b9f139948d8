"""SGD, Adam, AdamW and RMSprop: torch's constructors and checks; the update rules are ex09's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import course
from ..tensor import Tensor
from .optimizer import Optimizer, ParamGroup

_ex09 = course.ExerciseProxy("ex09")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _lr(value: Any) -> float:
    if isinstance(value, Tensor):
        return float(value.item())
    return value


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check_group(self, group: ParamGroup) -> None:
        _check(_lr(group["lr"]) >= 0.0, f"Invalid learning rate: {group['lr']}")
        _check(group["momentum"] >= 0.0, f"Invalid momentum value: {group['momentum']}")
        _check(group["weight_decay"] >= 0.0, f"Invalid weight_decay value: {group['weight_decay']}")
        _check(not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
               "Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param: Tensor, grad: Tensor, state: dict[str, Any], group: ParamGroup) -> None:
        _ex09.sgd_update(param, grad, state, lr=_lr(group["lr"]), momentum=group["momentum"],
                         dampening=group["dampening"], weight_decay=group["weight_decay"],
                         nesterov=bool(group["nesterov"]))


class _AdamBase(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float, betas: tuple[float, float], eps: float,
                 weight_decay: float, amsgrad: bool, maximize: bool) -> None:
        if amsgrad:
            raise NotImplementedError(f"minitorch-dg's {type(self).__name__} has no amsgrad variant; use amsgrad=False")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=False, maximize=maximize))

    def _check_group(self, group: ParamGroup) -> None:
        beta1, beta2 = group["betas"]
        _check(_lr(group["lr"]) >= 0.0, f"Invalid learning rate: {group['lr']}")
        _check(group["eps"] >= 0.0, f"Invalid epsilon value: {group['eps']}")
        _check(0.0 <= beta1 < 1.0, f"Invalid beta parameter at index 0: {beta1}")
        _check(0.0 <= beta2 < 1.0, f"Invalid beta parameter at index 1: {beta2}")
        _check(group["weight_decay"] >= 0.0, f"Invalid weight_decay value: {group['weight_decay']}")
        _check(not group.get("amsgrad"), "amsgrad is not supported by minitorch-dg")

    def _hyper(self, group: ParamGroup) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=_lr(group["lr"]), beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"])


class Adam(_AdamBase):
    """Adam (Kingma & Ba): bias-corrected running means of the gradient and its square; L2 weight decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)

    def _update(self, param: Tensor, grad: Tensor, state: dict[str, Any], group: ParamGroup) -> None:
        _ex09.adam_update(param, grad, state, **self._hyper(group))


class AdamW(_AdamBase):
    """AdamW (Loshchilov & Hutter): Adam with decoupled weight decay (the default decay is 1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)

    def _update(self, param: Tensor, grad: Tensor, state: dict[str, Any], group: ParamGroup) -> None:
        _ex09.adamw_update(param, grad, state, **self._hyper(group))


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide by a running root-mean-square of the gradient; optional momentum and centering."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _check_group(self, group: ParamGroup) -> None:
        _check(_lr(group["lr"]) >= 0.0, f"Invalid learning rate: {group['lr']}")
        _check(group["eps"] >= 0.0, f"Invalid epsilon value: {group['eps']}")
        _check(group["momentum"] >= 0.0, f"Invalid momentum value: {group['momentum']}")
        _check(group["weight_decay"] >= 0.0, f"Invalid weight_decay value: {group['weight_decay']}")
        _check(group["alpha"] >= 0.0, f"Invalid alpha value: {group['alpha']}")

    def _update(self, param: Tensor, grad: Tensor, state: dict[str, Any], group: ParamGroup) -> None:
        _ex09.rmsprop_update(param, grad, state, lr=_lr(group["lr"]), alpha=group["alpha"], eps=group["eps"],
                             weight_decay=group["weight_decay"], momentum=group["momentum"],
                             centered=bool(group["centered"]))
