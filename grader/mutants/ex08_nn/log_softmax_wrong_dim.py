"""log_softmax normalises over the last dim whatever `dim` says: right for 2-D inputs along dim 1 only."""

HINT = "Pass `dim` to every reduction in log_softmax (amax, sum): do not hard-code -1."

PATCH = [("    shifted = input - input.amax(dim, keepdim=True).detach()\n"
           "    return shifted - shifted.exp().sum(dim, keepdim=True).log()",
           "    shifted = input - input.amax(-1, keepdim=True).detach()\n"
           "    return shifted - shifted.exp().sum(-1, keepdim=True).log()")]
