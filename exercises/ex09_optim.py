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

The update rules are in the handout, in torch.optim's notation: writing them is the exercise.
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
    """One SGD step on `param`, in place: the update rule of the handout's Part 1 (torch.optim.SGD).

    lr is γ, momentum μ, dampening τ, weight_decay λ. state['momentum_buffer'] holds the buffer b
    (only when momentum ≠ 0); `grad` itself is never changed.
    """
    raise NotImplementedYet("ex09", "sgd_update")


# ---------------------------------------------------------------------------------------------
# Part 2: Adam and AdamW
# ---------------------------------------------------------------------------------------------


def adam_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float) -> None:
    """One Adam step on `param`, in place: the handout's Part 2 (torch.optim.Adam, weight decay as an L2
    term in the gradient).

    lr is γ, beta1/beta2 are β1/β2, eps ε, weight_decay λ. State (torch's names): state['step'] is t,
    state['exp_avg'] is m, state['exp_avg_sq'] is v.
    """
    raise NotImplementedYet("ex09", "adam_update")


def adamw_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                 eps: float, weight_decay: float) -> None:
    """One AdamW step on `param`, in place: the handout's Part 2, decoupled weight decay
    (torch.optim.AdamW). The same state names as adam_update.
    """
    raise NotImplementedYet("ex09", "adamw_update")


# ---------------------------------------------------------------------------------------------
# Part 3: RMSprop
# ---------------------------------------------------------------------------------------------


def rmsprop_update(param: Tensor, grad: Tensor, state: State, *, lr: float, alpha: float, eps: float,
                   weight_decay: float, momentum: float, centered: bool) -> None:
    """One RMSprop step on `param`, in place: the handout's Part 3 (torch.optim.RMSprop).

    lr is γ, alpha α, eps ε, weight_decay λ, momentum μ. State (torch's names): state['step'],
    state['square_avg'] (v), state['grad_avg'] (only when centered), state['momentum_buffer'] (only
    when momentum > 0).
    """
    raise NotImplementedYet("ex09", "rmsprop_update")


# ---------------------------------------------------------------------------------------------
# Part 4: gradient clipping
# ---------------------------------------------------------------------------------------------


def clip_grad_norm_(grads: list[Tensor], max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale all gradients together, in place, so that their total norm is at most max_norm; return the
    total norm measured before scaling, as a 0-d tensor (the handout's Part 4, torch.nn.utils.clip_grad_norm_).

    `grads` are the `.grad` tensors of the parameters (the framework drops parameters without one).
    No gradients: return a zero tensor.
    """
    raise NotImplementedYet("ex09", "clip_grad_norm_")


def clip_grad_value_(grads: list[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place (torch.nn.utils.clip_grad_value_)."""
    raise NotImplementedYet("ex09", "clip_grad_value_")
