"""MatMul.backward transposes with .T, which reverses every dim, instead of swapping the last two: batches break."""

HINT = "Use t.transpose(-2, -1): only the two matrix dims swap; batch dims stay where they are."
PATCH = [("grad_a = grad @ b.transpose(-2, -1)", "grad_a = grad @ b.T"),
         ("grad_b = a.transpose(-2, -1) @ grad", "grad_b = a.T @ grad")]
