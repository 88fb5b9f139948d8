"""running = m · running + (1 − m) · batch: the momentum weights the old statistic, as in Keras, not torch."""

HINT = "torch's momentum is the weight of the NEW batch: running = (1 − momentum) · running + momentum · batch."

PATCH = [("                factor = self.momentum\n", "                factor = 1.0 - self.momentum\n")]
