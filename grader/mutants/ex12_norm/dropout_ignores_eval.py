"""Dropout keeps dropping in eval mode (ignores self.training)."""

HINT = "In eval mode (self.training is False) Dropout returns its input unchanged."

PATCH = [("        if not self.training or self.p == 0.0:\n            return input\n        return input * dropout_mask(tuple(input.shape), self.p, input.dtype, input.device)",
          "        if self.p == 0.0:\n            return input\n        return input * dropout_mask(tuple(input.shape), self.p, input.dtype, input.device)")]
