"""train_step never calls optimizer.zero_grad(): every step adds its gradients to those of all earlier steps."""

HINT = "Call optimizer.zero_grad() at the start of every step: backward() adds to .grad, it does not overwrite."

PATCH = [("    x, y = batch\n    optimizer.zero_grad()\n", "    x, y = batch\n")]
