"""is_close with a fixed absolute tolerance |x - y| < 1e-2 instead of torch.isclose's rule."""

HINT = "Use |x - y| <= 1e-8 + 1e-5 * |y|, the rule of torch.isclose."
PATCH = [("return abs(x - y) <= 1e-8 + 1e-5 * abs(y)", "return abs(x - y) < 1e-2")]
