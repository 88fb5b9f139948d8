"""Adam adds eps under the square root, sqrt(v_hat + eps), instead of after it."""

HINT = "denom = sqrt(v) / sqrt(1 - beta2^t) + eps: eps goes outside the square root."

PATCH = [("    denom = v.sqrt().div_(math.sqrt(bias_correction2)).add_(eps)  # in place: no second and third temporary\n",
          "    denom = (v / bias_correction2 + eps).sqrt()\n")]
