"""tensor_reduce starts the fold at a's first element along dim and then folds every element, the first again."""

HINT = "Start the accumulator at `start`, then fold each of the a_shape[dim] elements exactly once."
PATCH = [("            acc = start\n", "            acc = a[ex03.index_to_position(tuple(a_index), a_strides)]\n")]
