"""tensor_matmul uses out's batch index for a and b directly, so broadcast batch dims are read out of place."""

HINT = "a's and b's batch dims may be shorter or have size 1: map out's batch index with broadcast_index."
PATCH = [(
    "a_batch = ex03.broadcast_index(batch, batch_shape, a_shape[:-2])\n"
    "        b_batch = ex03.broadcast_index(batch, batch_shape, b_shape[:-2])",
    "a_batch = batch\n        b_batch = batch",
)]
