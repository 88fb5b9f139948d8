"""view_strides gives up (None) on every non-contiguous input instead of walking its chunks."""

HINT = "A non-contiguous tensor can often be viewed: (2, 1, 3) with strides (6, 3, 1) views as (2, 3)."


def view_strides(shape, strides, new_shape):
    if len(shape) == 0:
        return (1,) * len(new_shape)
    if not is_contiguous(shape, strides):
        return None
    return strides_from_shape(new_shape)
