"""GroupNorm normalizes each channel on its own (InstanceNorm) instead of each group of channels."""

HINT = "Reshape to (N, num_groups, -1) so that a group's channels and positions are normalized together."

PATCH = [("        grouped = input.reshape(batch, self.num_groups, -1)",
          "        grouped = input.reshape(batch, self.num_channels, -1)")]
