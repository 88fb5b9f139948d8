"""dropout zeroes elements but forgets to scale the survivors by 1 / (1 - p)."""

HINT = "Multiply the kept elements by 1 / (1 - p) so that the expected value is unchanged."

PATCH = [("    return input * keep * (1.0 / (1.0 - p))", "    return input * keep")]
