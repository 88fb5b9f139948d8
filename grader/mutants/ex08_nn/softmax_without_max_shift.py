"""softmax as exp(x) / sum(exp(x)) without subtracting the maximum: inf / inf = nan for a logit of 1000."""

HINT = "Subtract x.amax(dim, keepdim=True) before exponentiating; softmax does not change."


def softmax(input, dim):
    e = input.exp()
    return e / e.sum(dim, keepdim=True)
