"""Inv.backward as d / a^2, without the minus sign."""

HINT = "d(1/a)/da = -1/a^2."


class Inv(Inv):  # noqa: F821  (the solution's class, extended)
    @staticmethod
    def backward(ctx, d_output):
        (a,) = ctx.saved_values
        return d_output / (a * a)
