"""matmul_kernel zeroes its accumulators once, not for every matrix of the batch it computes."""

HINT = "Set acc to 0 at the start of each batch matrix: a block computes matrices bz, bz + gridDim.z, ..."
PATCH = [("""    for batch in range(cuda.blockIdx.z, batches, cuda.gridDim.z):
        a_base = batch_position(batch, out_shape, a_shape, a_strides)
        b_base = batch_position(batch, out_shape, b_shape, b_strides)
        for i in range(WORK):
            for j in range(WORK):
                acc[i, j] = 0
""", """    for i in range(WORK):
        for j in range(WORK):
            acc[i, j] = 0
    for batch in range(cuda.blockIdx.z, batches, cuda.gridDim.z):
        a_base = batch_position(batch, out_shape, a_shape, a_strides)
        b_base = batch_position(batch, out_shape, b_shape, b_strides)
""")]
