"""Mean.backward hands every element the whole gradient, forgetting to divide by the number of elements."""

HINT = "Each element contributes 1/n of the mean: its gradient is grad / n."
PATCH = [("kept = grad.reshape(_keepdim_shape(ctx.shape, ctx.dims)) / float(ctx.n)",
          "kept = grad.reshape(_keepdim_shape(ctx.shape, ctx.dims))")]
