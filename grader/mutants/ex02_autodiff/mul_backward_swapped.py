"""Mul.backward returns (d * a, d * b): each input gets its own value instead of the other's."""

HINT = "d(a*b)/da = b: the first derivative is d * b."
PATCH = [("return operators.mul(b, d_output), operators.mul(a, d_output)",
          "return operators.mul(a, d_output), operators.mul(b, d_output)")]
