"""Max.backward (x.max(dim)) shares the gradient among tied maxima, as amax does, instead of giving it all to the first."""

HINT = "x.max(dim) returns indices, and its gradient follows them: all of it to the first maximum (argmax), none to ties."


class Max(Max):  # noqa: F821  (the solution's class, extended)
    @staticmethod
    def forward(ctx, a, dim, keepdim):
        kept = K.reduce("max", a, dim, keepdim=True)  # noqa: F821
        ctx.save_for_backward(a, kept)
        ctx.dim = dim
        return kept if keepdim else K.reduce("max", a, dim, keepdim=False)  # noqa: F821

    @staticmethod
    def backward(ctx, grad):
        a, kept = ctx.saved_tensors
        winners = (a == kept).to(grad.dtype)
        count = winners.sum(ctx.dim, keepdim=True)
        return winners * grad.reshape(kept.shape) / count, None, None
