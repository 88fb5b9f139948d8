"""AdamW that adds weight_decay * param to the gradient (that is Adam's L2 decay, not decoupled decay)."""

HINT = "AdamW shrinks the parameter itself: param *= 1 - lr * weight_decay; the gradient stays raw."

PATCH = [("    param.mul_(1 - lr * weight_decay)\n    step, m, v = _adam_moments(grad, state, beta1, beta2)",
          "    grad = grad + param * weight_decay\n    step, m, v = _adam_moments(grad, state, beta1, beta2)")]
