"""evaluate forgets model.eval(): BatchNorm normalizes with the validation batch's statistics and updates
its running statistics, Dropout keeps dropping."""

HINT = "Call model.eval() before evaluating (and restore the previous mode afterwards)."

PATCH = [("    was_training = model.training\n    model.eval()\n", "    was_training = model.training\n")]
