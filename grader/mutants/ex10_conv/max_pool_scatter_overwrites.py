"""The max-pool backward assigns each window's gradient instead of adding it, losing overlaps."""

HINT = "With stride < kernel an input can be the maximum of several windows: add (+=) their gradients."

PATCH = [("                grad_x[n, c, where // width, where % width] += grad_out[n, c, y, z]",
          "                grad_x[n, c, where // width, where % width] = grad_out[n, c, y, z]")]
