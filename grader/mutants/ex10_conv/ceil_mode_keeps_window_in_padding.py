"""ceil_mode rounds up but keeps a last window that starts in the padding after the input."""

HINT = "With ceil_mode, drop the last window when (out − 1)·stride ≥ size + pad_before: it would start past the input."

PATCH = [("    if ceil_mode and (out - 1) * stride >= size + pad_before:\n        out -= 1\n", "")]
