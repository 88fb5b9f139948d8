"""Div.backward gives b the gradient g * a / b^2, without the minus sign."""

HINT = "d(a/b)/db = -a/b^2."
PATCH = [("unbroadcast(-grad * ((a / b) / b), b.shape)", "unbroadcast(grad * ((a / b) / b), b.shape)")]
