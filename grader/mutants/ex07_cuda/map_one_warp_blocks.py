"""tensor_map launches blocks of 32 threads (one warp): correct, but most of a GPU's warp slots stay empty."""

HINT = "Launch THREADS_PER_BLOCK (256) threads per block, eight warps, so that a multiprocessor can hide memory latency."
PATCH = [("""    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    map_kernel[blocks, THREADS_PER_BLOCK](""", """    blocks = blocks_for(out.size, 32)
    map_kernel[blocks, 32](""")]
