"""broadcast_position adds index * stride for stretched size-1 dims too (a view's stride there need not be 0)."""

HINT = "A size-1 in dim was stretched: it contributes nothing, whatever its stride."
PATCH = [("""        if d_in >= 0:
            if in_shape[d_in] != 1:
                position += index * in_strides[d_in]
            d_in -= 1
    return position


@cuda.jit(device=True)
def slice_position""", """        if d_in >= 0:
            position += index * in_strides[d_in]
            d_in -= 1
    return position


@cuda.jit(device=True)
def slice_position""")]
