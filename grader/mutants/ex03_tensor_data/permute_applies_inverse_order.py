"""permute places old dim d at position order[d] (the inverse permutation) instead of taking old dim order[d]."""

HINT = "new_shape[d] = shape[order[d]]; for 3 or more dims the inverse permutation is a different one."
PATCH = [(
    "return tuple(shape[d] for d in normalized), tuple(strides[d] for d in normalized)",
    "inverse = [0] * ndim\n    for i, d in enumerate(normalized):\n        inverse[d] = i\n"
    "    return tuple(shape[d] for d in inverse), tuple(strides[d] for d in inverse)",
)]
