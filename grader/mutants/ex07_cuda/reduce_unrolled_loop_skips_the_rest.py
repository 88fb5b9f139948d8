"""reduce_kernel folds only whole groups of REDUCE_UNROLL elements: the last few of each thread are dropped."""

HINT = "After the unrolled loop, fold the remaining elements one at a time: `while j < n: ...; j += stride`."
PATCH = [("""        while j < n:  # the last few elements of this thread, one at a time
            acc = reduce_combine(op, acc, a[base + j * step])
            j += stride
""", "")]
