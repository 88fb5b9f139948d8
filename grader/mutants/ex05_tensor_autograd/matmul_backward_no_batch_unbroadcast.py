"""MatMul.backward returns the batched gradients as they are, without summing broadcast batch dims back."""

HINT = "A (3, 5) matrix used by every matrix of a (4, 2, 3) batch gets a (4, 3, 5) gradient: unbroadcast it to (3, 5)."
PATCH = [("return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)\n\n\n# ----",
          "return grad_a, grad_b\n\n\n# ----")]
