"""Permute.backward permutes the gradient by the same order instead of its inverse (right only when order is its own inverse)."""

HINT = "Undo a permutation with its inverse: inverse[order[d]] = d; (1, 2, 0) is undone by (2, 0, 1)."
PATCH = [("return grad.permute(*inverse), None", "return grad.permute(*ctx.order), None")]
