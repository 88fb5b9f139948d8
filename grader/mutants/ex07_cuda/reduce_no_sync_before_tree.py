"""reduce_kernel starts the tree before every thread has stored its partial result in shared memory."""

HINT = "Call cuda.syncthreads() between `partial[tid] = acc` and the tree: thread 0 reads partial[half] next."
PATCH = [("""        cuda.syncthreads()  # every thread's partial is in shared memory before anyone reads a neighbour's
""", "")]
