"""reduce_kernel gives each thread one element instead of a strided loop: slices longer than the grid lose the rest."""

HINT = "Loop over j, j + stride, j + 2 * stride, ... with stride = gridDim.x * blockDim.x: a slice may be longer than all the threads."
PATCH = [("""        while j + (REDUCE_UNROLL - 1) * stride < n:  # four loads issued before the first one is used
            x0 = a[base + j * step]
            x1 = a[base + (j + stride) * step]
            x2 = a[base + (j + 2 * stride) * step]
            x3 = a[base + (j + 3 * stride) * step]
            acc = reduce_combine(op, acc, x0)
            acc = reduce_combine(op, acc, x1)
            acc = reduce_combine(op, acc, x2)
            acc = reduce_combine(op, acc, x3)
            j += REDUCE_UNROLL * stride
        while j < n:  # the last few elements of this thread, one at a time
            acc = reduce_combine(op, acc, a[base + j * step])
            j += stride""", """        if j < n:
            acc = reduce_combine(op, acc, a[base + j * step])""")]
