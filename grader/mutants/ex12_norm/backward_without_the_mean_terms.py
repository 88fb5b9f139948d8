"""The fused backward treats mean and variance as constants: dx = ĝ / σ, without the two mean terms."""

HINT = ("The batch's mean and variance depend on x: dx = (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)) / σ. "
        "Check it against autograd of the composed formula.")

PATCH = [("        grad_input = (g - mean_g - x_hat * mean_gx) * inv_std.view(shape)",
          "        grad_input = g * inv_std.view(shape)")]
