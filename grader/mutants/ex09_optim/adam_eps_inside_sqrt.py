"""Adam adds eps under the square root, sqrt(v_hat + eps), instead of after it."""

HINT = "denom = sqrt(v) / sqrt(1 - beta2^t) + eps: eps goes outside the square root."

PATCH = [("    denom = v.sqrt() / math.sqrt(bias_correction2) + eps\n",
          "    denom = (v / bias_correction2 + eps).sqrt()\n")]
