"""zip_with uses Python's zip and silently drops the tail of the longer list."""

HINT = "Check the two lengths and raise ValueError naming both."


def zip_with(fn):
    def apply(xs, ys):
        return [fn(x, y) for x, y in zip(xs, ys)]

    return apply
