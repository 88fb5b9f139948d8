"""cross_entropy as nll_loss(x - log(sum(exp(x)))): exp(1000) overflows, so logits of ±1000 give inf/nan."""

HINT = "Build cross_entropy from the stable log_softmax (shift by the maximum before exponentiating)."


def cross_entropy(input, target, reduction="mean"):
    log_norm = input.exp().sum(1, keepdim=True).log()
    return nll_loss(input - log_norm, target, reduction)
