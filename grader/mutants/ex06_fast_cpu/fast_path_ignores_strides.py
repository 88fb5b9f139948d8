"""tensor_map takes the flat loop whenever out is contiguous, even when the input's strides differ."""

HINT = ("The same shape is not the same layout: a transposed input has out's shape and other strides. Take the "
        "flat path only when the strides of out and a are equal too.")
PATCH = [("        size = flat_size(out_shape, out_strides, a_strides, a_strides)\n",
          "        size = flat_size(out_shape, out_strides, out_strides, out_strides)\n")]
