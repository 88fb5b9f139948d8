"""shape_broadcast pads the shorter shape with 1s on the right (aligns on the left) instead of on the left."""

HINT = "Align the shapes on the right: (3, 1) and (4,) compare 1 with 4, giving (3, 4)."
PATCH = [
    ("a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)", "a = tuple(shape_a) + (1,) * (ndim - len(shape_a))"),
    ("b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)", "b = tuple(shape_b) + (1,) * (ndim - len(shape_b))"),
]
