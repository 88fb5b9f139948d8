"""GradientBucketer leaves the all-reduced gradients as the sum over ranks instead of dividing by world_size."""

HINT = "all_reduce sums over the ranks; DDP averages: divide the reduced bucket by world_size."

PATCH = [("        flat = flat / self.world_size\n", "")]
