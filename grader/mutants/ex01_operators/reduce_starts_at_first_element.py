"""reduce folds from the first element and ignores `start` when the list is not empty."""

HINT = "Start the accumulator at `start`: reduce(add, 10.0)([1, 2]) is 13."


def reduce(fn, start):
    def apply(xs):
        items = list(xs)
        if not items:
            return start
        acc = items[0]
        for x in items[1:]:
            acc = fn(acc, x)
        return acc

    return apply
