"""Index.backward writes the gradient at the start of each indexed dim (offset 0) instead of where the view began."""

HINT = "Write grad into the SAME view of the zeros (K.basic_index(zeros, key)): the gradient of x[2:4] lives in rows 2 and 3."


class Index(Index):  # noqa: F821  (the solution's class, extended)
    @staticmethod
    def backward(ctx, grad):
        shifted = []
        d = 0
        for item in ctx.key:
            if item is None:
                shifted.append(None)
                continue
            if isinstance(item, int):
                shifted.append(0)
            else:
                start, stop, step = item.indices(ctx.shape[d])
                shifted.append(slice(0, max(stop - start, 0), step))
            d += 1
        full = K.zeros(ctx.shape, grad.dtype, grad.device)  # noqa: F821
        K.copy_into(K.basic_index(full, tuple(shifted)), grad)  # noqa: F821
        return full, None
