"""Pow.backward computes p * a^p instead of p * a^(p - 1)."""

HINT = "d(a^p)/da = p * a^(p-1)."
PATCH = [("return grad * ctx.p * a ** (ctx.p - 1.0), None", "return grad * ctx.p * a ** ctx.p, None")]
