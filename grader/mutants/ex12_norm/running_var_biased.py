"""The running variance is updated with the biased batch variance (divided by M) instead of the unbiased one."""

HINT = "running_var averages the UNBIASED variance var · M / (M − 1); only the normalization uses the biased one."

PATCH = [("            unbiased = var * (count / (count - 1))", "            unbiased = var")]
