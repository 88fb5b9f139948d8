"""tensor_map reads the input at the output index, so a smaller (broadcast) input is read out of place."""

HINT = "The input may have fewer dims or size-1 dims: read it at broadcast_index(out_index, out_shape, in_shape)."
PATCH = [("in_index = ex03.broadcast_index(out_index, out_shape, in_shape)", "in_index = out_index")]
