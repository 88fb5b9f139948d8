"""In eval mode the layer still normalizes with the batch's statistics instead of the running ones."""

HINT = "When not self.training (and track_running_stats), use running_mean and running_var."

PATCH = [("        use_batch = self.training or not self.track_running_stats",
          "        use_batch = True")]
