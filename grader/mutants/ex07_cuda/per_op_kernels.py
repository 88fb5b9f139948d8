"""tensor_map builds and caches a kernel per op (a closure over the op): one GPU compilation per op and dtype."""

HINT = "Pass the op code as an argument to the one module-level map_kernel; do not make kernels in a factory."
PATCH = [("""def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    \"\"\"Launch map_kernel: out = op(a) element-wise, a broadcast to out's shape.\"\"\"
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    map_kernel[blocks, THREADS_PER_BLOCK](UNARY_CODES[op],""", """_kernels_by_op = {}


def _kernel_for(code):
    if code not in _kernels_by_op:
        @cuda.jit
        def kernel(op, out, out_shape, out_strides, size, a, a_shape, a_strides):
            for i in range(cuda.grid(1), size, cuda.gridsize(1)):
                value = a[broadcast_position(i, out_shape, a_shape, a_strides)]
                out[broadcast_position(i, out_shape, out_shape, out_strides)] = unary_op(code, value)

        _kernels_by_op[code] = kernel
    return _kernels_by_op[code]


def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    \"\"\"Launch map_kernel: out = op(a) element-wise, a broadcast to out's shape.\"\"\"
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    _kernel_for(UNARY_CODES[op])[blocks, THREADS_PER_BLOCK](UNARY_CODES[op],""")]
