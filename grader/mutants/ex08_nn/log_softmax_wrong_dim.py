"""log_softmax normalises over the last dim whatever `dim` says: right for 2-D inputs along dim 1 only."""

HINT = "Pass `dim` to every reduction in log_softmax (amax, sum): do not hard-code -1."

PATCH = [("    return input - logsumexp(input, dim, keepdim=True)",
          "    return input - logsumexp(input, -1, keepdim=True)")]
