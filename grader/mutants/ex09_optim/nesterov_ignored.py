"""SGD with nesterov=True steps by the momentum buffer alone, like plain momentum."""

HINT = "With Nesterov momentum the step direction is g + momentum * b."

PATCH = [("        g = g + buf * momentum if nesterov else buf\n", "        g = buf\n")]
