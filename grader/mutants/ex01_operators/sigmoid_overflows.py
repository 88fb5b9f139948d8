"""sigmoid as the textbook 1 / (1 + exp(-x)): math.exp overflows for x = -1000."""

HINT = "Branch on the sign of x so that the exponential you compute is never above 1."


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
