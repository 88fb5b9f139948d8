"""broadcast_index copies the big index for every dim, even for the size-1 dims that were stretched."""

HINT = "A size-1 dim of the small shape was stretched: its index is always 0."
PATCH = [(
    "return tuple(0 if size == 1 else big_index[d + offset] for d, size in enumerate(shape))",
    "return tuple(big_index[d + offset] for d, size in enumerate(shape))",
)]
