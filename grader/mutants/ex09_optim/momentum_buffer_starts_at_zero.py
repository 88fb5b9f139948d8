"""SGD's momentum buffer starts at zero and is updated at the first step too (torch starts it at the first gradient)."""

HINT = "At the first step the momentum buffer is a copy of the gradient: b = g.clone()."

PATCH = [("            buf = g.clone().detach()\n            state[\"momentum_buffer\"] = buf\n",
          "            buf = mt.zeros_like(g)\n            state[\"momentum_buffer\"] = buf\n"
          "            buf.mul_(momentum).add_(g, alpha=1 - dampening)\n")]
