"""tensor_map writes result n at out[n], as if out were always contiguous."""

HINT = "out may be a transposed or sliced view: write at index_to_position(out_index, out_strides)."
PATCH = [("out[ex03.index_to_position(out_index, out_strides)] = fn(value)", "out[ordinal] = fn(value)")]
