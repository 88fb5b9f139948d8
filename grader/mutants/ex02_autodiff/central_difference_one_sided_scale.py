"""central_difference divides by epsilon instead of 2 * epsilon: every derivative comes out doubled."""

HINT = "The two points are 2ε apart: divide by 2ε."
PATCH = [("return (f(*up) - f(*down)) / (2.0 * epsilon)", "return (f(*up) - f(*down)) / epsilon")]
