"""strides_from_shape builds column-major strides (the first dim has stride 1), not torch's row-major ones."""

HINT = "Row-major: the LAST dim has stride 1; build the strides from the right."


def strides_from_shape(shape):
    strides = []
    step = 1
    for size in shape:
        strides.append(step)
        step *= max(size, 1)
    return tuple(strides)
