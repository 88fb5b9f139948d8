"""tensor_map launches blocks of 32 threads (one warp): correct, but most of a GPU's warp slots stay empty."""

HINT = "Launch THREADS_PER_BLOCK (256) threads per block, eight warps, so that a multiprocessor can hide memory latency."
PATCH = [("""    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    code = UNARY_CODES[op]
    if same_contiguous_layout(out, a):
        map_contiguous_kernel[blocks, THREADS_PER_BLOCK](code, out.storage, a.storage, out.size)
        return
    map_kernel[blocks, THREADS_PER_BLOCK](""", """    blocks = blocks_for(out.size, 32)
    code = UNARY_CODES[op]
    if same_contiguous_layout(out, a):
        map_contiguous_kernel[blocks, 32](code, out.storage, a.storage, out.size)
        return
    map_kernel[blocks, 32](""")]
