"""map_contiguous_kernel handles only element cuda.grid(1): elements past blocks x threads are never computed."""

HINT = "Use a grid-stride loop in the contiguous kernels too: for i in range(cuda.grid(1), size, cuda.gridsize(1))."
PATCH = [("""    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        out[i] = unary_op(op, a[i])""", """    i = cuda.grid(1)
    if i < size:
        out[i] = unary_op(op, a[i])""")]
