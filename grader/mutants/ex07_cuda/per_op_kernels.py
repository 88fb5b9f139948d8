"""tensor_map builds and caches a kernel per op (a closure over the op): one GPU compilation per op and dtype."""

HINT = "Pass the op code as an argument to the one module-level kernel; do not make kernels in a factory."
PATCH = [("""def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    \"\"\"Launch a map kernel: out = op(a) element-wise, a broadcast to out's shape; the contiguous kernel
    when the layouts allow it.\"\"\"
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    code = UNARY_CODES[op]
    if same_contiguous_layout(out, a):
        map_contiguous_kernel[blocks, THREADS_PER_BLOCK](""", """_kernels_by_op = {}


def _kernel_for(code):
    if code not in _kernels_by_op:
        @cuda.jit
        def kernel(op, out, a, size):
            for i in range(cuda.grid(1), size, cuda.gridsize(1)):
                out[i] = unary_op(code, a[i])

        _kernels_by_op[code] = kernel
    return _kernels_by_op[code]


def tensor_map(op: str, out: DeviceTensor, a: DeviceTensor) -> None:
    \"\"\"Launch a map kernel: out = op(a) element-wise, a broadcast to out's shape; the contiguous kernel
    when the layouts allow it.\"\"\"
    if out.size == 0:
        return
    blocks = blocks_for(out.size, THREADS_PER_BLOCK)
    code = UNARY_CODES[op]
    if same_contiguous_layout(out, a):
        _kernel_for(code)[blocks, THREADS_PER_BLOCK](""")]
