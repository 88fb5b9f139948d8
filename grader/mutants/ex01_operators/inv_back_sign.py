"""inv_back forgets the minus sign of d/dx (1/x) = -1/x^2."""

HINT = "The derivative of 1/x is -1/x^2: mind the sign."
PATCH = [("return -d / (x * x)", "return d / (x * x)")]
