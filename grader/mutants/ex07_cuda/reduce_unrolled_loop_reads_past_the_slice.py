"""reduce_kernel's unrolled loop runs while its first element is inside the slice: the other three may be past it."""

HINT = "The unrolled step reads j + 3 * stride: run it only while j + (REDUCE_UNROLL - 1) * stride < n."
PATCH = [("""        while j + (REDUCE_UNROLL - 1) * stride < n:  # four loads issued before the first one is used""",
          """        while j < n:  # four loads issued before the first one is used""")]
