"""embedding_backward assigns each gradient row instead of adding it, so a repeated index keeps only its last row."""

HINT = "A repeated index must collect the sum of its gradient rows: use +=, not =."
PATCH = [("            grad_weight[row, d] += grad_output[n, d]\n", "            grad_weight[row, d] = grad_output[n, d]\n")]
