"""reduce_kernel calls cuda.syncthreads() inside `if tid < half:`, a barrier only some threads reach."""

HINT = "Every thread of a block must reach every syncthreads(): put it after the `if`, not inside it."
PATCH = [("""            if tid < half:
                partial[tid] = reduce_combine(op, partial[tid], partial[tid + half])
            cuda.syncthreads()  # this level is complete before the next level reads it
""", """            if tid < half:
                partial[tid] = reduce_combine(op, partial[tid], partial[tid + half])
                cuda.syncthreads()
""")]
