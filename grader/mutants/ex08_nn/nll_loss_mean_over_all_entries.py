"""nll_loss with reduction='mean' divides by N·C (every entry of the input) instead of N (the samples)."""

HINT = "'mean' averages the N per-sample losses: divide the sum by N, not by input.numel()."


def nll_loss(input, target, reduction="mean"):
    picked = -input.gather(1, target.unsqueeze(1)).squeeze(1)
    if reduction == "mean":
        return picked.sum() / input.numel()
    if reduction == "sum":
        return picked.sum()
    return picked
