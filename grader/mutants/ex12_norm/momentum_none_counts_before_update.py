"""momentum=None uses 1 / (the batches seen before this one) as the factor: the second batch replaces the
first instead of averaging with it, and every later average is off by one batch."""

HINT = "Increment num_batches_tracked first, then use factor = 1 / num_batches_tracked."

PATCH = [("                factor = 1.0 / float(self.num_batches_tracked.item())",
          "                factor = 1.0 / max(float(self.num_batches_tracked.item()) - 1.0, 1.0)")]
