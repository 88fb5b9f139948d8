"""matmul_kernel multiplies the tiles without waiting for the other threads to finish copying them."""

HINT = "Call cuda.syncthreads() after copying the tiles: every thread reads elements that 2 x TILE other threads copied."
PATCH = [("""            cuda.syncthreads()  # both tiles are complete before anyone multiplies them
""", "")]
