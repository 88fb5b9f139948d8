"""ex09 — optimizers' update rules and gradient clipping (reference solution).

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

import math
from typing import Any

import minitorch_dg as mt
from minitorch_dg import Tensor

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
    g = grad + param * weight_decay if weight_decay != 0 else grad
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = g.clone().detach()
            state["momentum_buffer"] = buf
        else:
            buf.mul_(momentum).add_(g, alpha=1 - dampening)
        g = g + buf * momentum if nesterov else buf
    param.add_(g, alpha=-lr)


# ---------------------------------------------------------------------------------------------
# Part 2: Adam and AdamW
# ---------------------------------------------------------------------------------------------


def _adam_moments(grad: Tensor, state: State, beta1: float, beta2: float) -> tuple[int, Tensor, Tensor]:
    if not state:
        state["step"] = 0
        state["exp_avg"] = mt.zeros_like(grad)
        state["exp_avg_sq"] = mt.zeros_like(grad)
    state["step"] += 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    return state["step"], m, v


def _adam_apply(param: Tensor, step: int, m: Tensor, v: Tensor, lr: float, beta1: float, beta2: float,
                eps: float) -> None:
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    denom = v.sqrt().div_(math.sqrt(bias_correction2)).add_(eps)  # in place: no second and third temporary
    param.addcdiv_(m, denom, value=-lr / bias_correction1)


def adam_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float) -> None:
    """One Adam step (weight decay as an L2 term in the gradient).

        t = t + 1                                    (state['step'], 0 before the first step)
        g = grad + weight_decay · param
        m = β1 · m + (1 − β1) · g                    (state['exp_avg'], zeros at first)
        v = β2 · v + (1 − β2) · g²                   (state['exp_avg_sq'], zeros at first)
        param = param − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
    """
    g = grad + param * weight_decay if weight_decay != 0 else grad
    step, m, v = _adam_moments(g, state, beta1, beta2)
    _adam_apply(param, step, m, v, lr, beta1, beta2, eps)


def adamw_update(param: Tensor, grad: Tensor, state: State, *, lr: float, beta1: float, beta2: float,
                 eps: float, weight_decay: float) -> None:
    """One AdamW step: decoupled weight decay, then Adam without any decay in the gradient.

        param = param · (1 − lr · weight_decay)
        then Adam's moments and update with g = grad
    """
    param.mul_(1 - lr * weight_decay)
    step, m, v = _adam_moments(grad, state, beta1, beta2)
    _adam_apply(param, step, m, v, lr, beta1, beta2, eps)


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
    g = grad + param * weight_decay if weight_decay != 0 else grad
    if not state:
        state["step"] = 0
        state["square_avg"] = mt.zeros_like(param)
        if momentum > 0:
            state["momentum_buffer"] = mt.zeros_like(param)
        if centered:
            state["grad_avg"] = mt.zeros_like(param)
    state["step"] += 1
    square_avg = state["square_avg"]
    square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg.mul_(alpha).add_(g, alpha=1 - alpha)
        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
    else:
        avg = square_avg.sqrt() + eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(g, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(g, avg, value=-lr)


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
    if not grads:
        return mt.tensor(0.0)
    if norm_type == math.inf:
        norms = [g.abs().amax() for g in grads]
        total = norms[0]
        for n in norms[1:]:
            total = total.maximum(n)
    else:
        # for p = 2, |g|^p is g·g: one cheap kernel instead of abs and a general power
        parts = [(g * g).sum() if norm_type == 2.0 else g.abs().pow(norm_type).sum() for g in grads]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        total = total ** (1.0 / norm_type)
    coef = max_norm / (total.item() + 1e-6)
    if coef < 1.0:
        for g in grads:
            g.mul_(coef)
    return total


def clip_grad_value_(grads: list[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    for g in grads:
        g.clamp_(-clip_value, clip_value)
