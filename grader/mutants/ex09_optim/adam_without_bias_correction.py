"""Adam without bias correction: m and v are used as they are, so the first steps are far too small."""

HINT = "Divide m by 1 - beta1^t and v by 1 - beta2^t (t counted from 1)."

PATCH = [("    bias_correction1 = 1 - beta1 ** step\n    bias_correction2 = 1 - beta2 ** step\n",
          "    bias_correction1 = 1.0\n    bias_correction2 = 1.0\n")]
