"""ex09 — optimizers' update rules and gradient clipping.

Read exercises/ex09_optim.md first. Replace each `raise NotImplementedYet(...)` with your code, then run
`mtdg check ex09`. Do not rename functions or change their parameters: the tests call them.

The framework's `mt.optim.SGD`, `Adam`, `AdamW` and `RMSprop` keep the parameter groups, the
hyper-parameters, a `state` dict per parameter, `zero_grad`, `state_dict` and the lr schedulers. At
every `step()` they call the update rule below once per parameter that has a gradient, under
`mt.no_grad()`, with:

    param    the parameter: change its values in place (param.add_(...), param.mul_(...), ...)
    grad     its gradient (already negated when the optimizer maximizes); never change it in place
    state    this parameter's dict, empty at the first step: keep your running averages in it, under
             torch's names, so that optimizer state dicts look like torch's
    the hyper-parameters of the parameter's group, by keyword

Every formula follows torch.optim's documentation, in torch's order of operations.
"""

from __future__ import annotations

import math  # noqa: F401  (you will need it)
from typing import Any

import minitorch_dg as mt  # noqa: F401  (mt.zeros_like, mt.tensor)
from minitorch_dg import Tensor
from minitorch_dg.errors import NotImplementedYet

State = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Part 1: SGD with momentum, dampening, Nesterov and weight decay
# ---------------------------------------------------------------------------------------------


def sgd_update(param: Tensor, grad: Tensor, state: State, *, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool) -> None:
    """One SGD step.

        g = grad + weight_decay · param
        if momentum ≠ 0:
            b = g                                   at the first step (a copy: torch's rule, no dampening)
            b = momentum · b + (1 − dampening) · g  afterwards
            g = g + momentum · b   if nesterov   else   g = b
        param = param − lr · g

    state['momentum_buffer'] holds b (only when momentum ≠ 0).
    """
    raise NotImplementedYet("ex09", "sgd_update")


# ---------------------------------------------------------------------------------------------
# Part 2: Adam and AdamW
# ---------------------------------------------------------------------------------------------


def adam_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float) -> None:
    """One Adam step (weight decay as an L2 term in the gradient).

        t = t + 1                                    (state['step'], 0 before the first step)
        g = grad + weight_decay · param
        m = β1 · m + (1 − β1) · g                    (state['exp_avg'], zeros at first)
        v = β2 · v + (1 − β2) · g²                   (state['exp_avg_sq'], zeros at first)
        param = param − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
    """
    raise NotImplementedYet("ex09", "adam_update")


def adamw_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                 eps: float, weight_decay: float) -> None:
    """One AdamW step: decoupled weight decay, then Adam without any decay in the gradient.

        param = param · (1 − lr · weight_decay)
        then Adam's moments and update with g = grad (same state names as adam_update)
    """
    raise NotImplementedYet("ex09", "adamw_update")


# ---------------------------------------------------------------------------------------------
# Part 3: RMSprop
# ---------------------------------------------------------------------------------------------


def rmsprop_update(param: Tensor, grad: Tensor, state: State, *, lr: float, alpha: float, eps: float,
                   weight_decay: float, momentum: float, centered: bool) -> None:
    """One RMSprop step.

        t = t + 1                                                 (state['step'])
        g = grad + weight_decay · param
        s = α · s + (1 − α) · g²                                  (state['square_avg'], zeros at first)
        if centered:  a = α · a + (1 − α) · g                     (state['grad_avg'], zeros at first)
                      d = √(s − a²) + eps
        else:         d = √s + eps
        if momentum > 0:  b = momentum · b + g / d;  param = param − lr · b   (state['momentum_buffer'], zeros at first)
        else:             param = param − lr · g / d
    """
    raise NotImplementedYet("ex09", "rmsprop_update")


# ---------------------------------------------------------------------------------------------
# Part 4: gradient clipping
# ---------------------------------------------------------------------------------------------


def clip_grad_norm_(grads: list[Tensor], max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale all gradients together so that their total norm is at most max_norm; return the total norm.

        total = (Σ over all elements of all grads |g|^p)^(1/p)        (p = norm_type; p = inf: max |g|)
        c = max_norm / (total + 1e-6);  if c < 1, multiply every gradient in place by c

    `grads` are the `.grad` tensors of the parameters (the framework drops parameters without one).
    No gradients: return a zero tensor.
    """
    raise NotImplementedYet("ex09", "clip_grad_norm_")


def clip_grad_value_(grads: list[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    raise NotImplementedYet("ex09", "clip_grad_value_")
