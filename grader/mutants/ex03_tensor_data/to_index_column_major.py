"""to_index counts in column-major order: the first dim turns fastest instead of the last."""

HINT = "Peel the digits off from the LAST dim: in row-major order the last index turns fastest."
PATCH = [("for d in range(len(shape) - 1, -1, -1):\n        index[d] = rest % shape[d]",
          "for d in range(len(shape)):\n        index[d] = rest % shape[d]")]
