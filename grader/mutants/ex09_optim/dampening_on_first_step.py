"""SGD applies dampening to the first gradient: the buffer starts as (1 - dampening) * g instead of g."""

HINT = "torch starts the momentum buffer as an exact copy of the first gradient; dampening applies only later."

PATCH = [("            buf = g.clone().detach()\n", "            buf = g * (1 - dampening)\n")]
