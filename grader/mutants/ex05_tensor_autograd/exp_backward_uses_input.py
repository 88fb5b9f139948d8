"""Exp saves its input and backward multiplies the gradient by the input instead of by e^a."""

HINT = "The derivative of e^a is e^a: save the OUTPUT of forward and multiply the gradient by it."


class Exp(Exp):  # noqa: F821  (the solution's class, extended)
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return K.map("exp", a)  # noqa: F821

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a
