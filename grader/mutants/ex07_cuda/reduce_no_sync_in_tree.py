"""reduce_kernel's tree goes to the next level without a barrier, reading partial results not yet combined."""

HINT = "Every level of the tree ends with cuda.syncthreads(), called by all threads (outside the `if tid < half`)."
PATCH = [("""            cuda.syncthreads()  # this level is complete before the next level reads it
""", "")]
