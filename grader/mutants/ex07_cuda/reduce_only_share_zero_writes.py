"""tensor_reduce lets thread 0 of share 0 alone write out: the other shares are never stored (unwritten scratch)."""

HINT = "Every share writes its own partial result: at slice_position(...) + share * out_strides[dim], from thread 0 of each block."
PATCH = [("""        if tid == 0:
            out[slice_position(s, out_shape, out_strides, dim) + share * out_strides[dim]] = partial[0]""",
          """        if tid == 0 and share == 0:
            out[slice_position(s, out_shape, out_strides, dim) + share * out_strides[dim]] = partial[0]""")]
