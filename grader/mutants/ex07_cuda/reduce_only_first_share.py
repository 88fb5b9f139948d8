"""tensor_reduce's second pass folds only the first share of each slice: all blocks but the first are ignored."""

HINT = "The second launch must read the whole partials tensor (all shares), not one share of it."
PATCH = [("""    _launch_reduce(code, out, partials, dim, 1, slices)""",
          """    first = partials._replace(shape=tuple(1 if d == dim else s for d, s in enumerate(partials.shape)),
                              device_shape=out.device_shape)
    _launch_reduce(code, out, first, dim, 1, slices)""")]
