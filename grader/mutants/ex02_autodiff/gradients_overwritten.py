"""backpropagate overwrites a node's derivative instead of adding each path's contribution."""

HINT = "A node used twice receives two contributions: add them (x * x + x has derivative 2x + 1)."
PATCH = [("derivatives[key] = derivatives[key] + d_parent if key in derivatives else d_parent",
          "derivatives[key] = d_parent")]
