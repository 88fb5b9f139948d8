"""clip_grad_norm_ scales the gradients to max_norm even when their norm is already smaller (no clamp at 1)."""

HINT = "Scale only when max_norm / (total + 1e-6) is below 1: clipping never enlarges gradients."

PATCH = [("    if coef < 1.0:\n        for g in grads:\n            g.mul_(coef)\n",
          "    for g in grads:\n        g.mul_(coef)\n")]
