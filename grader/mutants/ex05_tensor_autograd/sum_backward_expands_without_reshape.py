"""Sum.backward expands grad straight to the input's shape without re-inserting the reduced dims first."""

HINT = "Reshape grad to the keepdim shape before expanding: for x.sum(1) of a (3, 3) x, grad (3,) must become (3, 1)."
PATCH = [("""        kept = grad.reshape(_keepdim_shape(ctx.shape, ctx.dims))
        return kept.expand(ctx.shape), None, None""", """        return grad.expand(ctx.shape), None, None""")]
