"""Sigmoid saves its input and backward computes d * a * (1 - a) with the input a instead of sigma(a)."""

HINT = "Save sigma(a) in forward; the derivative is d * s * (1 - s) with s = sigma(a)."
PATCH = [("""        out = operators.sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (s,) = ctx.saved_values""", """        ctx.save_for_backward(a)
        return operators.sigmoid(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (s,) = ctx.saved_values""")]
