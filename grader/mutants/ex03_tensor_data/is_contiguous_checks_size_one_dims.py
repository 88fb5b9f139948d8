"""is_contiguous also demands row-major strides on size-1 dims, whose stride torch ignores."""

HINT = "Skip dims of size 1: (2, 1, 3) with strides (3, 99, 1) is contiguous for torch."
PATCH = [("        if size == 1:\n            continue\n        if stride != expected:", "        if stride != expected:")]
