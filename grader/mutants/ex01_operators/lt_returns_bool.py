"""lt returns the bool x < y instead of the float 1.0 / 0.0."""

HINT = "Return 1.0 or 0.0: the result flows through arithmetic later."
PATCH = [("return 1.0 if x < y else 0.0", "return x < y")]
