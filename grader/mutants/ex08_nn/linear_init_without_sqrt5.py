"""nn.Linear's weight drawn with kaiming_uniform_'s default a = 0: bound sqrt(6 / fan_in), not 1 / sqrt(fan_in)."""

HINT = "torch initialises Linear weights with kaiming_uniform_(weight, a=math.sqrt(5))."

PATCH = [("    kaiming_uniform_(weight, a=math.sqrt(5.0))", "    kaiming_uniform_(weight)")]
