"""GradientBucketer.no_sync does not stop grad_ready: gradients are averaged after every micro-batch."""

HINT = "Inside no_sync() grad_ready must return at once; only the backward after the block averages."

PATCH = [("        previous = self.sync\n        self.sync = False\n", "        previous = self.sync\n")]
