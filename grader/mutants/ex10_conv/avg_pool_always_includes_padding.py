"""Average pooling divides by the clipped window area even when count_include_pad=False."""

HINT = "count_include_pad=False divides by the number of real inputs in the window, not by its area."

PATCH = [("    if count_include_pad:\n        return (bottom - top) * (right - left)", "    if True:\n        return (bottom - top) * (right - left)")]
