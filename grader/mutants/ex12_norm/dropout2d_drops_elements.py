"""Dropout2d draws one mask value per element, like Dropout, instead of one per channel."""

HINT = "Dropout2d's mask has shape (N, C, 1, 1): a whole channel is kept or dropped."

PATCH = [("        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)",
          "        shape = tuple(input.shape)")]
