"""train_step ignores the scheduler: the learning rate never changes."""

HINT = "After optimizer.step(), call scheduler.step() when a scheduler is given."

PATCH = [("    if scheduler is not None:\n        scheduler.step()\n    return float(loss.item())",
          "    return float(loss.item())")]
