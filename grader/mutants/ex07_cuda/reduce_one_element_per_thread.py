"""reduce_kernel gives each thread one element instead of a strided loop: slices longer than the grid lose the rest."""

HINT = "Loop `for j in range(start, n, gridDim.x * blockDim.x)`: a slice may be longer than all the threads."
PATCH = [("""        for j in range(share * cuda.blockDim.x + tid, n, stride):
            acc = reduce_combine(op, acc, a[base + j * step])""",
          """        j = share * cuda.blockDim.x + tid
        if j < n:
            acc = reduce_combine(op, acc, a[base + j * step])""")]
