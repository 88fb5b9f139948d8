"""map_kernel handles only element cuda.grid(1): elements past blocks x threads are never computed."""

HINT = "Use a grid-stride loop: for i in range(cuda.grid(1), size, cuda.gridsize(1))."
PATCH = [("""    for i in range(cuda.grid(1), size, cuda.gridsize(1)):
        value = a[broadcast_position(i, out_shape, a_shape, a_strides)]
        out[broadcast_position(i, out_shape, out_shape, out_strides)] = unary_op(op, value)""",
          """    i = cuda.grid(1)
    if i < size:
        value = a[broadcast_position(i, out_shape, a_shape, a_strides)]
        out[broadcast_position(i, out_shape, out_shape, out_strides)] = unary_op(op, value)""")]
