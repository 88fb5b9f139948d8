"""relu_back uses x >= 0, giving gradient 1 at x = 0 where torch gives 0."""

HINT = "At x = 0 torch's relu has gradient 0: use x > 0."
PATCH = [('return d if x > 0.0 else 0.0', 'return d if x >= 0.0 else 0.0')]
