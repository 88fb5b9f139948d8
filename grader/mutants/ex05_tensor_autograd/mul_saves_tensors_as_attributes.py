"""Mul keeps its inputs as ctx.a and ctx.b instead of save_for_backward: no version check, nothing freed after backward."""

HINT = "Keep tensors with ctx.save_for_backward and read them with ctx.saved_tensors: that detects in-place changes and frees them."


class Mul(Mul):  # noqa: F821  (the solution's class, extended)
    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return K.zip("mul", a, b)  # noqa: F821

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)  # noqa: F821
