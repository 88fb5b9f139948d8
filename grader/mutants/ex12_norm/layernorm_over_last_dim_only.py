"""LayerNorm normalizes over the last dim only, whatever normalized_shape says."""

HINT = "Normalize over the last len(normalized_shape) dims together, e.g. (-2, -1) for normalized_shape (3, 4)."

PATCH = [("        out = normalize(input, tuple(range(input.dim() - count, input.dim())), self.eps)",
          "        out = normalize(input, (input.dim() - 1,), self.eps)")]
