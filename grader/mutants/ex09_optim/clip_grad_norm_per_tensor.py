"""clip_grad_norm_ that clips every gradient by its own norm instead of the norm of all of them together."""

HINT = "One total norm over all gradients: sum |g|^p over every element of every gradient, then the p-th root."


def clip_grad_norm_(grads, max_norm, norm_type=2.0):
    if not grads:
        return mt.tensor(0.0)
    total = None
    for g in grads:
        norm = g.abs().amax() if norm_type == math.inf else g.abs().pow(norm_type).sum() ** (1.0 / norm_type)
        coef = max_norm / (norm.item() + 1e-6)
        if coef < 1.0:
            g.mul_(coef)
        total = norm if total is None else total.maximum(norm)
    return total
