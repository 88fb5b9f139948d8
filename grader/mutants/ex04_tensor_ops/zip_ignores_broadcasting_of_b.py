"""tensor_zip reads b at the output index itself, as if b always had out's shape (no broadcast_index for b)."""

HINT = "b broadcasts too: read it at broadcast_index(out_index, out_shape, b_shape), through b's strides."
PATCH = [(
    "b_pos = ex03.index_to_position(ex03.broadcast_index(out_index, out_shape, b_shape), b_strides)",
    "b_pos = ex03.index_to_position(out_index, b_strides)",
)]
